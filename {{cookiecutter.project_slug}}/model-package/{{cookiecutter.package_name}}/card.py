"""The model card: the metadata made readable, as one offline HTML page and as Markdown.

Training writes both beside the artifacts and the wheel ships them; `tox -e gate` writes them again
with its comparison. Rendering needs the `train` extra (matplotlib, scikit-learn); reading a card
(load_card, in the public contract) does not. The plots are PNG images inside the page and the
pipeline diagram is scikit-learn's own HTML: nothing is fetched when the page opens.
"""

import base64
import io
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import CardConfig, Config
from .results import LOWER_IS_BETTER, GateRecord, LoggedData, ModelMetadata

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd
    from matplotlib.axes import Axes
    from sklearn.pipeline import Pipeline

CALIBRATION_BINS = 10

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 66rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d1d1d; line-height: 1.45; }
h1 { margin-bottom: .2rem; } .subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; } figcaption { color: #555; font-size: .9rem; }
.failed { color: #a30000; font-weight: 600; } .passed { color: #17612a; font-weight: 600; }
.override { border-left: 4px solid #a30000; padding: .4rem .8rem; background: #fff3f3; }
code { font-size: .9rem; word-break: break-all; }
"""


def _figure_png(draw: Any) -> str:
    """Draw on a fresh 5x4 inch axes and return the figure as a base64 PNG."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 4), dpi=100, layout="constrained")
    draw(figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def calibration_inputs(
    truth: "npt.NDArray[Any]", probabilities: "npt.NDArray[Any]", classes: list[str], positive: str
) -> tuple["npt.NDArray[Any]", "npt.NDArray[Any]"]:
    """(hit, probability) pairs whose calibration is shown: the positive class's for two classes,
    else the most probable class's. The card and the evaluate stage's plot data share them."""
    if len(classes) == 2:
        return truth == positive, probabilities[:, classes.index(positive)]
    predicted = np.asarray(classes)[probabilities.argmax(axis=1)]
    return predicted == truth, probabilities.max(axis=1)


def render_plots(
    pipeline: "Pipeline", inputs: "pd.DataFrame", labels: Sequence[str], positive: str
) -> dict[str, str]:
    """ROC curve, calibration curve and confusion matrix on the holdout, as base64 PNGs.

    Two classes: the positive class's curves. More: one ROC curve per class (one-vs-rest) and the
    calibration of the most probable class.
    """
    from sklearn.calibration import CalibrationDisplay
    from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay

    classes = [str(name) for name in pipeline.classes_]
    probabilities = pipeline.predict_proba(inputs)
    predicted = np.asarray(classes)[probabilities.argmax(axis=1)]
    truth = np.asarray(labels)
    hits, scores = calibration_inputs(truth, probabilities, classes, positive)

    def roc(axes: "Axes") -> None:
        if len(classes) == 2:
            RocCurveDisplay.from_predictions(hits, scores, name=positive, ax=axes)
        else:
            for index, name in enumerate(classes):
                RocCurveDisplay.from_predictions(
                    truth == name, probabilities[:, index], name=name, ax=axes
                )
        axes.plot([0, 1], [0, 1], linestyle=":", color="grey")

    def calibration(axes: "Axes") -> None:
        name = positive if len(classes) == 2 else "most probable class"
        CalibrationDisplay.from_predictions(
            hits, scores, n_bins=CALIBRATION_BINS, name=name, ax=axes
        )

    def confusion(axes: "Axes") -> None:
        ConfusionMatrixDisplay.from_predictions(
            truth, predicted, labels=classes, ax=axes, colorbar=False, xticks_rotation=30
        )

    return {
        "ROC curve": _figure_png(roc),
        "Calibration": _figure_png(calibration),
        "Confusion matrix": _figure_png(confusion),
    }


def render_value_plots(
    pipeline: "Pipeline", inputs: "pd.DataFrame", targets: Sequence[float]
) -> dict[str, str]:
    """A regression's predicted against actual values, and its residuals, on the holdout."""
    from sklearn.metrics import PredictionErrorDisplay

    predicted = np.asarray(pipeline.predict(inputs), dtype=np.float64).ravel()
    actual = np.asarray(targets, dtype=np.float64)

    def draw(kind: str) -> Any:
        def plot(axes: "Axes") -> None:
            PredictionErrorDisplay.from_predictions(
                actual, predicted, kind=kind, ax=axes, scatter_kwargs={"alpha": 0.5}
            )

        return plot

    return {
        "Predicted against actual": _figure_png(draw("actual_vs_predicted")),
        "Residuals": _figure_png(draw("residual_vs_predicted")),
    }


def _metric_rows(metadata: ModelMetadata) -> list[tuple[str, str]]:
    return [(name, f"{value:.4f}") for name, value in metadata.metrics.model_dump().items()]


def _gate_rows(gate: GateRecord) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for item in gate.comparisons:
        better = "lower" if item.metric in LOWER_IS_BETTER else "higher"
        rows.append(
            (
                f"{item.metric} ({better} is better)",
                f"{item.published:.4f}",
                f"{item.candidate:.4f}",
                f"{item.tolerance:g}",
                "passed" if item.passed else "failed",
            )
        )
    return rows


def _gate_summary(metadata: ModelMetadata) -> str:
    gate = metadata.gate
    if gate is None:
        return "Not gated yet: tox -e gate compares it with the published model before release."
    if gate.published_version is None:
        return (
            "First release: no earlier version on the index to compare with "
            f"({gate.checked_at:%Y-%m-%d})."
        )
    verdict = "passed" if gate.passed else "failed"
    text = (
        f"Compared with the published version {gate.published_version} on {gate.rows} holdout "
        f"rows on {gate.checked_at:%Y-%m-%d}: {verdict}."
    )
    if gate.published_data_sha256 not in (None, metadata.data_sha256):
        text += " The published model was trained on other data (its sha256 differs)."
    return text


def _predicts(metadata: ModelMetadata) -> str:
    if metadata.interval is None:
        return f"{metadata.target}: {', '.join(metadata.classes)}"
    return (
        f"{metadata.target}, a number, with an interval of ±{metadata.interval.half_width:.4g} "
        f"meant to hold {metadata.interval.coverage:.0%} of true values (conformal, from "
        "cross-validated residuals of the training rows)"
    )


def _facts(metadata: ModelMetadata) -> list[tuple[str, str]]:
    return [
        ("Estimator", f"{metadata.estimator} {metadata.params}"),
        ("Predicts", _predicts(metadata)),
        ("Numeric features", ", ".join(metadata.features.numeric) or "none"),
        ("Categorical features", ", ".join(metadata.features.categorical) or "none"),
        ("Input fields", ", ".join(metadata.input_fields)),
        ("Training data", f"{metadata.data_file}, sha256 {metadata.data_sha256}"),
        ("Rows", f"{metadata.n_train} trained on, {metadata.n_holdout} held out"),
        ("Trained", f"{metadata.trained_at:%Y-%m-%d %H:%M} UTC"),
    ]


LOGGED_HEADING = "Data from the service's log"


def _refused(logged: LoggedData) -> str:
    """The harvest's refusals by reason, and the records sent again that it merged."""
    reasons = [f"{count} ({why})" for why, count in logged.harvest.left_out.items()]
    merged = logged.harvest.duplicates_merged
    return "; ".join([*reasons, *([f"{merged} sent again, merged"] if merged else [])]) or "none"


def _logged_rows(logged: LoggedData, metadata: ModelMetadata) -> list[tuple[str, str]]:
    """The logged rows among those trained on and held out: how many, from when, from whom."""
    total = metadata.n_train + metadata.n_holdout
    span = (
        f"{logged.first:%Y-%m-%d %H:%M} to {logged.last:%Y-%m-%d %H:%M} UTC"
        if logged.first
        else "none"
    )
    shares = ", ".join(f"{version}: {share:.0%}" for version, share in logged.outcome_share.items())
    return [
        ("Rows", f"{total - logged.rows} from {metadata.data_file}, {logged.rows} from the log"),
        ("Left out by config.yml's rule", str(logged.cut_by_rule)),
        ("Left out or merged by the harvest", _refused(logged)),
        ("Predicted", span),
        (
            "Versions that served them",
            ", ".join(f"{v} ({n} rows)" for v, n in logged.versions.items()) or "none",
        ),
        ("Predictions that got an outcome", shares or "unknown"),
        ("File", f"{logged.file}, sha256 {logged.sha256}"),
    ]


def _versions(metadata: ModelMetadata) -> list[tuple[str, str]]:
    return [("python", metadata.python_version), *sorted(metadata.libraries.items())]


def _html_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], numbers: Sequence[int] = ()
) -> str:
    """A table: the columns `numbers` right-aligned, verdicts coloured, a blank header left out."""
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header) if any(header) else ""
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            kind = "number" if index in numbers else cell if cell in ("passed", "failed") else ""
            attribute = f' class="{kind}"' if kind else ""
            cells.append(f"<td{attribute}>{escape(cell)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>{''.join(body)}</tbody></table>"


def card_html(
    metadata: ModelMetadata, words: CardConfig, plots: dict[str, str], pipeline_html: str
) -> str:
    title = f"{metadata.name} {metadata.version}"
    gate = metadata.gate
    parts = [
        f"<h1>Model card: {escape(title)}</h1>",
        f'<p class="subtitle">{escape(metadata.estimator)}, trained '
        f"{metadata.trained_at:%Y-%m-%d}</p>",
        "<h2>Intended use</h2>",
        f"<p>{escape(words.intended_use)}</p>",
        "<h2>Limitations</h2>",
        "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in words.limitations) + "</ul>"
        if words.limitations
        else "<p>None stated.</p>",
        "<h2>Holdout metrics</h2>",
        _html_table(("metric", "value"), _metric_rows(metadata), numbers=[1]),
        "<h2>Release gate</h2>",
        f"<p>{escape(_gate_summary(metadata))}</p>",
    ]
    if gate is not None and gate.comparisons:
        header = ("metric", f"published {gate.published_version}", "this model", "tolerance", "")
        parts.append(_html_table(header, _gate_rows(gate), numbers=[1, 2, 3]))
    if gate is not None and gate.override_reason:
        parts.append(
            '<p class="override">The gate failed and was overridden. Reason given: '
            f"<strong>{escape(gate.override_reason)}</strong></p>"
        )
    if (logged := metadata.logged) is not None:
        parts += [
            f"<h2>{LOGGED_HEADING}</h2>",
            _html_table(("", ""), _logged_rows(logged, metadata)),
        ]
        parts += [f'<p class="override">Bias: {escape(warning)}</p>' for warning in logged.warnings]
    parts += [
        "<h2>Holdout plots</h2>",
        '<div class="plots">'
        + "".join(
            f'<figure><img alt="{escape(name)}" src="data:image/png;base64,{image}" '
            f'width="500" height="400"><figcaption>{escape(name)}</figcaption></figure>'
            for name, image in plots.items()
        )
        + "</div>",
        "<h2>Model</h2>",
        _html_table(("", ""), _facts(metadata)),
        "<h3>Fitted pipeline</h3>",
        pipeline_html,
        "<h2>Library versions</h2>",
        _html_table(("library", "version"), _versions(metadata)),
    ]
    body = "\n".join(parts)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Model card: {escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def card_markdown(metadata: ModelMetadata, words: CardConfig) -> str:
    gate = metadata.gate
    parts = [
        f"# Model card: {metadata.name} {metadata.version}",
        "## Intended use",
        words.intended_use,
        "## Limitations",
        "\n".join(f"- {item}" for item in words.limitations) or "None stated.",
        "## Holdout metrics",
        _markdown_table(("metric", "value"), _metric_rows(metadata)),
        "## Release gate",
        _gate_summary(metadata),
    ]
    if gate is not None and gate.comparisons:
        header = ("metric", f"published {gate.published_version}", "this model", "tolerance", "")
        parts.append(_markdown_table(header, _gate_rows(gate)))
    if gate is not None and gate.override_reason:
        parts.append(
            f"**The gate failed and was overridden.** Reason given: {gate.override_reason}"
        )
    if (logged := metadata.logged) is not None:
        parts += [f"## {LOGGED_HEADING}", _markdown_table(("", ""), _logged_rows(logged, metadata))]
        parts += [f"**Bias:** {warning}" for warning in logged.warnings]
    parts += [
        "## Model",
        _markdown_table(("", ""), _facts(metadata)),
        "The holdout plots and the fitted pipeline's diagram are in the HTML card.",
        "## Library versions",
        _markdown_table(("library", "version"), _versions(metadata)),
    ]
    return "\n\n".join(parts) + "\n"


def render_card(
    metadata: ModelMetadata,
    pipeline: "Pipeline",
    inputs: "pd.DataFrame",
    targets: Sequence[Any],
    config: Config,
) -> tuple[str, str]:
    """The card as (HTML, Markdown), from the metadata, the fitted pipeline and the holdout."""
    from sklearn.utils import estimator_html_repr

    if config.task == "regression":
        plots = render_value_plots(pipeline, inputs, targets)
    else:
        plots = render_plots(pipeline, inputs, targets, config.data.class_names[0])
    html = card_html(metadata, config.card, plots, estimator_html_repr(pipeline))
    return html, card_markdown(metadata, config.card)
