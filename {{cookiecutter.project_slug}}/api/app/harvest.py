"""`tox -e harvest`: the logged predictions that got an outcome, as training data.

    tox -e harvest -- --since 2026-11-01 [--until 2026-12-01] [--out PATH] [--if-any]

tox's env imports the model package of this tree (the next model's schema, not the published
one's). It reads the prediction log (DATABASE_URL, or the default SQLite file) and writes the model
package's datasets/logged/logged.csv: one row per scored record that has an outcome, with the
input fields as logged, the outcome as the target column (TARGET), and the LOGGED_PROVENANCE
columns (prediction id, model version, time), which training keeps as provenance only. Beside
it, logged.json (the package's HarvestSummary) says what was left out, and per model version how
many predictions were logged and how many got an outcome: the model card's warning about
feedback-loop bias. config.yml's `logged` rule decides what training takes of it (logged.py).

- Personal fields: the log keeps them as a keyed hash (PERSONAL_DATA=hash) or not at all (drop),
  and so does the harvest. A feature computed from one cannot be rebuilt from that: when a model
  feature changes with the personal fields hashed, the harvest refuses, naming it (a title read
  from a name, say). A required field the log dropped leaves every row out, with that reason.
- Duplicates: a record sent again is recognised by its hashed personal values (with one
  PERSONAL_DATA_KEY, equal values hash alike) and the rest of its inputs: it becomes one row, with
  the outcome that arrived last. Without a hashed personal value nothing tells one person from
  another, and every row is kept.
- Rows whose inputs fail today's InputRecord, and outcomes of the other task (a log from before a
  change of task), are left out and counted by reason.
- No row with an outcome (with --if-any: a message, exit 0), or none that passes (another model's
  log): an error, nothing written.
  Each file is written aside and renamed into place, and the summary carries the CSV's sha256,
  so training refuses a pair that a stopped harvest left mismatched.
- Each harvest replaces the last: rows the log no longer holds (PREDICTION_LOG_RETENTION_DAYS)
  are no longer trained on.
"""

import argparse
import csv
import hashlib
import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from {{ cookiecutter.package_name }} import (
    CLASSES,
    EXAMPLE_RECORD,
    LOGGED_FILE,
    LOGGED_PROVENANCE,
    PERSONAL_FIELDS,
    TARGET,
    HarvestSummary,
    InputRecord,
    model_features,
)

from app.answers import CLASSIFICATION
from app.config import API_ROOT, settings_from_environment
from app.db import SchemaBehindError, check_schema, feedback, make_engine, predictions
from app.prediction_log.personal_data import HASHED

PACKAGE = InputRecord.__module__.partition(".")[0]  # the model package's import name
DEFAULT_OUT = API_ROOT.parent / "model-package" / PACKAGE / "datasets" / LOGGED_FILE


class HarvestError(ValueError):
    """Nothing that today's model can learn from; nothing was written."""


class NoOutcomesError(HarvestError):
    """No logged prediction of the time asked for has an outcome."""


@dataclass
class Harvest:
    """The rows to write, and what the summary says of them."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    versions: dict[str, dict[str, int]] = field(default_factory=dict)

    def summary(
        self, since: datetime | None, until: datetime | None, csv_sha256: str
    ) -> HarvestSummary:
        return HarvestSummary.model_validate(
            {
                "since": since,
                "until": until,
                "harvested_at": datetime.now(UTC),
                "rows": len(self.rows),
                "csv_sha256": csv_sha256,
                "duplicates_merged": self.duplicates,
                "left_out": dict(self.left_out.most_common()),
                "versions": self.versions,
            }
        )


def personal_features() -> list[str]:
    """The model's features that change when the personal fields are hashed, as the log keeps
    them: those cannot be rebuilt from the log."""
    if not PERSONAL_FIELDS:
        return []
    sent = model_features([EXAMPLE_RECORD])
    changed: set[str] = set()
    for digit in "0f":  # two different hashes: a feature may not tell one value from another
        logged = {**EXAMPLE_RECORD, **dict.fromkeys(PERSONAL_FIELDS, HASHED + digit * 64)}
        features = model_features([logged])
        changed |= {name for name, values in features.items() if values != sent[name]}
    return sorted(changed)


def _utc(moment: datetime) -> datetime:
    """SQLite gives times back without their zone; the log writes them in UTC."""
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)


def _window(query: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        query = query.where(predictions.c.created_at >= since)
    if until is not None:
        query = query.where(predictions.c.created_at < until)
    return query


def counts_by_version(
    engine: Engine, since: datetime | None, until: datetime | None
) -> dict[str, dict[str, int]]:
    """Per model version, the logged predictions and how many got an outcome."""
    query = select(
        predictions.c.model_version,
        func.count(predictions.c.id),
        func.count(feedback.c.prediction_id),
    ).outerjoin(feedback, feedback.c.prediction_id == predictions.c.id)
    query = query.where(predictions.c.role == "champion")  # a challenger's shadow is no answer
    query = _window(query, since, until).group_by(predictions.c.model_version)
    with engine.connect() as connection:
        return {
            version: {"predictions": logged, "outcomes": outcomes}
            for version, logged, outcomes in connection.execute(query)
        }


def outcome_of(row: Any) -> tuple[Any, str | None]:
    """The row's outcome as training reads it, or why it is left out."""
    outcome = row.label if CLASSIFICATION else row.value
    if outcome is None:
        return None, "an outcome of the other task (the log predates a change of task)"
    if CLASSIFICATION and outcome not in CLASSES:
        return None, f"the outcome {outcome!r} is not one of today's classes"
    return outcome, None


