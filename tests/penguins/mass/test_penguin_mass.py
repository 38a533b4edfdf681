"""The penguin mass model: a quality floor, an honest interval, and penguins of known mass."""

from typing import Any

import pandas as pd

from penguin_mass_model import TASK, RegressionMetrics, load_model, make_prediction

# Always answering the mean mass would score an RMSE of about 800 g and an R² of 0; this model's
# holdout figures, less a margin.
RMSE_CEILING = 360.0
R2_FLOOR = 0.75


def test_every_weighed_penguin_is_there(dataset: pd.DataFrame) -> None:
    assert len(dataset) == 342  # of 344: two were not weighed
    assert TASK == "regression"


def test_holdout_quality_is_above_the_floor() -> None:
    metrics = load_model().metrics
    assert isinstance(metrics, RegressionMetrics)
    assert metrics.rmse <= RMSE_CEILING
    assert metrics.r2 >= R2_FLOOR
    assert metrics.interval_coverage >= 0.8  # 0.9 meant, on 69 penguins calibration never saw


def test_a_male_gentoo_is_heavier_than_a_female_adelie(example: dict[str, Any]) -> None:
    gentoo = {**example, "sex": "male", "flipper_length_mm": 230.0, "bill_length_mm": 50.0}
    adelie = {**example, "species": "Adelie", "island": "Torgersen", "bill_length_mm": 37.0}
    adelie.update(bill_depth_mm=18.0, flipper_length_mm=185.0)
    heavy, light = make_prediction([gentoo, adelie]).values
    assert heavy is not None
    assert light is not None
    assert 5000 < heavy < 6500
    assert 2800 < light < 4000
