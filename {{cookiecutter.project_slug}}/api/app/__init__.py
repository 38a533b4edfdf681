"""The HTTP service that serves the model package."""

__version__ = "0.1.0"
