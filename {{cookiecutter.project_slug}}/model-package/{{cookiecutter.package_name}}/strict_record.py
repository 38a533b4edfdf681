"""The base of every input record: pydantic's checks, minus the coercions a caller would not expect.

Pydantic's lax mode scores `"fare": false` as 0.0 and `"age": "29"` as 29.0; its strict mode
refuses `8.0` for an int, which JSON (and the OpenAPI schema) calls an integer. This base keeps
lax mode and refuses only the surprises, in fields of plain types (`float`, `int | None`,
`Literal[...]`, `Annotated[...]` of those): a boolean or text where a number belongs, a number
where text belongs, anything but true or false where a boolean belongs. An int stays a float, and
8.0 an int. Lists, dicts and nested models are left to pydantic. Training data, read from CSV text,
is validated with the context {"from_text": True}, which lets "29" be 29 there and nowhere else.
"""

import types
import typing
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationInfo, field_validator


def value_types(annotation: Any) -> set[type]:
    """The Python types a field's annotation admits: int | None -> {int, NoneType}."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return value_types(get_args(annotation)[0])
    if origin is Literal:
        return {type(value) for value in get_args(annotation)}
    if origin in (typing.Union, types.UnionType):
        return set().union(*(value_types(argument) for argument in get_args(annotation)))
    return {annotation} if isinstance(annotation, type) else set()


def expected_kind(annotation: Any) -> str | None:
    """'number', 'text' or 'boolean' when a field takes only that kind of value (and None)."""
    kinds = value_types(annotation) - {type(None)}
    if not kinds:
        return None
    if kinds <= {int, float} and bool not in kinds:
        return "number"
    if kinds == {str}:
        return "text"
    if kinds == {bool}:
        return "boolean"
    return None


def refusal(kind: str, value: Any) -> str | None:
    """Why `value` is not a `kind`, or None when it is one (or not a surprise to pydantic)."""
    if kind == "number" and isinstance(value, bool | str):
        return "a valid number, not " + ("a boolean" if isinstance(value, bool) else "text")
    if kind == "text" and isinstance(value, int | float):
        return "a valid string, not a number"
    if kind == "boolean" and isinstance(value, int | float | str) and not isinstance(value, bool):
        return "a valid boolean: true or false"
    return None


class InputRecordBase(BaseModel):
    _expected: ClassVar[dict[str, str]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Work out once per record class which fields take only one kind of value."""
        super().__pydantic_init_subclass__(**kwargs)
        cls._expected = {
            name: kind
            for name, field in cls.model_fields.items()
            if (kind := expected_kind(field.annotation)) is not None
        }

    @field_validator("*", mode="before")
    @classmethod
    def refuse_surprising_coercions(cls, value: Any, info: ValidationInfo) -> Any:
        kind = cls._expected.get(info.field_name or "")
        if kind is None or (info.context and info.context.get("from_text")):
            return value
        if reason := refusal(kind, value):
            raise ValueError(f"Input should be {reason}")
        return value
