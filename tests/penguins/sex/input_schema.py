"""The input record: a penguin's four body measurements, all of them required."""

from typing import Any

from pydantic import ConfigDict, Field

from .strict_record import InputRecordBase

# One valid record: the OpenAPI example, the form's initial values and the readiness check's input.
EXAMPLE_RECORD: dict[str, Any] = {
    "bill_length_mm": 39.1,
    "bill_depth_mm": 18.7,
    "flipper_length_mm": 181.0,
    "body_mass_g": 3750.0,
}


class InputRecord(InputRecordBase):
    """One adult penguin's measurements."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_RECORD]})

    bill_length_mm: float = Field(ge=0, le=100, description="Bill length in millimetres.")
    bill_depth_mm: float = Field(ge=0, le=50, description="Bill depth in millimetres.")
    flipper_length_mm: float = Field(ge=0, le=300, description="Flipper length in millimetres.")
    body_mass_g: float = Field(ge=0, le=10_000, description="Mass in grams.")
