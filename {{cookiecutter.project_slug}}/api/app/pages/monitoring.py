"""The monitoring page, GET /monitoring: volume, live quality and drift as charts, for people.

Drawn on the server as inline SVG from the prediction log: no JavaScript, no chart library, no
CDN, so it works offline and behind any firewall. It shows aggregates only, like /metrics.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from sqlalchemy import Engine, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from {{ cookiecutter.package_name }} import PSI_THRESHOLDS, ModelMetadata

from app.answers import CLASSIFICATION, OUTCOME
from app.comparison import Comparison, compare
from app.db import feedback, predictions
from app.monitoring import DRIFT_MAX_ROWS, drift

WIDTH, HEIGHT, MARGIN = 640, 220, 44
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def element(tag: str, text: str = "", **attributes: object) -> str:
    """One SVG element; in attribute names, _ is written - (and class_ is class)."""
    written = " ".join(
        f'{name.rstrip("_").replace("_", "-")}="{value}"' for name, value in attributes.items()
    )
    return f"<{tag} {written}>{text}</{tag}>"


def figure(title: str, body: str) -> str:
    return f"<figure><figcaption>{escape(title)}</figcaption>{body}</figure>"


EMPTY = '<p class="empty">No data in this window yet.</p>'


def svg(title: str, width: int, height: int, parts: Sequence[str]) -> str:
    size = {"viewBox": f"0 0 {width} {height}", "width": width, "height": height}
    return element("svg", "".join(parts), role="img", aria_label=escape(title), **size)


@dataclass
class Series:
    name: str
    points: list[tuple[datetime, float]]


def bucket(engine: Engine, hours: float) -> ColumnElement[str]:
    """The hour (short windows) or day (UTC) of a prediction, as text, in the database's SQL."""
    step = "hour" if hours <= 72 else "day"
    if engine.dialect.name == "postgresql":
        utc = func.timezone("UTC", predictions.c.created_at)
        return func.to_char(func.date_trunc(step, utc), "YYYY-MM-DD HH24:00")
    pattern = "%Y-%m-%d %H:00" if step == "hour" else "%Y-%m-%d 00:00"
    return func.strftime(pattern, predictions.c.created_at)


# Per time bucket and model version, on the predictions with an outcome: a classifier's accuracy
# (the share it got right), or a regression's mean absolute error.
QUALITY = "Accuracy" if CLASSIFICATION else "Mean absolute error"


def quality_total() -> ColumnElement[float]:
    """The sum, over a bucket's outcomes, that divided by their count is QUALITY."""
    if CLASSIFICATION:
        return func.sum(case((predictions.c.label == feedback.c.label, 1), else_=0))
    return func.sum(func.abs(predictions.c.value - feedback.c.value))


