"""The HTML pages for people (app/pages/): outside the OpenAPI document, and open without an API
key: the form's own requests carry the key, and the monitoring page shows aggregates only, like
/metrics."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import ServicesDep
from app.pages import form, monitoring

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def index(services: ServicesDep) -> HTMLResponse:
    return HTMLResponse(form.render_page(services.settings.project_name))


@router.get("/monitoring", response_class=HTMLResponse)
async def monitoring_page(
    services: ServicesDep, hours: Annotated[float, Query(gt=0, le=24 * 366)] = 24
) -> HTMLResponse:
    """Volume, live quality and drift as charts, drawn on the server (no script, no CDN)."""
    title = services.settings.project_name
    served = services.predictor.metadata
    comparison = services.challenger.comparison if services.challenger else None
    html = await run_in_threadpool(
        monitoring.render, services.engine, served, title, hours, comparison
    )
    return HTMLResponse(html)
