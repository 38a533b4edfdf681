"""The spool's lines and the database rows made from them.

A request's rows are one JSON line for every PIECE_ROWS records: their prediction ids, the
request's id, time, model version and latency, the records as validated, and the model's answers
(app/answers.py's columns).
The rows are made when they are written, so that the request path only encodes JSON.
"""

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loguru import logger
from pydantic_core import from_json, to_json

from {{ cookiecutter.package_name }} import InputRecord, model_features

from app.prediction_log.personal_data import PersonalData

PIECE_ROWS = 1_000  # records per line: what the writer takes at once, and the most in memory


@dataclass(frozen=True)
class Answered:
    """One answered request, as the prediction log keeps it: its id, the model version that
    answered, the records as validated, the answers (app/answers.py's columns) and the latency.
    A challenger's answers in shadow name the champion's prediction ids, one per record."""

    request_id: str
    model_version: str
    records: Sequence[InputRecord] | Sequence[dict[str, Any]]
    answers: Mapping[str, Sequence[Any]]
    latency_ms: float
    champion_ids: Sequence[str] | None = None


def spool_lines(ids: Sequence[str], answered: Answered) -> list[bytes]:
    """A request's rows as spool lines, PIECE_ROWS records to a line."""
    created_at = datetime.now(UTC)
    return [
        to_json(
            {
                "ids": ids[start : start + PIECE_ROWS],
                "request_id": answered.request_id,
                "created_at": created_at,
                "model_version": answered.model_version,
                "inputs": answered.records[start : start + PIECE_ROWS],
                "answers": {
                    name: values[start : start + PIECE_ROWS]
                    for name, values in answered.answers.items()
                },
                "latency_ms": answered.latency_ms,
                **(
                    {"champion_ids": answered.champion_ids[start : start + PIECE_ROWS]}
                    if answered.champion_ids
                    else {}
                ),
            }
        )
        + b"\n"
        for start in range(0, len(ids), PIECE_ROWS)
    ]


def database_rows(lines: Sequence[bytes], personal_data: PersonalData) -> Iterator[dict[str, Any]]:
    """The rows of spool lines, made as they are inserted, personal fields masked. The model's
    features are computed in one call for all the lines: per request, that call would cost more
    than the rest of the row."""
    pieces = [from_json(line) for line in lines]
    for piece, features in zip(pieces, features_of(pieces), strict=True):
        created_at = datetime.fromisoformat(piece["created_at"])
        answers = answers_of(piece)
        champion_ids = piece.get("champion_ids") or [None] * len(piece["ids"])
        rows = zip(
            piece["ids"], champion_ids, piece["inputs"], features, *answers.values(), strict=True
        )
        for record_id, champion_id, inputs, record_features, *answer in rows:
            yield {
                "id": record_id,
                "request_id": piece["request_id"],
                "created_at": created_at,
                "model_version": piece["model_version"],
                "inputs": personal_data.mask(inputs),
                "features": record_features,
                **dict(zip(answers, answer, strict=True)),
                "latency_ms": piece["latency_ms"],
                "role": "champion" if champion_id is None else "shadow",
                "champion_id": champion_id,
            }


def answers_of(piece: dict[str, Any]) -> dict[str, list[Any]]:
    """A line's answer columns; a line spooled by a release that logged only classifiers has
    its labels and probabilities at the top level."""
    if "answers" in piece:
        answers: dict[str, list[Any]] = piece["answers"]
        return answers
    return {"label": piece["labels"], "probabilities": piece["probabilities"]}


def features_of(pieces: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Each piece's records' model features (the package's model_features), in one call. A piece
    whose features cannot be computed (a spool written before a deploy changed the model's inputs)
    gets none: its rows are still written."""
    try:
        columns = model_features([record for piece in pieces for record in piece["inputs"]])
    except Exception as error:  # noqa: BLE001 - the rows matter more than their features
        if len(pieces) > 1:
            return [features_of([piece])[0] for piece in pieces]
        logger.bind(request_id=pieces[0]["request_id"]).warning(
            "Prediction log: features not computed, rows written without them: {!r}", error
        )
        return [[{} for _ in pieces[0]["ids"]]]
    positions = itertools.count()
    return [
        [
            {name: values[at] for name, values in columns.items()}
            for at in itertools.islice(positions, len(piece["ids"]))
        ]
        for piece in pieces
    ]
