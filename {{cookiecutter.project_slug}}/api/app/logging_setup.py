"""loguru for the app, with the standard library's and Uvicorn's loggers routed into it."""

import inspect
import logging
import sys

from loguru import logger

import {{ cookiecutter.package_name }} as model_package

from .config import Settings

TRACE_LEVEL = 5  # loguru's and Uvicorn's TRACE, below the standard library's DEBUG
PLAIN_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | "
    "{extra[request_id]} | <cyan>{name}</cyan> - <level>{message}</level>"
)


class InterceptHandler(logging.Handler):
    """Hand every standard-library record to loguru, keeping its level and caller."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = inspect.currentframe(), 0
        while frame and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame, depth = frame.f_back, depth + 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def setup_logging(settings: Settings) -> None:
    logger.remove()
    logger.configure(extra={"request_id": "-"})
    json_format = settings.log_format == "json"
    logger.add(
        sys.stderr,
        level=settings.log_level,
        format="{message}" if json_format else PLAIN_FORMAT,
        serialize=json_format,
        backtrace=False,
        diagnose=False,  # never print local variables (they may hold secrets)
    )
    # The standard library filters by the same level before a record is even made: otherwise
    # Uvicorn's per-connection TRACE messages would each be built, intercepted and dropped.
    level = logging.getLevelNamesMapping().get(settings.log_level, TRACE_LEVEL)
    logging.basicConfig(handlers=[InterceptHandler()], level=level, force=True)
    for name in ("uvicorn", "uvicorn.error", "fastapi"):
        named = logging.getLogger(name)
        named.handlers = [InterceptHandler()]
        named.setLevel(level)
        named.propagate = False
    # The middleware logs every request, with its id and time. Uvicorn's access log would say it
    # a second time; with no handler anywhere up its chain, Uvicorn does not even format it.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    logger.enable(model_package.__name__)
