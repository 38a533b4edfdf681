"""The model card: written by training, shipped, readable through the public contract."""

import base64
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import TASK, __version__, load_card, load_model
from {{ cookiecutter.package_name }}.config import TRAINED_MODEL_DIR, config
from {{ cookiecutter.package_name }}.persistence import load_metadata
from {{ cookiecutter.package_name }}.release import record_gate
from {{ cookiecutter.package_name }}.results import GateComparison, GateRecord

PNG = b"\x89PNG\r\n\x1a\n"
PLOTS = {
    "classification": ["Calibration", "Confusion matrix", "ROC curve"],
    "regression": ["Predicted against actual", "Residuals"],
}


def images(html: str) -> dict[str, bytes]:
    found = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', html)
    return {name: base64.b64decode(data) for name, data in found}


def contents(folder: Path) -> list[tuple[str, bytes]]:
    return sorted((path.name, path.read_bytes()) for path in folder.iterdir())


def test_the_card_shows_the_metadata() -> None:
    html, markdown = load_card("html"), load_card("markdown")
    metadata = load_model()
    for text in (html, markdown):
        assert f"{metadata.name} {__version__}" in text
        assert metadata.data_sha256 in text
        assert f"{metadata.n_train} trained on, {metadata.n_holdout} held out" in text
    for name, value in metadata.metrics.model_dump().items():
        assert f'<td>{name}</td><td class="number">{value:.4f}</td>' in html
        assert f"| {name} | {value:.4f} |" in markdown
    for text in (html, markdown):
        for library, version in metadata.libraries.items():
            assert library in text
            assert version in text
    assert config.card.intended_use in markdown
    for limitation in config.card.limitations:
        assert f"- {limitation}" in markdown
    if metadata.interval is not None:  # a regression's interval, and how it did on the holdout
        assert f"±{metadata.interval.half_width:.4g}" in markdown
        assert f"meant to hold {metadata.interval.coverage:.0%} of true values" in markdown


def test_the_html_card_is_self_contained() -> None:
    html = load_card("html")
    plots = images(html)
    assert sorted(plots) == PLOTS[TASK]
    for data in plots.values():
        assert data.startswith(PNG)
        assert len(data) > 5_000  # a drawn plot, not an empty canvas
    assert 'class="sk-top-container"' in html or "sk-estimator" in html  # the pipeline diagram
    # Nothing is fetched when it opens: no external script, style sheet, image or font.
    assert not re.search(r'<(script|img|link)[^>]+(src|href)="(https?:)?//', html)
    assert "@import" not in html
    assert "url(http" not in html


def test_the_gate_decision_reaches_metadata_and_card(tmp_path: Path, prepared: Path) -> None:
    model_dir = tmp_path / "trained_models"
    shutil.copytree(TRAINED_MODEL_DIR, model_dir)
    packaged = contents(TRAINED_MODEL_DIR)
    reason = "<b>sex</b> dropped on legal advice & reviewed"
    metric = next(iter(config.gate.metrics))
    gate = GateRecord(
        checked_at=datetime.now(UTC),
        published_version="0.0.1",
        rows=12,
        comparisons=[
            GateComparison(
                metric=metric, published=0.9, candidate=0.8, tolerance=0.01, passed=False
            )
        ],
        published_data_sha256="0" * 64,
        passed=False,
        override_reason=reason,
    )
    record_gate(gate, prepared_dir=prepared, model_dir=model_dir)

    assert load_metadata(__version__, model_dir).gate == gate
    html = load_card("html", __version__, model_dir)
    markdown = load_card("markdown", __version__, model_dir)
    assert "&lt;b&gt;sex&lt;/b&gt; dropped on legal advice &amp; reviewed" in html
    assert "<b>sex</b>" not in html
    assert reason in markdown
    for text in (html, markdown):
        assert "Compared with the published version 0.0.1 on 12 holdout rows" in text
        assert "trained on other data" in text
        assert "0.9000" in text
        assert "0.8000" in text
    assert len(images(html)) == len(PLOTS[TASK])
    assert contents(TRAINED_MODEL_DIR) == packaged  # the package's own model is untouched


def test_a_missing_card_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="tox -e train"):
        load_card("markdown", __version__, tmp_path)
