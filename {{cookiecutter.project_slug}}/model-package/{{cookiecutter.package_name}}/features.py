"""Feature engineering as plain, vectorised functions shared by training and serving.

Nothing here is fitted: the fitted steps (imputer, scaler, encoder, estimator) live in
pipeline.py, so the pipeline holds only standard scikit-learn steps.
"""

import pandas as pd

MISSING = "missing"
TITLES = {
    "Mr": "Mr",
    "Mrs": "Mrs",
    "Mme": "Mrs",
    "Miss": "Miss",
    "Mlle": "Miss",
    "Ms": "Miss",
    "Master": "Master",
}
RARE_TITLE = "Rare"
ENGINEERED_FEATURES = ("title", "deck", "family_size")


def title_from_name(name: pd.Series) -> pd.Series:
    """'Allen, Miss. Elisabeth' -> 'Miss'; uncommon titles are grouped as 'Rare'."""
    title = name.str.extract(r",\s*([^.]+)\.", expand=False).str.strip()
    return title.map(TITLES).where(title.isna() | title.isin(TITLES.keys()), RARE_TITLE)


def deck_from_cabin(cabin: pd.Series) -> pd.Series:
    """'C85' -> 'C': the deck is the cabin's leading letter."""
    return cabin.str.strip().str[0].str.upper()


def family_size(sibsp: pd.Series, parch: pd.Series) -> pd.Series:
    """The passenger plus siblings, spouses, parents and children aboard."""
    return sibsp + parch + 1


def add_features(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with the engineered features added."""
    return frame.assign(
        title=title_from_name(frame["name"]),
        deck=deck_from_cabin(frame["cabin"]),
        family_size=family_size(frame["sibsp"], frame["parch"]),
    )


def to_model_frame(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    """The pipeline's input: numeric columns as floats (NaN = missing), categorical as strings."""
    engineered = add_features(frame)
    model_frame = engineered[numeric].astype("float64")
    for column in categorical:
        values = engineered[column]
        model_frame[column] = values.astype(str).where(values.notna(), MISSING).astype(object)
    return model_frame
