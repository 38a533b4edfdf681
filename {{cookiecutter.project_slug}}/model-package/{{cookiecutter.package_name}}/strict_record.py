"""The base of every input record: strict input, decided in pydantic-core (no Python per field).

Pydantic's lax mode scores `"fare": false` as 0.0 and `"age": "29"` as 29.0. Its strict mode
refuses a boolean or text where a number belongs, a number where text belongs and anything but
true or false where a boolean belongs, and takes an int for a float. It also refuses 8.0 for an
int, which JSON (and the OpenAPI schema) calls an integer and a client's float column sends: so
records of this base are strict, and an int field (or a Literal of ints) also takes a number with
no fractional part. Both are pydantic-core schema, as fast as pydantic gets.

Data read from text (training's CSV, a batch's CSV) is validated with strict=False: "29" is 29
there and nowhere else.
"""

import types
import typing
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema


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


def _gated(gate: CoreSchema, schema: CoreSchema) -> CoreSchema:
    """`gate`, then `schema`; documented as `schema` alone (pydantic's JSON schema generator
    calls the functions in `pydantic_js_functions`)."""

    def as_schema(_: CoreSchema, handler: Any) -> Any:
        return handler(schema)

    return core_schema.chain_schema([gate, schema], metadata={"pydantic_js_functions": [as_schema]})


def _integral(schema: CoreSchema) -> CoreSchema:
    """An int schema that also takes a float with no fractional part (lax int turns 8.0 into 8,
    and refuses 8.5), but never a boolean or text (a strict int or float must come first)."""
    number = core_schema.union_schema(
        [core_schema.int_schema(strict=True), core_schema.float_schema(strict=True)],
        custom_error_type="int_type",
    )
    return _gated(number, {**schema, "strict": False})


def integral_numbers(schema: Any) -> Any:
    """`schema` with every int, and every Literal of ints, taking a number with no fractional
    part; the rest unchanged."""
    if isinstance(schema, list):
        return [integral_numbers(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "int":
        return _integral(schema)
    if schema.get("type") == "literal" and all(type(value) is int for value in schema["expected"]):
        return _gated(_integral(core_schema.int_schema()), schema)
    return {
        key: value if key in ("metadata", "default", "serialization") else integral_numbers(value)
        for key, value in schema.items()
    }


class IntegralNumbers:
    """Annotated[..., IntegralNumbers()]: a single field's or column's values, checked as a
    record of InputRecordBase checks them (with a strict config)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return integral_numbers(handler(source))


class InputRecordBase(BaseModel):
    model_config = ConfigDict(strict=True)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return integral_numbers(handler(source))
