"""The champion against the challenger, decided by a paired test on the same outcomes.

One outcome scores both versions on the same record, so the test compares them pair by pair:
- a classifier's accuracy by the exact McNemar test: only the discordant pairs (one version right,
  the other wrong) can tell them apart, and without a difference either kind is a coin's toss;
- a regression's absolute errors by the Wilcoxon signed-rank test (normal approximation, ties
  averaged, zero differences dropped), which a few huge errors cannot sway as they would a t test.
  It tests which version is closer more often and by more ranks; the MAE difference beside it is
  the mean, which a few huge errors can still turn the other way.
The test runs once, on the first `pairs` outcomes that config fixed in advance: testing again as
outcomes arrive would find a difference by chance far more often than `alpha` says. Pure Python,
so that the service needs no statistics library; tests/test_paired_test.py checks it with scipy.
"""

import math
from collections.abc import Sequence
from statistics import NormalDist, fmean, stdev
from typing import Literal

from pydantic import BaseModel

Verdict = Literal["challenger better", "no difference shown", "challenger worse"]
VERDICT_SIGN: dict[Verdict, int] = {
    "challenger better": 1,
    "no difference shown": 0,
    "challenger worse": -1,
}


class Decision(BaseModel):
    """The test's figures, the verdict, and the rule that reached it."""

    metric: Literal["accuracy", "mae"]
    pairs: int
    champion: float  # the metric on the pairs
    challenger: float
    difference: float  # challenger minus champion
    interval: tuple[float, float]  # of the difference, at 1 - alpha
    p_value: float
    alpha: float
    verdict: Verdict
    rule: str


def verdict(p_value: float, alpha: float, challenger_ahead: bool) -> Verdict:
    if p_value >= alpha:
        return "no difference shown"
    return "challenger better" if challenger_ahead else "challenger worse"


def mcnemar(
    champion_right: Sequence[bool], challenger_right: Sequence[bool], alpha: float
) -> Decision:
    """Accuracy: the exact (binomial) McNemar test, and a Wald interval of the paired difference."""
    pairs = len(champion_right)
    only_champion = sum(a and not b for a, b in zip(champion_right, challenger_right, strict=True))
    only_challenger = sum(
        b and not a for a, b in zip(champion_right, challenger_right, strict=True)
    )
    discordant = only_champion + only_challenger
    tail = sum(math.comb(discordant, k) for k in range(min(only_champion, only_challenger) + 1))
    p_value = min(1.0, 2 * tail / 2**discordant)
    difference = (only_challenger - only_champion) / pairs
    spread = math.sqrt(max(discordant - (only_challenger - only_champion) ** 2 / pairs, 0)) / pairs
    return Decision(
        metric="accuracy",
        pairs=pairs,
        champion=sum(champion_right) / pairs,
        challenger=sum(challenger_right) / pairs,
        difference=difference,
        interval=interval(difference, spread, alpha),
        p_value=p_value,
        alpha=alpha,
        verdict=verdict(p_value, alpha, only_challenger > only_champion),
        rule=(
            f"exact McNemar test on the first {pairs} outcomes: {only_champion} right by the "
            f"champion only, {only_challenger} by the challenger only; a version wins when "
            f"p < {alpha}"
        ),
    )


def wilcoxon(
    champion_errors: Sequence[float], challenger_errors: Sequence[float], alpha: float
) -> Decision:
    """MAE: the Wilcoxon signed-rank test on the absolute errors' differences, and a normal
    interval of the MAE difference."""
    pairs = len(champion_errors)
    champion = [abs(error) for error in champion_errors]
    challenger = [abs(error) for error in challenger_errors]
    gains = [a - b for a, b in zip(champion, challenger, strict=True)]  # > 0: challenger closer
    z = signed_rank_z([gain for gain in gains if gain != 0])
    p_value = math.erfc(abs(z) / math.sqrt(2))
    difference = fmean(challenger) - fmean(champion)
    spread = stdev(gains) / math.sqrt(pairs) if pairs > 1 else math.inf
    return Decision(
        metric="mae",
        pairs=pairs,
        champion=fmean(champion),
        challenger=fmean(challenger),
        difference=difference,
        interval=interval(difference, spread, alpha),
        p_value=p_value,
        alpha=alpha,
        verdict=verdict(p_value, alpha, z > 0),
        rule=(
            f"Wilcoxon signed-rank test on the absolute errors of the first {pairs} outcomes "
            f"({sum(gain > 0 for gain in gains)} closer by the challenger, "
            f"{sum(gain < 0 for gain in gains)} by the champion, {gains.count(0)} ties dropped); "
            f"a version wins when p < {alpha}"
        ),
    )


def signed_rank_z(differences: Sequence[float]) -> float:
    """The signed-rank statistic of non-zero differences as a z score; 0 without any."""
    count = len(differences)
    if count == 0:
        return 0.0
    order = sorted(range(count), key=lambda at: abs(differences[at]))
    ranks = [0.0] * count
    ties = 0.0  # the variance's correction: sum of t**3 - t over groups of t tied values
    start = 0
    while start < count:
        end = start
        while end + 1 < count and abs(differences[order[end + 1]]) == abs(
            differences[order[start]]
        ):
            end += 1
        for at in order[start : end + 1]:
            ranks[at] = (start + end) / 2 + 1  # the tied values' average rank
        ties += (end - start + 1) ** 3 - (end - start + 1)
        start = end + 1
    positive = sum(rank for rank, value in zip(ranks, differences, strict=True) if value > 0)
    mean = count * (count + 1) / 4
    variance = count * (count + 1) * (2 * count + 1) / 24 - ties / 48
    return (positive - mean) / math.sqrt(variance) if variance > 0 else 0.0


def interval(difference: float, spread: float, alpha: float) -> tuple[float, float]:
    half = NormalDist().inv_cdf(1 - alpha / 2) * spread
    return difference - half, difference + half
