"""Champion against challenger on live outcomes: the comparison's config, its pairs, its verdict.

A comparison is named in one place, api/challenger.yml: a commit that sets its version starts
one; a commit that sets it back to ~, or that makes that version the champion, ends it. The
champion is the version the service answers with (model-package's VERSION); the challenger scores
the same records in shadow (app/challenger.py; its rows have role "shadow" and the champion's id).
One outcome, sent for the champion's prediction id, scores both. The metric follows the model's
task: a classifier's accuracy (exact McNemar test), a regression's MAE (Wilcoxon signed-rank).

The pairs and the level are fixed before the first outcome: the verdict stays "collecting: n of
N" until N pairs are in, then app/paired_test.py decides on the first N by the time their outcomes
were recorded. A pair counts only if the challenger had answered before the outcome came, so a late
shadow row never joins the first N afterwards.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from loguru import logger
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from app.answers import CLASSIFICATION, OUTCOME
from app.db import feedback, predictions
from app.paired_test import VERDICT_SIGN, mcnemar, wilcoxon
from app.schemas import ComparisonAnswer

METRIC = "accuracy" if CLASSIFICATION else "mae"
# Fewer pairs than this and the tests' normal approximations (the interval, Wilcoxon's z) mislead.
MINIMUM_PAIRS = 30


class ChallengerFile(BaseModel):
    """api/challenger.yml."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(min_length=1, max_length=64)
    share: float = Field(gt=0, le=1)
    pairs: int = Field(ge=MINIMUM_PAIRS)
    alpha: float = Field(gt=0, lt=0.5)


class Comparison(ChallengerFile):
    """A comparison that runs: the file with a version named."""

    version: str


class ComparisonError(ValueError):
    """challenger.yml cannot be used; the message names the file and what is wrong."""


def load_comparison(champion: str, path: Path) -> Comparison | None:
    """The comparison of challenger.yml, checked; None when it names no version."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        named = ChallengerFile.model_validate(raw)
    except (OSError, yaml.YAMLError) as error:
        raise ComparisonError(f"{path}: cannot be read: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, item['loc'])) or 'file'}: {item['msg']}" for item in error.errors()
        )
        raise ComparisonError(f"{path}: {problems}") from None
    if named.version is None:
        return None
    comparison = Comparison.model_validate(named.model_dump())
    if comparison.version == champion:
        logger.warning(
            "{}: the challenger {} is now the champion (model-package's VERSION): no comparison "
            "runs; set its version back to ~",
            path,
            comparison.version,
        )
        return None
    return comparison


def paired_outcomes(engine: Engine, champion: str, comparison: Comparison) -> list[Any]:
    """(champion's answer, challenger's answer, outcome) of the first `pairs` outcomes, in the
    order they were recorded."""
    shadow = aliased(predictions)
    query = (
        select(predictions.c[OUTCOME], shadow.c[OUTCOME], feedback.c[OUTCOME])
        .join(feedback, feedback.c.prediction_id == predictions.c.id)
        .join(shadow, shadow.c.champion_id == predictions.c.id)
        .where(
            predictions.c.model_version == champion,
            predictions.c.role == "champion",
            shadow.c.model_version == comparison.version,
            shadow.c.role == "shadow",
            predictions.c[OUTCOME].is_not(None),
            shadow.c[OUTCOME].is_not(None),
            feedback.c[OUTCOME].is_not(None),
            shadow.c.created_at <= feedback.c.created_at,
        )
        .order_by(feedback.c.created_at, predictions.c.id)
        .limit(comparison.pairs)
    )
    with engine.connect() as connection:
        return list(connection.execute(query).all())


def compare(engine: Engine, champion: str, comparison: Comparison) -> ComparisonAnswer:
    """The verdict once the pairs are in; "collecting: n of N" until then."""
    rows = paired_outcomes(engine, champion, comparison)
    decision = None
    if len(rows) == comparison.pairs:
        if CLASSIFICATION:
            decision = mcnemar(
                [ours == truth for ours, _, truth in rows],
                [theirs == truth for _, theirs, truth in rows],
                comparison.alpha,
            )
        else:
            decision = wilcoxon(
                [ours - truth for ours, _, truth in rows],
                [theirs - truth for _, theirs, truth in rows],
                comparison.alpha,
            )
    return ComparisonAnswer(
        champion=champion,
        challenger=comparison.version,
        metric=METRIC,
        pairs=len(rows),
        pairs_needed=comparison.pairs,
        status=decision.verdict if decision else f"collecting: {len(rows)} of {comparison.pairs}",
        decision=decision,
    )


class ComparisonCollector(Collector):
    """comparison_pairs and comparison_verdict, read from the log at each scrape."""

    def __init__(self, engine: Engine, champion: str, comparison: Comparison) -> None:
        self.engine, self.champion, self.comparison = engine, champion, comparison

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            answer = compare(self.engine, self.champion, self.comparison)
        except SQLAlchemyError:
            return  # the database is away: no figures, rather than a failed scrape
        names = ["champion", "challenger"]
        pairs = GaugeMetricFamily(
            "comparison_pairs",
            "Outcomes that score both versions, up to those needed.",
            labels=names,
        )
        pairs.add_metric([answer.champion, answer.challenger], answer.pairs)
        needed = GaugeMetricFamily(
            "comparison_pairs_needed", "The outcomes the test waits for.", labels=names
        )
        needed.add_metric([answer.champion, answer.challenger], answer.pairs_needed)
        verdict = GaugeMetricFamily(
            "comparison_verdict",
            "1 challenger better, -1 challenger worse, 0 no difference shown; absent while "
            "collecting.",
            labels=names,
        )
        if answer.decision is not None:
            verdict.add_metric(
                [answer.champion, answer.challenger], VERDICT_SIGN[answer.decision.verdict]
            )
        yield from (pairs, needed, verdict)
