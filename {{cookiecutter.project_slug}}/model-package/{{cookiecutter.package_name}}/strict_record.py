"""The base of every input record: no surprising coercion, decided in pydantic-core.

Pydantic's lax mode scores `"fare": false` as 0.0 and `"age": "29"` as 29.0. In a record of this
base, a field of a plain type refuses what a caller would not expect:
- a number field (`float`, `int`, a `Literal` of ints) refuses a boolean or text, and a float
  field takes an int;
- an int field also takes a number with no fractional part (8.0, as a client's float column
  sends it), and refuses 8.5;
- a text field refuses a number, and a boolean field anything but true or false.
Optional fields and `Annotated` constraints keep the rule; other types (dates, lists, nested
models) keep pydantic's own checks, and so does a field whose type is a `TypeAliasType`. The
rule is pydantic-core schema (strict flags, and a chain for ints), so no Python runs per field.

Data read from text (training's CSV, a batch's CSV) is validated with strict=False: "29" is 29
there and nowhere else.
"""

import types
import typing
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

# The schemas the rule reaches into: a field, its default, Optional, unions and validators.
# Containers and nested models are left as they are.
STRICT_LEAVES = ("float", "str", "bool")
CONTAINERS = ("list", "set", "frozenset", "tuple", "dict")
LEFT_AS_THEY_ARE = (*CONTAINERS, "model", "dataclass", "definition-ref")


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
    """`gate`, then `schema`; documented as `schema` (pydantic's JSON schema generator calls
    the functions in `pydantic_js_functions`, `schema`'s own after it)."""

    def as_schema(_: CoreSchema, handler: Any) -> Any:
        return handler(schema)

    metadata = dict(schema.get("metadata") or {})
    metadata["pydantic_js_functions"] = [as_schema, *metadata.get("pydantic_js_functions", [])]
    return core_schema.chain_schema([gate, schema], metadata=metadata)


def _integral(schema: CoreSchema) -> CoreSchema:
    """An int schema that also takes a float with no fractional part (lax int turns 8.0 into 8,
    and refuses 8.5), but never a boolean or text (a strict int or float must come first)."""
    number = core_schema.union_schema(
        [core_schema.int_schema(strict=True), core_schema.float_schema(strict=True)],
        custom_error_type="int_type",
    )
    return _gated(number, {**schema, "strict": False})


def without_surprises(schema: Any, root: bool = True) -> Any:
    """`schema` with the module's rule applied to its plain fields (see the docstring)."""
    if isinstance(schema, list):
        return [without_surprises(item, root=False) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if not root and kind in LEFT_AS_THEY_ARE:
        return schema
    if kind == "int":
        return _integral(schema)
    if kind in STRICT_LEAVES:
        return {**schema, "strict": True}
    if kind == "literal" and all(type(value) is int for value in schema["expected"]):
        return _gated(_integral(core_schema.int_schema()), schema)
    return {
        key: value
        if key in ("metadata", "default", "serialization")
        else without_surprises(value, root=False)
        for key, value in schema.items()
    }


class NoSurprises:
    """Annotated[..., NoSurprises()]: one field's or column's values, checked as a record
    of InputRecordBase checks them."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return without_surprises(handler(source))


class InputRecordBase(BaseModel):
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return without_surprises(handler(source))
