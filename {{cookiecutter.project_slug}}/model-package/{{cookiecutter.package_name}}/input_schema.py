"""The input record: what one prediction needs. Yours to rewrite when you replace the example.

`InputRecord` is the single source of truth for a record: training validates every row of the data
against it, the model package validates every record it scores, and the API builds its request
schema, its OpenAPI example and its form from it. Mark a field that identifies a person with
`json_schema_extra={"personal": True}`: the API's prediction log never stores it as sent. Keep
`extra="forbid"`, so a misspelt field is
an error rather than a silently missing value, and the base class, which refuses `true` or `"3"`
where a number belongs rather than quietly scoring them as 1 or 3. Give every field a description:
the API shows it.
"""

from typing import Any, Literal

from pydantic import ConfigDict, Field

from .strict_record import InputRecordBase

# One valid record: the OpenAPI example, the form's initial values and the readiness check's input.
EXAMPLE_RECORD: dict[str, Any] = {
    "pclass": 1,
    "name": "Allen, Miss. Elisabeth Walton",
    "sex": "female",
    "age": 29.0,
    "sibsp": 0,
    "parch": 0,
    "fare": 211.3375,
    "cabin": "B5",
    "embarked": "S",
}


class InputRecord(InputRecordBase):
    """One passenger as the model sees it; missing values are null."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_RECORD]})

    pclass: Literal[1, 2, 3] = Field(description="Ticket class: 1 = first, 2 = second, 3 = third.")
    name: str = Field(
        min_length=1,
        max_length=200,
        description="Full name as on the passenger list: 'Surname, Title. Given names'.",
        json_schema_extra={"personal": True},  # the prediction log stores a keyed hash of it
    )
    sex: Literal["female", "male"]
    age: float | None = Field(default=None, ge=0, le=120, description="Age in years.")
    sibsp: int = Field(ge=0, le=20, description="Siblings and spouses aboard.")
    parch: int = Field(ge=0, le=20, description="Parents and children aboard.")
    fare: float | None = Field(default=None, ge=0, le=10_000, description="Fare in pounds.")
    cabin: str | None = Field(default=None, max_length=50, description="Cabin, e.g. 'C85'.")
    embarked: Literal["C", "Q", "S"] | None = Field(
        default=None, description="Port: C = Cherbourg, Q = Queenstown, S = Southampton."
    )
