"""The fitted part of the model: standard scikit-learn steps only."""

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .config import Config


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
