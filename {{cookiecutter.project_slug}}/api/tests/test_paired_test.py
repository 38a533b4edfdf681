"""The paired tests of app/paired_test.py against scipy's, an independent implementation."""

import random

import pytest
from scipy import stats

from app.paired_test import mcnemar, wilcoxon


def table(
    only_champion: int, only_challenger: int, both: int, neither: int
) -> tuple[list[bool], list[bool]]:
    """Who was right on each pair, shuffled: the four cells of McNemar's table."""
    cells = (
        [(True, False)] * only_champion
        + [(False, True)] * only_challenger
        + [(True, True)] * both
        + [(False, False)] * neither
    )
    random.Random(0).shuffle(cells)
    return [a for a, _ in cells], [b for _, b in cells]


@pytest.mark.parametrize(
    ("cells", "verdict"),
    [
        ((30, 12, 300, 58), "challenger worse"),
        ((12, 30, 300, 58), "challenger better"),
        ((20, 25, 300, 55), "no difference shown"),
        ((0, 0, 350, 50), "no difference shown"),
        ((0, 7, 20, 3), "challenger better"),
        ((1, 1, 0, 0), "no difference shown"),
    ],
)
def test_mcnemar_agrees_with_scipy(cells: tuple[int, int, int, int], verdict: str) -> None:
    champion, challenger = table(*cells)
    decision = mcnemar(champion, challenger, alpha=0.05)
    only_champion, only_challenger, *_ = cells
    discordant = only_champion + only_challenger
    expected = stats.binomtest(only_challenger, discordant).pvalue if discordant else 1.0
    assert decision.p_value == pytest.approx(expected, rel=1e-12)
    assert decision.verdict == verdict
    assert decision.pairs == sum(cells)
    assert decision.champion == pytest.approx(sum(champion) / len(champion))
    assert decision.difference == pytest.approx((only_challenger - only_champion) / sum(cells))
    low, high = decision.interval
    assert low <= decision.difference <= high
    assert f"{only_champion} right by the champion only" in decision.rule
    assert f"{only_challenger} by the challenger only" in decision.rule


@pytest.mark.parametrize(
    ("shift", "rounding", "verdict"),
    [
        (0.0, None, "no difference shown"),
        (0.25, None, "challenger better"),
        (-0.25, None, "challenger worse"),
        (0.25, 0, "challenger better"),  # rounded errors: many ties and zero differences
    ],
)
def test_wilcoxon_agrees_with_scipy(shift: float, rounding: int | None, verdict: str) -> None:
    draw = random.Random(2)  # at shift 0, 1 in 20 seeds shows a difference: that is alpha
    champion = [draw.gauss(0, 3) for _ in range(400)]
    challenger = [draw.gauss(0, 3 * (1 - shift)) for _ in range(400)]  # smaller when shift > 0
    if rounding is not None:
        champion = [round(error, rounding) for error in champion]
        challenger = [round(error, rounding) for error in challenger]
    decision = wilcoxon(champion, challenger, alpha=0.05)
    gains = [abs(a) - abs(b) for a, b in zip(champion, challenger, strict=True)]
    expected = stats.wilcoxon(gains, zero_method="wilcox", correction=False, method="approx")
    assert decision.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert decision.verdict == verdict
    mae_difference = sum(map(abs, challenger)) / 400 - sum(map(abs, champion)) / 400
    assert decision.difference == pytest.approx(mae_difference)
    # the normal interval beside Student's t interval (scipy's), which is 0.3% wider at 400 pairs
    low, high = stats.ttest_rel([-gain for gain in gains], [0.0] * 400).confidence_interval(0.95)
    assert (decision.interval[0] + decision.interval[1]) / 2 == pytest.approx((low + high) / 2)
    assert decision.interval[1] - decision.interval[0] == pytest.approx(high - low, rel=0.01)


def test_no_difference_at_all() -> None:
    same = [1.0, -2.0, 0.5] * 20
    decision = wilcoxon(same, same, alpha=0.05)
    assert (decision.p_value, decision.verdict) == (1.0, "no difference shown")
    assert decision.interval == (0.0, 0.0)