def problem_with(inputs: Any) -> str | None:
    """Why logged inputs fail today's InputRecord: the first problem, or None. Personal fields the
    log dropped (PERSONAL_DATA=drop), when they are all that is wrong, are named as such."""
    try:
        InputRecord.model_validate(inputs)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False)
        dropped = [str(problem["loc"][0]) for problem in problems if problem["type"] == "missing"]
        if len(dropped) == len(problems) and set(dropped) <= set(PERSONAL_FIELDS):
            return f"{', '.join(dropped)}: required, and not in the log (PERSONAL_DATA=drop)"
        first = problems[0]
        return f"{'.'.join(map(str, first['loc'])) or 'the record'}: {first['msg']}"
    return None


def resend_key(inputs: dict[str, Any]) -> str | None:
    """What a record sent again shares with its first sending: its inputs, a hashed personal
    value among them; None when it has none, and nothing tells two people apart."""
    if any(str(inputs.get(name, "")).startswith(HASHED) for name in PERSONAL_FIELDS):
        return json.dumps(inputs, sort_keys=True)
    return None


def harvest(engine: Engine, since: datetime | None, until: datetime | None) -> Harvest:
    """The logged records with an outcome that today's model can learn from."""
    query = select(
        predictions.c.id,
        predictions.c.model_version,
        predictions.c.created_at,
        predictions.c.inputs,
        feedback.c.label,
        feedback.c.value,
    ).join(feedback, feedback.c.prediction_id == predictions.c.id)
    query = _window(query, since, until).order_by(feedback.c.created_at, predictions.c.id)
    result = Harvest(versions=counts_by_version(engine, since, until))
    kept: dict[str, dict[str, Any]] = {}
    with engine.connect() as connection:
        for row in connection.execute(query):
            outcome, reason = outcome_of(row)
            reason = reason or problem_with(row.inputs)
            if reason:
                result.left_out[reason] += 1
                continue
            key = resend_key(row.inputs) or row.id
            result.duplicates += key in kept
            kept[key] = {
                **row.inputs,
                TARGET: outcome,
                "prediction_id": row.id,
                "model_version": row.model_version,
                "predicted_at": _utc(row.created_at).isoformat(),
            }
    result.rows = sorted(kept.values(), key=lambda row: row["predicted_at"])
    if not result.rows:
        if not result.left_out:
            raise NoOutcomesError(
                "no logged prediction in that time has an outcome: nothing written"
            )
        reasons = "; ".join(f"{count} x {why}" for why, count in result.left_out.most_common(3))
        dropped = all("PERSONAL_DATA=drop" in why for why in result.left_out)
        hint = "retrain without the log" if dropped else "is DATABASE_URL this model's log?"
        raise HarvestError(
            f"none of the {result.left_out.total()} logged predictions with an outcome fits "
            f"today's model ({reasons}): {hint} Nothing written"
        )
    return result


@contextmanager
def replacing(path: Path) -> Iterator[IO[str]]:
    """A file written beside `path` and renamed over it only once complete."""
    folder, prefix = path.parent, f".{path.name}."
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", newline="", dir=folder, prefix=prefix, delete=False
    ) as handle:
        written = Path(handle.name)
        try:
            yield handle
        except BaseException:
            written.unlink()
            raise
    written.chmod(0o644)  # as any file written here, not the temporary file's 0600
    os.replace(written, path)


def write(
    result: Harvest, out: Path, since: datetime | None, until: datetime | None
) -> HarvestSummary:
    """The CSV, then the summary that names its sha256; each replaced whole."""
    columns = [*InputRecord.model_fields, TARGET, *LOGGED_PROVENANCE]
    with replacing(out) as rows:
        writer = csv.DictWriter(rows, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(result.rows)
    summary = result.summary(since, until, hashlib.sha256(out.read_bytes()).hexdigest())
    with replacing(out.with_suffix(".json")) as described:
        described.write(summary.model_dump_json(indent=2) + "\n")
    return summary


def moment(text: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 time, for --since and --until."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2026-11-01) or an ISO 8601 time"
        ) from None
    return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)  # as the log keeps times


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--since", type=moment, help="first prediction time (default: the start)")
    parser.add_argument("--until", type=moment, help="prediction time to stop before")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    parser.add_argument(
        "--if-any", action="store_true", help="no outcome at all is not an error (a schedule's)"
    )
    options = parser.parse_args(arguments)
    if depends := personal_features():
        sys.exit(
            f"harvest: the model's features {depends} are computed from personal fields "
            f"{list(PERSONAL_FIELDS)}, which the log keeps hashed or drops: take them out of "
            "config.yml's features, compute them from other fields, or retrain without the log"
        )
    if not options.out.parent.is_dir():
        sys.exit(f"harvest: {options.out.parent} is not a folder: give --out a file in one")
    url = settings_from_environment().database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        sys.exit(f"harvest: no prediction log at {url}: set DATABASE_URL to the service's")
    engine = make_engine(url)
    try:
        check_schema(engine)
        result = harvest(engine, options.since, options.until)
        summary = write(result, options.out, options.since, options.until)
    except NoOutcomesError as error:
        if not options.if_any:
            sys.exit(f"harvest: {error}")
        print(f"harvest: {error}")
        return
    except (HarvestError, SchemaBehindError) as error:
        sys.exit(f"harvest: {error}")
    except OperationalError as error:
        problem = type(error.orig).__name__
        sys.exit(f"harvest: the database (DATABASE_URL) is unreachable: {problem}")
    finally:
        engine.dispose()
    print(summary.model_dump_json(indent=2))
    print(f"harvest: wrote {summary.rows} rows to {options.out}")


if __name__ == "__main__":
    main()
