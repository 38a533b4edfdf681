"""The fitted part of the model: standard scikit-learn steps only, so it converts to ONNX."""

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .config import Config

ONNX_OPSET = 17


def build_pipeline(config: Config) -> Pipeline:
    """Impute and scale the numbers, one-hot the categories, then a logistic regression."""
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    preprocess = ColumnTransformer(
        [
            ("numeric", numeric, config.features.numeric),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), config.features.categorical),
        ]
    )
    classifier = LogisticRegression(C=config.model.C, max_iter=config.model.max_iter)
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def to_onnx(pipeline: Pipeline, config: Config) -> bytes:
    """The fitted pipeline as an ONNX graph with one input per feature column."""
    from skl2onnx import to_onnx as convert
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    inputs = [(name, FloatTensorType([None, 1])) for name in config.features.numeric]
    inputs += [(name, StringTensorType([None, 1])) for name in config.features.categorical]
    options = {id(pipeline.steps[-1][1]): {"zipmap": False}}
    model = convert(pipeline, initial_types=inputs, options=options, target_opset=ONNX_OPSET)
    serialized: bytes = model.SerializeToString()
    return serialized
