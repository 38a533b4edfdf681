"""The scores that training's holdout metrics and a service's live quality share, against
scikit-learn's own."""

import random

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from {{ cookiecutter.package_name }} import classification_scores
from {{ cookiecutter.package_name }}.scores import PROBABILITY_FLOOR, roc_auc


def test_roc_auc_counts_ties_as_half() -> None:
    chance = random.Random(7)
    for _ in range(20):
        scores = np.array([chance.choice([0.1, 0.2, 0.5, 0.9]) for _ in range(40)])
        hits = np.array([chance.random() < 0.4 for _ in range(40)])
        pairs = [
            1.0 if up > down else 0.5 if up == down else 0.0
            for up in scores[hits]
            for down in scores[~hits]
        ]
        assert roc_auc(hits, scores) == pytest.approx(sum(pairs) / len(pairs))
        assert roc_auc(hits, scores) == pytest.approx(roc_auc_score(hits, scores))
    assert roc_auc(np.array([True, True]), np.array([0.1, 0.2])) is None


@pytest.mark.parametrize("count", [2, 3])
def test_the_scores_are_scikit_learns(count: int) -> None:
    """Two classes: of the first; more: macro one-vs-rest; with float32 noise below the floor."""
    generator = np.random.default_rng(count)
    classes = ["c", "a", "b"][:count]  # not in sorted order, as config.yml may list them
    matrix = generator.dirichlet(np.ones(count), size=300).astype(np.float32)
    matrix[:5, 0] = 1e-9  # rounding noise
    truth = [classes[index] for index in generator.integers(0, count, size=300)]
    scored = classification_scores(truth, matrix, classes)

    clipped = np.clip(matrix.astype(np.float64), PROBABILITY_FLOOR, 1.0)
    clipped /= clipped.sum(axis=1, keepdims=True)
    order = np.argsort(classes)  # scikit-learn wants the columns in sorted class order
    ordered = [classes[index] for index in order]
    expected_auc = (
        roc_auc_score(np.asarray(truth) == classes[0], clipped[:, 0])
        if count == 2
        else roc_auc_score(truth, clipped[:, order], multi_class="ovr", labels=ordered)
    )
    predicted = np.asarray(classes)[clipped.argmax(axis=1)]
    assert scored["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert scored["log_loss"] == pytest.approx(log_loss(truth, clipped[:, order], labels=ordered))
    assert scored["roc_auc"] == pytest.approx(expected_auc)
