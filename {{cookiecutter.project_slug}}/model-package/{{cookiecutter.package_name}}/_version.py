"""The package version, from VERSION: the one place it lives (package, wheel, artifact name)."""

from importlib.resources import files

__version__ = files(__package__ or __name__).joinpath("VERSION").read_text(encoding="utf-8").strip()
