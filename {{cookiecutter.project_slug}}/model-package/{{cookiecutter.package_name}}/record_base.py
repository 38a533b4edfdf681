"""The base of every input record: pydantic's checks, minus the coercions a caller would not expect.

Pydantic's lax mode scores `"fare": false` as 0.0 and `"age": "29"` as 29.0; its strict mode
refuses `8.0` for an int, which JSON (and the OpenAPI schema) calls an integer. This base keeps lax
mode and refuses only the surprises: a boolean or text where a number belongs, a number where text
belongs. An int stays a float, and 8.0 an int. Training data, read from CSV text, is validated with
the context {"from_text": True}, which lets "29" be 29 there and nowhere else.
"""

import types
import typing
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationInfo, field_validator


def value_types(annotation: Any) -> set[type]:
    """The Python types a field's annotation admits: int | None -> {int, NoneType}."""
    if get_origin(annotation) is Literal:
        return {type(value) for value in get_args(annotation)}
    if get_origin(annotation) in (typing.Union, types.UnionType):
        return set().union(*(value_types(argument) for argument in get_args(annotation)))
    return {annotation} if isinstance(annotation, type) else set()


class InputRecordBase(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def refuse_surprising_coercions(cls, value: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("from_text"):
            return value
        kinds = value_types(cls.model_fields[info.field_name or ""].annotation)
        numeric = bool(kinds & {int, float})
        if numeric and str not in kinds and isinstance(value, bool | str):
            kind = "a boolean" if isinstance(value, bool) else "text"
            raise ValueError(f"Input should be a valid number, not {kind}")
        if str in kinds and not numeric and isinstance(value, int | float):
            raise ValueError("Input should be a valid string, not a number")
        return value
