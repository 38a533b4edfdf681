"""The penguin model: a quality floor and penguins whose species is known."""

from typing import Any

import pandas as pd

from penguin_species_model import CLASSES, ClassificationMetrics, load_model, make_prediction

# Always answering "Adélie" would score an accuracy of 0.44.
ACCURACY_FLOOR = 0.95


def test_all_penguins_are_there(dataset: pd.DataFrame) -> None:
    assert len(dataset) == 344
    assert dataset["species"].value_counts().to_dict() == {
        "Adélie": 152,
        "Gentoo": 124,
        "Chinstrap": 68,
    }


def test_holdout_quality_is_above_the_floor() -> None:
    metrics = load_model().metrics
    assert isinstance(metrics, ClassificationMetrics)
    assert metrics.accuracy >= ACCURACY_FLOOR
    assert metrics.roc_auc >= 0.99


def test_known_species(example: dict[str, Any]) -> None:
    adelie = {**example, "island": "Torgersen", "bill_length_mm": 39.1, "bill_depth_mm": 18.7}
    adelie.update(flipper_length_mm=181.0, body_mass_g=3750.0, sex="male")
    chinstrap = {**example, "island": "Dream", "bill_length_mm": 50.0, "bill_depth_mm": 19.5}
    chinstrap.update(flipper_length_mm=196.0, body_mass_g=3900.0, sex="male")
    result = make_prediction([example, adelie, chinstrap])
    assert result.labels == ["Gentoo", "Adélie", "Chinstrap"]
    assert set(CLASSES) == {"Adélie", "Chinstrap", "Gentoo"}
