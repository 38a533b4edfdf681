"""The FastAPI application: settings, logging, middleware, error handlers and routers."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import Depends, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from loguru import logger
from pydantic.json_schema import models_json_schema
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from app import __version__
from app.api.deps import Services, require_api_key
from app.api.routes import feedback, health, model, monitoring, pages, predict
from app.challenger import Challenger
from app.comparison import ComparisonCollector, ComparisonError, load_comparison
from app.config import Settings, settings_from_environment
from app.db import check_schema, make_engine, migrate
from app.logging_setup import setup_logging
from app.metrics import Metrics, ReadyCollector
from app.middleware import BodyLimitMiddleware, RequestContextMiddleware
from app.monitoring import QualityCollector
from app.prediction_log import PredictionLog
from app.predictor import Predictor
from app.schemas import ErrorResponse, FieldError, PredictionRequest


def field_errors(error: RequestValidationError) -> list[FieldError]:
    """Pydantic's error locations as (record index, field path) pairs."""
    errors = []
    for item in error.errors():
        location = [part for part in item["loc"] if part != "body"]
        index = None
        if len(location) >= 2 and location[0] == "records" and isinstance(location[1], int):
            index, location = location[1], location[2:]
        errors.append(
            FieldError(index=index, field=".".join(map(str, location)), message=item["msg"])
        )
    return errors


def error_response(
    request: Request, code: int, detail: str, errors: list[FieldError] | None = None
) -> JSONResponse:
    body = ErrorResponse(detail=detail, errors=errors or [], request_id=request.state.request_id)
    return JSONResponse(body.model_dump(), status_code=code)


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the schema of the body the predict route validates itself."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = FastAPI.openapi(app)  # made once, kept as app.openapi_schema
    _, body = models_json_schema(
        [(PredictionRequest, "validation")], ref_template="#/components/schemas/{model}"
    )
    schemas = document["components"]["schemas"]
    for name, schema in body["$defs"].items():
        if schemas.setdefault(name, schema) != schema:
            raise RuntimeError(f"two different schemas are both called {name} in the API")
    return document


def add_error_handlers(app: FastAPI) -> None:
    """Every error answered in the same JSON envelope (ErrorResponse), with the request's id."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = field_errors(error)
        logger.info("Rejected request: {} invalid fields", len(errors))
        return error_response(
            request, status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid request", errors=errors
        )

    @app.exception_handler(OperationalError)
    async def database_away(request: Request, error: OperationalError) -> JSONResponse:
        logger.warning("The prediction log's database is unreachable: {}", type(error).__name__)
        response = error_response(
            request, status.HTTP_503_SERVICE_UNAVAILABLE, "the database is unreachable; retry"
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        response = error_response(request, error.status_code, str(error.detail))
        response.headers.update(error.headers or {})
        return response


def challenger_of(
    settings: Settings, champion: str, prediction_log: PredictionLog, engine: Engine
) -> Challenger | None:
    """The challenger that api/challenger.yml names, in shadow; None when it names none."""
    try:
        comparison = load_comparison(champion, settings.challenger_file)
    except ComparisonError as error:
        raise SystemExit(f"invalid challenger: {error}") from None
    if comparison is None:
        return None
    metrics = prediction_log.metrics
    metrics.add_collector(ComparisonCollector(engine, champion, comparison))
    return Challenger(comparison, settings.challenger_python, prediction_log, metrics)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or settings_from_environment()
    setup_logging(settings)
    predictor = Predictor()
    engine = make_engine(settings.database_url)
    metrics = Metrics(predictor.version)
    prediction_log = PredictionLog(engine, settings, metrics)
    metrics.add_collector(QualityCollector(engine, lambda: predictor.metadata))
    metrics.add_collector(ReadyCollector(predictor.version, predictor.check))
    challenger = challenger_of(settings, predictor.version, prediction_log, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine.dialect.name == "sqlite":
            migrate(settings.database_url)  # a no-op after app.serve, which migrates before workers
        check_schema(engine)  # PostgreSQL: migrated once per deploy, never by the workers
        predictor.load()
        prediction_log.start()
        if challenger:
            challenger.start()
        # What start-up made (modules, the model) lives as long as the worker: out of the cyclic
        # collector's sight, its full collections no longer walk it (a 10k-record request spent a
        # fifth of its time there). Process-wide: the collector has no other scope.
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()
        if challenger:
            await challenger.stop()
        prediction_log.stop()  # a graceful shutdown writes every queued row first
        engine.dispose()

    app = FastAPI(
        title=settings.project_name,
        version=__version__,
        description=f"Serves model {predictor.version}.",
        lifespan=lifespan,
    )
    app.state.services = Services(settings, predictor, metrics, prediction_log, engine, challenger)

    app.openapi = partial(openapi_document, app)  # type: ignore[method-assign]
    add_error_handlers(app)

    # Added first, so it runs innermost: behind the request id, in front of FastAPI's parsing.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)

    app.include_router(health.router)
    protected = [Depends(require_api_key)] if settings.api_key else []
    app.include_router(predict.router, dependencies=protected)
    app.include_router(feedback.router, dependencies=protected)
    app.include_router(monitoring.router, dependencies=protected)
    app.include_router(model.router, dependencies=protected)
    app.include_router(pages.router)
    return app


app = create_app()
