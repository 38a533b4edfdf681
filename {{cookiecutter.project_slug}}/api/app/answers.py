"""What a prediction answers and what an outcome is, by the model's task (the package's TASK).

A classifier answers each record with a label and every class's probability, and an outcome is
the true class. A regression answers with a value and its interval, and an outcome is the true
number. The response, the prediction log's columns and the metrics take the answer's columns
from here, under the same names.
"""

from typing import Any

from {{ cookiecutter.package_name }} import TASK, PredictionResult

CLASSIFICATION = TASK == "classification"
# The answer's columns (in the response and the log), the outcome's, and the prediction it is
# compared with.
ANSWER_COLUMNS = ("label", "probabilities") if CLASSIFICATION else ("value", "lower", "upper")
OUTCOME = ANSWER_COLUMNS[0]
OTHER_TASK_FIELDS = ("value", "predicted_value") if CLASSIFICATION else ("label", "predicted_label")


def answer_columns(result: PredictionResult) -> dict[str, list[Any]]:
    """A batch's answers, column by column; a RuntimeError if a record has none."""
    if CLASSIFICATION:
        columns: dict[str, list[Any]] = {
            "label": result.labels,
            "probabilities": result.probabilities,
        }
    else:
        ends = [interval or (None, None) for interval in result.intervals]
        columns = {
            "value": result.values,
            "lower": [low for low, _ in ends],
            "upper": [high for _, high in ends],
        }
    if any(value is None for value in columns[OUTCOME]):
        # the records passed the very same schema in the package
        raise RuntimeError("the model package refused a record that the API had validated")
    return columns


def response_items(ids: list[str], columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Each record's answer with its prediction id, as the response lists them."""
    names = ("prediction_id", *columns)
    return [dict(zip(names, row, strict=True)) for row in zip(ids, *columns.values(), strict=True)]
