"""The benchmark's table: every figure as measured, then each target with its ratio, met or not."""

import os
from typing import Any

from bench.load import BATCH, THOUSAND

Results = dict[str, Any]
# (target, measured value, the bound it must meet, whether it is a floor or a ceiling)
Target = tuple[str, float, float, str]


def milliseconds(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.3f} / {pair[1]:.3f} ms"


def figures(results: Results, logs: dict[str, Any], writers: list[str]) -> list[tuple[str, str]]:
    """The table's rows: what was measured, as measured."""
    rate = "{:,.0f} req/s".format
    rows = [
        ("in-process make_prediction, 1 record: p50 / p99", milliseconds(results["in-process"])),
        ("HTTP POST /api/v1/predict, 1 record: p50 / p99", milliseconds(results["predict"])),
        ("bare FastAPI POST handler: p50 / p99", milliseconds(results["bare"])),
        ("predict, 16 clients, 1 worker", rate(results["predict 1 worker"])),
        (
            "predict, 16 clients, 1 worker, CPUs shared with wrk",
            rate(results["predict 1 worker, CPUs shared"]),
        ),
        ("predict, 16 clients, 2 workers", rate(results["predict 2 workers"])),
        ("bare, 16 clients, 1 worker", rate(results["bare 1 worker"])),
        ("bare, 16 clients, 2 workers", rate(results["bare 2 workers"])),
        ("model-only route, 16 clients, 1 worker", rate(results["model-only 1 worker"])),
        (f"{THOUSAND:,} records in one HTTP request: p50", f"{results['thousand http']:.2f} ms"),
        *(
            (f"  in-process: {part}", f"{results['thousand ' + part]:.2f} ms")
            for part in ("parse and validate", "predict", "answer")
        ),
        (f"{BATCH:,} records in one HTTP request", f"{results['http batch rate']:,.0f} rows/s"),
        (
            f"{BATCH:,} records in-process make_prediction",
            f"{results['in-process batch rate']:,.0f} rows/s",
        ),
        ("resident memory of one worker after the run", f"{results['memory']:.0f} MB"),
        (
            "predict with a challenger in shadow, 1 record: p50 / p99",
            milliseconds(results["challenger"]),
        ),
        (
            "predict with a challenger in shadow, 16 clients, 1 worker",
            rate(results["challenger 1 worker"]),
        ),
        (
            "  share of those requests the challenger scored",
            f"{results['challenger share']:.0%} (the rest dropped: its queue was full)",
        ),
        ("  challenger's CPU per record scored", f"{results['challenger CPU']:.2f} ms"),
        (
            "  resident memory of the challenger's worker (one per API worker)",
            f"{results['challenger memory']:.0f} MB",
        ),
        *(
            (f"cold start to /ready, {kind}", f"{results[f'cold start {name} bytecode']:.2f} s")
            for name, kind in (("with", "installed bytecode"), ("without", "no bytecode"))
        ),
    ]
    for name in logs:
        rows += [
            (f"predict ({name}), 1 record: p50 / p99", milliseconds(results[name])),
            (f"predict ({name}), 16 clients, 1 worker", rate(results[f"{name} 1 worker"])),
            (
                f"{BATCH:,} records over HTTP ({name})",
                f"{results[name + ' batch rate']:,.0f} rows/s",
            ),
        ]
    for database in writers:
        writer_rate = f"{results['writer ' + database]:,.0f} rows/s"
        rows.append((f"prediction log writer alone, {database}", writer_rate))
    after = f"prediction log after the {BATCH:,}-record requests"
    rows.append((f"{after}, SQLite", results["log SQLite"]))
    if "log on PostgreSQL" in logs:
        rows.append((f"{after}, PostgreSQL", results["log on PostgreSQL log"]))
    return rows


def targets(results: Results, logs: dict[str, Any]) -> tuple[list[Target], list[tuple[str, float]]]:
    """The targets, and the ratios printed without one (the log's cost on 10k-record requests:
    such tables belong to the batch scorer)."""
    met: list[Target] = [
        ("HTTP p50 <= 2x bare p50", results["predict"][0] / results["bare"][0], 2, "<="),
        (
            "2 workers >= 1.8x 1 worker (predict)",  # both sharing the CPUs with wrk
            results["predict 2 workers"] / results["predict 1 worker, CPUs shared"],
            1.8,
            ">=",
        ),
        (
            "10k rows over HTTP >= 0.5x in-process",
            results["http batch rate"] / results["in-process batch rate"],
            0.5,
            ">=",
        ),
        ("worker memory <= 200 MB", results["memory"], 200, "<="),
        (
            "1-worker predict >= 0.7x model-only route",
            results["predict 1 worker"] / results["model-only 1 worker"],
            0.7,
            ">=",
        ),
        (
            f"{THOUSAND:,} records over HTTP <= 2x predict",
            results["thousand http"] / results["thousand predict"],
            2,
            "<=",
        ),
        (
            "challenger in shadow: p50 <= 1.3x without",
            results["challenger"][0] / results["predict"][0],
            1.3,
            "<=",
        ),
        (
            "cold start with bytecode <= 0.6x without",
            results["cold start with bytecode"] / results["cold start without bytecode"],
            0.6,
            "<=",
        ),
    ]
    # The prediction log's cost: SQLite (the rows above) and PostgreSQL against no log at all.
    with_log = {"SQLite": ("predict", "predict 1 worker", "http batch rate")}
    if "log on PostgreSQL" in logs:
        name = "log on PostgreSQL"
        with_log["PostgreSQL"] = (name, f"{name} 1 worker", f"{name} batch rate")
    shown = [
        (
            "challenger in shadow: throughput, x without",
            results["challenger 1 worker"] / results["predict 1 worker"],
        )
    ]
    for database, (latency, rate, batch_rate) in with_log.items():
        off = results["log off"][0]
        met.append(
            (f"log on {database}: p50 <= 1.2x log off", results[latency][0] / off, 1.2, "<=")
        )
        ratio = results[rate] / results["log off 1 worker"]
        met.append((f"log on {database}: throughput >= 0.8x off", ratio, 0.8, ">="))
        shown.append(
            (
                f"log on {database}: 10k rows, x log off",
                results[batch_rate] / results["log off batch rate"],
            )
        )
    return met, shown


def report(rows: list[tuple[str, str]], results: Results, logs: dict[str, Any]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\nServing benchmark ({os.cpu_count()} CPUs, all figures from this run)\n")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print()
    checked, shown = targets(results, logs)
    for target, measured, bound, direction in checked:
        met = measured <= bound if direction == "<=" else measured >= bound
        print(f"  {target:<44} {measured:8.2f}   {'met' if met else 'NOT MET'}")
    for name, measured in shown:
        print(f"  {name:<44} {measured:8.2f}   (no target)")
