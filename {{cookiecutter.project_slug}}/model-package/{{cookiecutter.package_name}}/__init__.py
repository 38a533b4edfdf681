"""The model package: trained pipeline, input schema and training metadata under one version."""

from importlib.resources import files

from loguru import logger

__version__ = files(__name__).joinpath("VERSION").read_text(encoding="utf-8").strip()

# A library stays quiet until the application opts in with logger.enable(__name__), as loguru
# recommends; it never adds or removes handlers of its own.
logger.disable(__name__)
