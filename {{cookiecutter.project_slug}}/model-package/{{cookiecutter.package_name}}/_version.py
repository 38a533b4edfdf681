"""The package version, from VERSION: the one place it lives (package, wheel, artifact name).
And the name pip installs it by: pyproject.toml's project.name, which tests/code/test_config.py
holds this to (reading the installed metadata would cost a tenth of a second at every import)."""

from importlib.resources import files

__version__ = files(__package__ or __name__).joinpath("VERSION").read_text(encoding="utf-8").strip()
DISTRIBUTION = {{ cookiecutter.distribution_name | tojson }}
