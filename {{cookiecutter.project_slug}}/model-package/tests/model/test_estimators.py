"""Every alias of estimators.py for the task, and estimators named by their import path, train,
convert to ONNX and serve what scikit-learn predicts.

Each is trained on the packaged data (the configured one with its params, the others with their
defaults), and its ONNX Runtime session is compared with its scikit-learn pipeline on the whole
holdout. A classifier: probabilities within 1e-5, labels identical except where the two most
probable classes are within 1e-4 of each other, where float32 and float64 may break the tie
differently. A regression: values within 1e-5 of the largest value (ONNX computes in float32).
"""

from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package_name }} import TASK, __version__
from {{ cookiecutter.package_name }}.config import ConfigError, ModelConfig, config
from {{ cookiecutter.package_name }}.data import Part
from {{ cookiecutter.package_name }}.estimators import ALIASES
from {{ cookiecutter.package_name }}.persistence import load_pipeline, load_session
from {{ cookiecutter.package_name }}.predict import ONNX_PROBABILITIES, session_feed
from {{ cookiecutter.package_name }}.stages import train

PROBABILITY_TOLERANCE = 1e-5
BOUNDARY = 1e-4
VALUE_TOLERANCE = 1e-5

# Estimators by their import path: scikit-learn's own, and the xgboost and lightgbm extras'.
BY_PATH = {
    "classification": [
        "sklearn.ensemble.ExtraTreesClassifier",
        "xgboost.XGBClassifier",
        "lightgbm.LGBMClassifier",
    ],
    "regression": [
        "sklearn.ensemble.ExtraTreesRegressor",
        "xgboost.XGBRegressor",
        "lightgbm.LGBMRegressor",
    ],
}
# Estimators that skl2onnx does not convert.
NO_CONVERTER = {
    "classification": "sklearn.semi_supervised.LabelSpreading",
    "regression": "sklearn.kernel_ridge.KernelRidge",
}


@pytest.mark.parametrize(
    "estimator", dict.fromkeys([config.model.estimator, *ALIASES[TASK], *BY_PATH[TASK]])
)
def test_onnx_matches_scikit_learn_on_the_holdout(
    estimator: str, prepared: Path, holdout: Part, tmp_path: Path, report: list[str]
) -> None:
    configured = estimator == config.model.estimator
    model = config.model if configured else ModelConfig(estimator=estimator)
    metadata = train(config.model_copy(update={"model": model}), prepared, tmp_path)
    x_holdout = holdout.inputs()
    pipeline = load_pipeline(__version__, tmp_path)
    columns = {name: x_holdout[name].to_numpy() for name in x_holdout.columns}
    session = load_session(__version__, tmp_path)
    if TASK == "regression":
        expected = pipeline.predict(x_holdout)
        (values,) = session.run([session.get_outputs()[0].name], session_feed(columns))
        difference = float(np.abs(values.ravel() - expected).max())
        assert difference <= VALUE_TOLERANCE * max(1.0, float(np.abs(expected).max()))
        report.append(
            f"{estimator}: RMSE {metadata.metrics.model_dump()['rmse']:.4g}; ONNX parity on "
            f"{len(x_holdout)} holdout rows: max |dy| {difference:.1e}"
        )
        return
    expected = pipeline.predict_proba(x_holdout)
    (served,) = session.run([ONNX_PROBABILITIES], session_feed(columns))

    assert metadata.classes == list(pipeline.classes_)
    difference = float(np.abs(served - expected).max())
    assert difference <= PROBABILITY_TOLERANCE

    ranked = np.sort(expected, axis=1)
    at_boundary = ranked[:, -1] - ranked[:, -2] < BOUNDARY
    served_labels = np.asarray(metadata.classes)[served.argmax(axis=1)]
    disagree = served_labels != pipeline.predict(x_holdout)
    assert not (disagree & ~at_boundary).any()
    metrics = metadata.metrics.model_dump()
    report.append(
        f"{estimator}: ROC AUC {metrics['roc_auc']:.4f}, accuracy "
        f"{metrics['accuracy']:.4f}; ONNX parity on {len(x_holdout)} holdout rows: max "
        f"|dp| {difference:.1e}, {int(at_boundary.sum())} at the decision boundary, "
        f"{int(disagree.sum())} labels differ there"
    )


def test_an_estimator_no_converter_knows_stops_training(prepared: Path, tmp_path: Path) -> None:
    path = NO_CONVERTER[TASK]
    model = ModelConfig(estimator=path)
    with pytest.raises(ConfigError) as error:
        train(config.model_copy(update={"model": model}), prepared, tmp_path)
    name = path.rpartition(".")[2]
    no_converter = f"model.estimator: no ONNX converter knows {name}, and ONNX is how"
    assert str(error.value).startswith(no_converter)
    assert not list(tmp_path.iterdir())  # nothing written
