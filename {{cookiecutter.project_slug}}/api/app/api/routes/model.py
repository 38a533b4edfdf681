from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from {{ cookiecutter.package_name }} import DISTRIBUTION, load_card

from app.api.deps import ServicesDep
from app.schemas import ErrorResponse, ModelInfo

router = APIRouter(prefix="/api/v1", tags=["model"])

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorResponse, "description": "The model is not loaded."}
}


@router.get("/model", responses=UNAVAILABLE)
async def model_info(services: ServicesDep) -> ModelInfo:
    """What is serving: the metadata the model package wrote when it was trained."""
    predictor = services.predictor
    if predictor.metadata is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, predictor.unavailable)
    metadata = predictor.metadata
    return ModelInfo(distribution=DISTRIBUTION, **metadata.model_dump())


# The card is a page, but its errors are the usual JSON envelope.
CARD_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}


@router.get(
    "/model/card",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}, "text/markdown": {}}},
        404: {"content": CARD_ERROR, "description": "The model package has no card."},
        422: {"content": CARD_ERROR, "description": "An unknown format."},
        503: {"content": CARD_ERROR, "description": "The model is not loaded."},
    },
)
async def model_card(
    services: ServicesDep,
    format: Annotated[
        Literal["html", "markdown"],
        Query(description="html: one self-contained page with the plots; markdown: the text."),
    ] = "html",
) -> Response:
    """The served model's card: holdout metrics and plots, data, versions, the release gate."""
    predictor = services.predictor
    if predictor.metadata is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, predictor.unavailable)
    try:
        card = load_card(format)
    except FileNotFoundError as error:
        detail = f"model {predictor.version} has no card: it was trained without one"
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail) from error
    if format == "markdown":
        return PlainTextResponse(card, media_type="text/markdown; charset=utf-8")
    return HTMLResponse(card)
