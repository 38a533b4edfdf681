"""Rows the service logged with their outcomes, as training data beside the data file.

The API's harvest (`tox -e harvest` in api/) writes datasets/logged/logged.csv: the input
fields, the target (a class name or a number) and the LOGGED_PROVENANCE columns, which training
keeps as provenance only; and logged.json beside it (HarvestSummary: what was left out, and per
model version how many predictions were logged and how many got an outcome). config.yml's
`logged` rule says which rows join the data file's: all of them, or those of the keep_months
before the newest one; then at most max_share of all rows, the newest kept.

Logged rows exist only where a model answered and someone sent back what happened: they are not a
sample of the traffic. `summarise` states how far they may be skewed, in the metadata and the card.
"""

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError

from .config import DATASET_DIR, LOGGED_FILE, LOGGED_PROVENANCE, Config, DataConfig
from .data import DataValidationError, load_dataset, sha256_of
from .results import HarvestSummary, LoggedData

SUMMARY_FILE = str(Path(LOGGED_FILE).with_suffix(".json"))
# Warned about in the card: a version whose predictions got outcomes less often than this, and
# logged rows of which one class, or one tenth of the data file's rows (a decile of its target),
# holds more.
LOW_OUTCOME_SHARE = 0.2
DOMINANT_CLASS_SHARE = 0.8
DOMINANT_BIN_SHARE = 0.3


def read_summary(folder: Path) -> HarvestSummary:
    """The harvest's summary, checked to describe the CSV beside it."""
    path = folder / SUMMARY_FILE
    try:
        summary = HarvestSummary.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as error:
        raise DataValidationError(
            f"{path}: not the summary of a harvest ({type(error).__name__}); run the harvest again"
        ) from error
    if summary.csv_sha256 != sha256_of(folder / LOGGED_FILE):
        raise DataValidationError(
            f"{path} describes another {LOGGED_FILE} (a harvest stopped between the two files?); "
            "run the harvest again"
        )
    return summary


def load_logged(config: Config, folder: Path = DATASET_DIR) -> pd.DataFrame | None:
    """The harvested rows as the schema validated them, with their provenance; None if there is
    no harvest. The target holds class names (or numbers), as the harvest wrote them."""
    path = folder / LOGGED_FILE
    if not path.is_file():
        return None
    read_summary(folder)
    names = {name: name for name in config.data.class_names} or None
    as_written = DataConfig(file=LOGGED_FILE, target=config.data.target, classes=names)
    rows = load_dataset(path, as_written, harvested=True)
    try:
        provenance = pd.read_csv(
            path, usecols=list(LOGGED_PROVENANCE), dtype=str, keep_default_na=False
        )
    except ValueError as error:  # a column missing
        raise DataValidationError(
            f"{path}: not a harvest: it needs the columns {list(LOGGED_PROVENANCE)} (the API's "
            "tox -e harvest writes them)"
        ) from error
    times = pd.to_datetime(provenance["predicted_at"], utc=True, errors="coerce", format="ISO8601")
    if times.isna().any():
        line = int(times.index[times.isna()][0]) + 2
        raise DataValidationError(f"{path}: line {line}: predicted_at is not an ISO 8601 time")
    return rows.assign(
        prediction_id=provenance["prediction_id"],
        model_version=provenance["model_version"],
        predicted_at=times,
    )


def combine(
    original: pd.DataFrame, logged: pd.DataFrame, config: Config
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The data file's rows in their order, then the logged rows the rule keeps, oldest first;
    and those kept logged rows. The holdout "newest" takes the end of this order."""
    logged = logged.sort_values("predicted_at", kind="stable")
    if config.logged.keep_months is not None and not logged.empty:
        start = logged["predicted_at"].max() - pd.DateOffset(months=config.logged.keep_months)
        logged = logged[logged["predicted_at"] >= start]
    share = Fraction(str(config.logged.max_share))  # exact: 0.6 of 5 rows is 3, not 2.9999
    if share < 1:  # logged / (original + logged) <= share
        cap = math.floor(share / (1 - share) * len(original))
        logged = logged.iloc[len(logged) - min(cap, len(logged)) :]
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
    harvest = read_summary(folder)
    versions = {str(name): int(rows) for name, rows in kept["model_version"].value_counts().items()}
    shares = {
        version: served.outcomes / served.predictions
        for version, served in harvest.versions.items()
        if version in versions and served.predictions
    }
    return LoggedData(
        file=LOGGED_FILE,
        sha256=harvest.csv_sha256,
        rows=len(kept),
        cut_by_rule=len(logged) - len(kept),
        harvest=harvest,
        first=kept["predicted_at"].min() if len(kept) else None,
        last=kept["predicted_at"].max() if len(kept) else None,
        versions=versions,
        outcome_share=shares,
        warnings=bias_warnings(original, kept, shares, config),
    )


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
                f"({usual:.0%} in the data file)"
            )
        return warnings
    edges = np.quantile(original[target], np.linspace(0, 1, 11)[1:-1])
    bins = pd.Series(np.searchsorted(edges, kept[target])).value_counts(normalize=True)
    if bins.iloc[0] > DOMINANT_BIN_SHARE:
        low = original[target].min() if bins.index[0] == 0 else edges[bins.index[0] - 1]
        high = original[target].max() if bins.index[0] == len(edges) else edges[bins.index[0]]
        warnings.append(
            f"{bins.iloc[0]:.0%} of the logged rows have {target} between {low:g} and {high:g}, "
            "where a tenth of the data file's rows lie"
        )
    return warnings
