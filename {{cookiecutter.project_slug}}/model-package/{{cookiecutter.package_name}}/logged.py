"""Rows the service logged with their outcomes, as training data beside the original file.

The API's harvest (`tox -e harvest` in api/) writes datasets/logged.csv: the input fields, the
target (a class name or a number) and the provenance columns below, which training ignores, with
logged.json beside it (per model version, how many predictions were logged and how many got an
outcome). config.yml's `logged` rule says which rows join the original data: all of them, or
those of the newest keep_months; then at most max_share of all rows, the newest kept.

Logged rows exist only where a model answered and someone sent back what happened: they are not a
sample of the traffic. `summarise` states how far they may be skewed, in the metadata and the card.
"""

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import DATASET_DIR, LOGGED_FILE, Config, DataConfig
from .data import DataValidationError, load_dataset, sha256_of
from .results import LoggedData

SUMMARY_FILE = "logged.json"
PROVENANCE = ("prediction_id", "model_version", "predicted_at")
# Warned about in the card: a version whose predictions got outcomes less often than this, and
# logged rows of which one class, or one tenth of the original data (a decile of its target), holds
# more.
LOW_OUTCOME_SHARE = 0.2
DOMINANT_CLASS_SHARE = 0.8
DOMINANT_BIN_SHARE = 0.3


def load_logged(config: Config, folder: Path = DATASET_DIR) -> pd.DataFrame | None:
    """The harvested rows as the schema validated them, with their provenance; None if there is
    no harvest. The target holds class names (or numbers), as the harvest wrote them."""
    path = folder / LOGGED_FILE
    if not path.is_file():
        return None
    names = {name: name for name in config.data.class_names} or None
    as_written = DataConfig(file=LOGGED_FILE, target=config.data.target, classes=names)
    rows = load_dataset(path, as_written, every_class=False)
    try:
        provenance = pd.read_csv(path, usecols=list(PROVENANCE), dtype=str, keep_default_na=False)
    except ValueError as error:  # a column missing
        raise DataValidationError(
            f"{path}: not a harvest: it needs the columns {list(PROVENANCE)} (the API's "
            "tox -e harvest writes them)"
        ) from error
    times = pd.to_datetime(provenance["predicted_at"], utc=True, errors="coerce", format="ISO8601")
    if times.isna().any():
        line = int(times.index[times.isna()][0]) + 2
        raise DataValidationError(f"{path}: line {line}: predicted_at is not an ISO 8601 time")
    return rows.assign(model_version=provenance["model_version"], predicted_at=times)


def combine(
    original: pd.DataFrame, logged: pd.DataFrame, config: Config
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The original rows in file order, then the logged rows the rule keeps, oldest first; and
    those kept logged rows. The holdout "newest" takes the end of this order."""
    logged = logged.sort_values("predicted_at", kind="stable")
    if config.logged.keep_months is not None and not logged.empty:
        start = logged["predicted_at"].max() - pd.DateOffset(months=config.logged.keep_months)
        logged = logged[logged["predicted_at"] >= start]
    share = config.logged.max_share
    if share < 1:  # logged / (original + logged) <= share
        cap = math.floor(share / (1 - share) * len(original))
        logged = logged.iloc[max(0, len(logged) - cap) :]
    rows = pd.concat([original, logged[list(original.columns)]], ignore_index=True)
    return rows, logged


def summarise(
    original: pd.DataFrame,
    logged: pd.DataFrame,
    kept: pd.DataFrame,
    config: Config,
    folder: Path = DATASET_DIR,
) -> LoggedData:
    """What the metadata and the card say about the logged rows trained on."""
    shares = outcome_shares(folder / SUMMARY_FILE)
    return LoggedData(
        file=LOGGED_FILE,
        sha256=sha256_of(folder / LOGGED_FILE),
        rows=len(kept),
        left_out=len(logged) - len(kept),
        first=kept["predicted_at"].min() if len(kept) else None,
        last=kept["predicted_at"].max() if len(kept) else None,
        versions={
            str(name): int(rows) for name, rows in kept["model_version"].value_counts().items()
        },
        outcome_share=shares,
        warnings=bias_warnings(original, kept, shares, config),
    )


def outcome_shares(path: Path) -> dict[str, float]:
    """Per model version, outcomes over logged predictions, from the harvest's summary."""
    if not path.is_file():
        return {}
    try:
        versions: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["versions"]
        return {
            version: counts["outcomes"] / counts["predictions"]
            for version, counts in versions.items()
            if counts["predictions"]
        }
    except (ValueError, KeyError, TypeError) as error:
        raise DataValidationError(
            f"{path}: not a harvest summary ({error}); run the harvest again"
        ) from error


def bias_warnings(
    original: pd.DataFrame, kept: pd.DataFrame, shares: dict[str, float], config: Config
) -> list[str]:
    """Where the logged rows say more about who got followed up than about the traffic."""
    warnings = [
        f"only {share:.0%} of version {version}'s logged predictions got an outcome: its rows "
        "are the cases someone followed up, not a sample of what it served"
        for version, share in shares.items()
        if share < LOW_OUTCOME_SHARE
    ]
    if kept.empty:
        return warnings
    target = config.data.target
    if config.data.classes:
        counts = kept[target].value_counts(normalize=True)
        if counts.iloc[0] > DOMINANT_CLASS_SHARE:
            usual = (original[target] == counts.index[0]).mean()
            warnings.append(
                f"{counts.iloc[0]:.0%} of the logged rows are of the class {counts.index[0]!r} "
                f"({usual:.0%} of the original data)"
            )
        return warnings
    edges = np.quantile(original[target], np.linspace(0, 1, 11)[1:-1])
    bins = pd.Series(np.searchsorted(edges, kept[target])).value_counts(normalize=True)
    if bins.iloc[0] > DOMINANT_BIN_SHARE:
        low = original[target].min() if bins.index[0] == 0 else edges[bins.index[0] - 1]
        high = original[target].max() if bins.index[0] == len(edges) else edges[bins.index[0]]
        warnings.append(
            f"{bins.iloc[0]:.0%} of the logged rows have {target} between {low:g} and {high:g}, "
            "where a tenth of the original data lies"
        )
    return warnings
