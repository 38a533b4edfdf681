"""The input record: one penguin's species, island and measurements, as a caller sends them."""

from typing import Any, Literal

from pydantic import ConfigDict, Field

from .strict_record import InputRecordBase

# One valid record: the OpenAPI example, the form's initial values and the readiness check's input.
EXAMPLE_RECORD: dict[str, Any] = {
    "species": "Gentoo",
    "island": "Biscoe",
    "bill_length_mm": 46.1,
    "bill_depth_mm": 13.2,
    "flipper_length_mm": 211.0,
    "sex": "female",
}


class InputRecord(InputRecordBase):
    """One adult penguin seen in the Palmer Archipelago; missing values are null."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_RECORD]})

    species: Literal["Adelie", "Chinstrap", "Gentoo"] = Field(description="Its species.")
    island: Literal["Biscoe", "Dream", "Torgersen"] = Field(description="Island where it was seen.")
    bill_length_mm: float | None = Field(
        default=None, ge=0, le=100, description="Bill (culmen) length in millimetres."
    )
    bill_depth_mm: float | None = Field(
        default=None, ge=0, le=50, description="Bill (culmen) depth in millimetres."
    )
    flipper_length_mm: float | None = Field(
        default=None, ge=0, le=300, description="Flipper length in millimetres."
    )
    sex: Literal["female", "male"] | None = Field(default=None, description="Sex, if known.")