def history(engine: Engine, since: datetime, hours: float) -> tuple[list[Series], list[Series]]:
    """Predictions and outcomes per time bucket; QUALITY per bucket and model version, a
    challenger's in shadow included (scored on its champion's outcomes)."""
    when = bucket(engine, hours).label("bucket")
    right = quality_total()
    answered = func.coalesce(predictions.c.champion_id, predictions.c.id)
    query = (
        select(
            when,
            predictions.c.model_version,
            predictions.c.role,
            func.count(predictions.c.id),
            func.count(feedback.c[OUTCOME]),  # not the outcomes of another task's predictions
            right,
        )
        .outerjoin(feedback, feedback.c.prediction_id == answered)
        .where(predictions.c.created_at >= since)
        .group_by(when, predictions.c.model_version, predictions.c.role)
        .order_by(when)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    volume: dict[str, dict[datetime, float]] = {"predictions": {}, "outcomes": {}}
    measured: dict[str, list[tuple[datetime, float]]] = {}
    for stamp, version, role, count, outcomes, total in rows:
        moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        for name, value in (("predictions", count), ("outcomes", outcomes)):
            if role == "champion":  # the requests answered; a shadow is no second request
                volume[name][moment] = volume[name].get(moment, 0) + value
        if outcomes:
            name = version if role == "champion" else f"{version} ({role})"
            measured.setdefault(name, []).append((moment, (total or 0) / outcomes))
    return (
        [Series(name, sorted(points.items())) for name, points in volume.items()],
        [Series(f"model {version}", points) for version, points in sorted(measured.items())],
    )


def line_chart(title: str, series: Sequence[Series], low: float | None = None) -> str:
    """Lines over time, with the axis values at the ends; a note when there is nothing to draw."""
    points = [point for line in series for point in line.points]
    if not points:
        return figure(title, EMPTY)
    times = [moment.timestamp() for moment, _ in points]
    values = [value for _, value in points]
    start, end = min(times), max(times) if max(times) > min(times) else min(times) + 3600
    bottom = low if low is not None else min(0.0, min(values))
    top = max(values) if max(values) > bottom else bottom + 1

    def x(moment: datetime) -> float:
        return MARGIN + (moment.timestamp() - start) / (end - start) * (WIDTH - 2 * MARGIN)

    def y(value: float) -> float:
        return HEIGHT - MARGIN + (value - bottom) / (top - bottom) * (2 * MARGIN - HEIGHT)

    base, left, right = HEIGHT - MARGIN, MARGIN, WIDTH - MARGIN
    first, last = (datetime.fromtimestamp(moment, UTC) for moment in (start, end))
    parts = [
        element("line", x1=left, y1=base, x2=right, y2=base, stroke="#888"),
        element("line", x1=left, y1=MARGIN, x2=left, y2=base, stroke="#888"),
        element("text", f"{top:.3g}", x=left - 6, y=f"{y(top) + 4:.1f}", text_anchor="end"),
        element("text", f"{bottom:.3g}", x=left - 6, y=f"{y(bottom) + 4:.1f}", text_anchor="end"),
        element("text", f"{first:%m-%d %H:%M}", x=left, y=base + 16),
        element("text", f"{last:%m-%d %H:%M}", x=right, y=base + 16, text_anchor="end"),
    ]
    for index, line in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        path = " ".join(f"{x(moment):.1f},{y(value):.1f}" for moment, value in line.points)
        parts.append(
            element(
                "polyline",
                class_="series",
                fill="none",
                stroke=colour,
                stroke_width=2,
                points=path,
            )
        )
        parts += [
            element("circle", cx=f"{x(m):.1f}", cy=f"{y(v):.1f}", r=3, fill=colour)
            for m, v in line.points
        ]
        label = escape(line.name)
        parts.append(element("text", label, x=right + 4, y=MARGIN + 14 * index, fill=colour))
    return figure(title, svg(title, WIDTH + 120, HEIGHT, parts))


def bar_chart(title: str, bars: Sequence[tuple[str, float, str]]) -> str:
    """Horizontal bars (name, value, status), with the PSI thresholds as dashed lines."""
    if not bars:
        return figure(title, EMPTY)
    row, left = 22, 130
    top = max(max(value for _, value, _ in bars), PSI_THRESHOLDS[1] * 1.2)
    height = row * len(bars) + 30

    def x(value: float) -> float:
        return left + value / top * (WIDTH - left - MARGIN)

    colours = {"stable": "#2ca02c", "moderate drift": "#ff7f0e", "drift": "#d62728"}
    parts = []
    for index, (name, value, status) in enumerate(bars):
        y = 6 + index * row
        tip = element("title", f"{escape(name)}: PSI {value:.3f}, {status}")
        parts += [
            element("text", escape(name), x=left - 6, y=y + 14, text_anchor="end"),
            element(
                "rect",
                tip,
                class_="bar",
                x=left,
                y=y,
                width=f"{max(x(value) - left, 1):.1f}",
                height=row - 6,
                fill=colours[status],
            ),
            element("text", f"{value:.3f}", x=f"{x(value) + 4:.1f}", y=y + 14),
        ]
    for level, anchor in zip(PSI_THRESHOLDS, ("end", "start"), strict=True):
        at = f"{x(level):.1f}"
        dash = {"stroke": "#555", "stroke_dasharray": "4 3"}
        parts.append(element("line", x1=at, y1=0, x2=at, y2=height - 24, **dash))
        parts.append(element("text", f"{level:g}", x=at, y=height - 10, text_anchor=anchor))
    return figure(title, svg(title, WIDTH, height, parts))


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Monitoring: __TITLE__</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
figure { margin: 1.5rem 0; } figcaption { font-weight: 600; margin-bottom: .4rem; }
svg { font-size: 11px; max-width: 100%; height: auto; } .empty { color: #666; }
.summary { color: #444; }
</style>
</head>
<body>
<h1>Monitoring: __TITLE__</h1>
<p class="summary">__SUMMARY__</p>
__CHARTS__
</body>
</html>
"""


def verdict(engine: Engine, champion: str, comparison: Comparison, since: datetime) -> str:
    """The comparison's state, in words: GET /api/v1/monitoring/comparison's answer, and the
    share of the window's records the challenger scored (the rest dropped or failed)."""
    answer = compare(engine, champion, comparison)
    title = f"Champion {champion} against challenger {comparison.version} (in shadow)"
    counts = (
        select(predictions.c.role, func.count())
        .where(
            predictions.c.created_at >= since,
            predictions.c.model_version.in_([champion, comparison.version]),
        )
        .group_by(predictions.c.role)
    )
    with engine.connect() as connection:
        rows: dict[str, int] = {role: count for role, count in connection.execute(counts)}
    answered, scored = rows.get("champion", 0), rows.get("shadow", 0)
    share = f" ({scored / answered:.0%})" if answered else ""
    lines = [
        f"{answer.status}.",
        f"The challenger scored {scored:,} of the {answered:,} records answered in this window"
        f"{share}; /metrics counts why the others were not (shadow_records_total).",
    ]
    if decision := answer.decision:
        low, high = decision.interval
        lines += [
            f"{decision.metric}: champion {decision.champion:.4g}, challenger "
            f"{decision.challenger:.4g}; difference {decision.difference:+.4g} "
            f"({1 - decision.alpha:.0%} interval {low:+.4g} to {high:+.4g}), "
            f"p = {decision.p_value:.3g}.",
            f"{decision.rule}.",
        ]
    return figure(title, "".join(f'<p class="verdict">{escape(line)}</p>' for line in lines))


def render(
    engine: Engine,
    served: ModelMetadata | None,
    title: str,
    hours: float,
    comparison: Comparison | None = None,
) -> str:
    since = datetime.now(UTC) - timedelta(hours=hours)
    volume, measured = history(engine, since, hours)
    charts = [
        line_chart(f"Predictions and outcomes, last {hours:g} h", volume),
        line_chart(f"{QUALITY} on outcomes by model version, last {hours:g} h", measured, low=0.0),
    ]
    summary = f"Model {served.version if served else '(not loaded)'}; the last {hours:g} hours."
    if served is not None and comparison is not None:
        charts.insert(0, verdict(engine, served.version, comparison, since))
    if served is not None:
        drifted = drift(engine, since, served)
        bars = []
        if drifted.report is not None:
            items = [*drifted.report.features, drifted.report.predictions]
            bars = [(item.feature, item.psi, item.status) for item in items]
        note = (
            ""
            if drifted.enough_data
            else f" (fewer than {drifted.minimum_rows} predictions: noise)"
        )
        charts.append(bar_chart(f"Drift against the training data: PSI per feature{note}", bars))
        summary += (
            f" Drift on {drifted.rows} predictions of this model in the window"
            f" (the newest, {DRIFT_MAX_ROWS:,} at most)."
        )
    return (
        PAGE.replace("__TITLE__", escape(title))
        .replace("__SUMMARY__", escape(summary))
        .replace("__CHARTS__", "\n".join(charts))
    )
