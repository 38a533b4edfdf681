"""The framework floor: a FastAPI POST handler that parses a JSON body and answers, nothing more."""

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.post("/echo")
async def echo(body: dict[str, Any]) -> dict[str, int]:
    return {"records": len(body.get("records", []))}
