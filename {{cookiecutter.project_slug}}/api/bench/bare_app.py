"""The floors the service is measured against, served by Uvicorn like the service.

/echo: a FastAPI POST handler that parses a JSON body and answers, nothing more.
/predict, the model-only route: the least a FastAPI route can do to serve the model: validate the
body from its bytes, predict, write the answer as JSON. No request id, log line, metrics or
prediction log.
"""

from typing import Any

from fastapi import FastAPI, Request, Response
from pydantic_core import to_json

from {{ cookiecutter.package_name }} import load_model, make_prediction

from app.answers import answer_columns
from app.schemas import PredictionRequest

load_model()
app = FastAPI()


@app.post("/echo")
async def echo(body: dict[str, Any]) -> dict[str, int]:
    return {"records": len(body.get("records", []))}


@app.post("/predict")
async def predict(request: Request) -> Response:
    result = make_prediction(PredictionRequest.model_validate_json(await request.body()).records)
    answer = answer_columns(result)
    return Response(to_json(answer), media_type="application/json")
