from fastapi import APIRouter, HTTPException, status

from app.api.deps import ServicesDep
from app.schemas import ModelInfo

router = APIRouter(prefix="/api/v1", tags=["model"])

DISTRIBUTION = {{ cookiecutter.distribution_name | tojson }}


@router.get("/model", responses={503: {"description": "The model is not loaded."}})
async def model_info(services: ServicesDep) -> ModelInfo:
    """What is serving: the metadata the model package wrote when it was trained."""
    predictor = services.predictor
    if predictor.metadata is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, predictor.unavailable)
    metadata = predictor.metadata
    return ModelInfo(distribution=DISTRIBUTION, **metadata.model_dump())
