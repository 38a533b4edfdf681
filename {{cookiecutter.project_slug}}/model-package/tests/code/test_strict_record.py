"""InputRecordBase's rule, on a record of every kind of field (strict_record.py)."""

import datetime
import json
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field, ValidationError, WithJsonSchema

from {{ cookiecutter.package_name }}.strict_record import InputRecordBase


class Record(InputRecordBase):
    count: int = Field(default=0, ge=0, le=20)
    grade: Literal[1, 2, 3] | None = None
    size: float | None = None
    word: str = "a"
    flag: bool | None = None
    day: datetime.date | None = None
    counts: list[int] = Field(default_factory=list)
    custom: Annotated[int, WithJsonSchema({"type": "integer", "description": "custom"})] = 0


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        ("count", 8.0, 8),  # a whole number sent as a float (a client's float column)
        ("grade", 2.0, 2),
        ("custom", 8.0, 8),
        ("size", 3, 3.0),  # an int for a float
        ("day", "2024-01-02", datetime.date(2024, 1, 2)),  # pydantic's own checks, as before
        ("counts", ["3", 4.0], [3, 4]),
    ],
)
def test_taken(field: str, value: Any, kept: Any) -> None:
    record = Record.model_validate({field: value})
    assert getattr(record, field) == kept
    assert type(getattr(record, field)) is type(kept)


@pytest.mark.parametrize("source", ["python", "json"])
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("count", 8.5, "got a number with a fractional part"),
        ("count", True, "valid integer"),
        ("count", "3", "valid integer"),
        ("count", 21, "less than or equal to 20"),
        ("grade", True, "valid integer"),
        ("grade", 4, "1, 2 or 3"),
        ("size", True, "valid number"),
        ("size", "3", "valid number"),
        ("word", 3, "valid string"),
        ("flag", 1, "valid boolean"),
        ("flag", "true", "valid boolean"),
    ],
)
def test_refused(source: str, field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate(source, {field: value})
    (error,) = refused.value.errors()
    assert error["loc"] == (field,)
    assert message in error["msg"]


def validate(source: str, data: dict[str, Any]) -> Record:
    """A record from Python values, or from JSON text (as the API reads a body)."""
    if source == "json":
        return Record.model_validate_json(json.dumps(data))
    return Record.model_validate(data)


def test_text_read_from_a_file_is_lax() -> None:
    record = Record.model_validate({"count": "3", "size": "2.5", "flag": "true"}, strict=False)
    assert (record.count, record.size, record.flag) == (3, 2.5, True)


def test_the_json_schema_is_the_plain_one() -> None:
    properties = Record.model_json_schema()["properties"]
    assert properties["count"] == {
        "default": 0,
        "maximum": 20,
        "minimum": 0,
        "title": "Count",
        "type": "integer",
    }
    assert properties["grade"]["anyOf"][0] == {"enum": [1, 2, 3], "type": "integer"}
    assert properties["custom"]["description"] == "custom"
