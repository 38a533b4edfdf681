"""The promotion gate (`tox -e gate`): is the trained model at least as good as the published one?

    MODEL_INDEX_URL=https://<user>:<token>@<private-index>/simple/ tox -e gate
    GATE_OVERRIDE_REASON="why" tox -e gate    # let a worse model through, on the record

1. The candidate is the model trained in this tree (tox -e gate first checks that it fits
   config.yml and the data).
2. The published model is the newest version on MODEL_INDEX_URL below the candidate's. Its wheel
   comes from that index alone (pip download, which checks its sha256) and goes into a throwaway
   environment, with its own dependencies from the usual index. When the candidate's own version
   is already on the index, that one must score exactly as the candidate does: a published
   version is never replaced, so a changed model needs a new VERSION.
3. Each model scores the candidate's holdout (data/prepared/holdout.jsonl) through its own
   package's make_prediction, and both are measured by the same code on the rows both scored.
4. The metrics of config.yml's gate section are compared: worse than its tolerance fails (exit 1),
   unless GATE_OVERRIDE_REASON says why to release anyway. A passed or overridden decision is
   written into the candidate's metadata and model card, which the build then ships.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parents[1]
HOLDOUT = ROOT / "data" / "prepared" / "holdout.jsonl"
OVERRIDE = "GATE_OVERRIDE_REASON"
# Answers this close, relative to their size (at least 1), are one model (ONNX computes in
# float32); anything else is another (release.largest_difference).
SAME_MODEL = 1e-5


def distribution() -> str:
    """The candidate's distribution name (imported late: the --score mode runs this file in the
    published model's environment, whose package may predate the name)."""
    from {{ cookiecutter.package_name }} import DISTRIBUTION

    return DISTRIBUTION


class GateError(ValueError):
    """The gate cannot decide: its message says what to fix (as the package's own ValueErrors
    do)."""


def score_holdout(holdout: Path) -> dict[str, Any]:
    """The installed package's answers for every holdout record (probabilities, or values and
    intervals), through its public contract alone: this runs inside the published model's
    environment as well, whose package may predate regressions."""
    import {{ cookiecutter.package_name }} as model

    rows = [json.loads(line) for line in holdout.read_text(encoding="utf-8").splitlines()]
    metadata = model.load_model()
    result = model.make_prediction([row["record"] for row in rows])
    return {
        "version": model.__version__,
        "classes": list(model.CLASSES),
        "data_sha256": metadata.data_sha256,
        # the harvest it also trained on; a package without logged rows has none
        "logged_sha256": getattr(getattr(metadata, "logged", None), "sha256", None),
        "libraries": getattr(metadata, "libraries", {}),  # recorded since the model card came
        "probabilities": result.probabilities,
        "values": getattr(result, "values", []),
        "intervals": getattr(result, "intervals", []),
    }


def answers(scored: dict[str, Any], classes: list[str]) -> list[list[float] | None]:
    """Each holdout record's numbers: the probabilities in `classes` order, or (no classes: a
    regression) the value and its interval's ends; None for a record the model refused."""
    if not classes:
        pairs = zip(scored["values"], scored["intervals"], strict=True)
        return [None if value is None else [value, *ends] for value, ends in pairs]
    return [
        None if row is None else [row[name] for name in classes] for row in scored["probabilities"]
    ]


def redacted(url: str) -> str:
    """The URL without its credentials, for messages."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"****@{host}" if "@" in parts.netloc else host))


def fetch(url: str) -> bytes:
    """GET with the URL's credentials as basic auth, as pip sends them (a lone token is the user);
    never passed on to a host the index redirects to."""
    parts = urlsplit(url)
    request = Request(urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])))
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        token = base64.b64encode(pair.encode()).decode("ascii")
        request.add_unredirected_header("Authorization", f"Basic {token}")
    with urlopen(request, timeout=60) as response:
        body: bytes = response.read()
        return body


# Package sources pip would add from the environment besides the index named.
OTHER_SOURCES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")


def published_wheel(index_url: str, requirement: str, folder: Path) -> Path | None:
    """The newest wheel on the private index alone that meets `requirement`, fetched by pip (which
    checks the sha256 the index lists); None when the index has no such version."""
    environment = {key: value for key, value in os.environ.items() if key not in OTHER_SOURCES}
    environment["PIP_CONFIG_FILE"] = os.devnull  # no extra index from a config file either
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--pre", "--no-input"]
    command += ["--disable-pip-version-check", "--only-binary", ":all:", "--dest", str(folder)]
    command += ["--index-url", index_url, requirement]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode == 0:
        (wheel,) = folder.glob("*.whl")
        return wheel
    if "(from versions:" not in done.stderr:  # not an answer about versions: the index failed
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise GateError(f"pip could not read the index at {redacted(index_url)}: {last}")
    # No such version, or a wrong URL: only an index that answers at its root proves the first.
    try:
        fetch(index_url.rstrip("/") + "/")
    except (HTTPError, URLError, OSError) as error:
        raise GateError(
            f"{redacted(index_url)} does not answer ({error}): MODEL_INDEX_URL must be the "
            "simple index's root URL (the one pip takes as --index-url), with its credentials"
        ) from error
    return None


def score_published(wheel: Path, folder: Path) -> dict[str, Any]:
    """Install a published wheel in a throwaway environment and score the holdout with it."""
    from packaging.utils import parse_wheel_filename

    version = str(parse_wheel_filename(wheel.name)[1])
    print(f"Gate: installing the published {distribution()} {version}")
    scored = score_in_environment(wheel, folder)
    if scored["version"] != version:
        raise GateError(f"the throwaway environment ran {scored['version']}, not {version}")
    return scored


def score_in_environment(wheel: Path, folder: Path) -> dict[str, Any]:
    environment = folder / "env"
    python = environment / "bin" / "python"
    uv = [sys.executable, "-m", "uv"]
    steps = [
        [*uv, "venv", "--quiet", "--python", sys.executable, str(environment)],
        # The model from its downloaded file; its dependencies from the usual index.
        [*uv, "pip", "install", "--quiet", "--python", str(python), str(wheel)],
    ]
    for step in steps:
        if subprocess.run(step, check=False).returncode:
            raise GateError(f"could not install {wheel.name} in a throwaway environment")
    output = folder / "published.json"
    command = [str(python), __file__, "--score", str(HOLDOUT), str(output)]
    # From the throwaway folder and without PYTHONPATH: the candidate must not be imported instead.
    clean = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if subprocess.run(command, cwd=folder, env=clean, check=False).returncode:
        raise GateError(f"the published {wheel.name} failed to score the holdout (see above)")
    scored: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return scored


def check_already_published(wheel: Path, folder: Path, version: str) -> None:
    """The candidate's version is on the index: it must be this very model, not a changed one."""
    from {{ cookiecutter.package_name }}.release import largest_difference

    published = score_published(wheel, folder)
    candidate = score_holdout(HOLDOUT)
    classes = candidate["classes"]
    largest = float("inf")
    if sorted(published["classes"]) == sorted(classes):
        largest = largest_difference(answers(published, classes), answers(candidate, classes))
    if largest > SAME_MODEL:
        changed = {
            name: f"{published['libraries'].get(name)} -> {wanted}"
            for name, wanted in candidate["libraries"].items()
            if published["libraries"].get(name) != wanted
        }
        raise GateError(
            f"version {version} is already on the index with another model (answers differ "
            f"by up to {largest:.3g}, relative, on the holdout; library versions changed: "
            f"{changed or 'none'}). A published version is never replaced: bump VERSION to "
            "release this model"
        )
    print(
        f"Gate: {version} is already on the index and scores the holdout as this model does "
        f"(largest difference {largest:.1g}): nothing new to publish"
    )


def kind(classes: list[str]) -> str:
    """What a model predicts, by its classes (a regression has none)."""
    return f"the classes {classes}" if classes else "numbers"


def compare(published: dict[str, Any], candidate: dict[str, Any]) -> tuple[list[int], Any, Any]:
    """The holdout rows both models scored, and each model's metrics on them."""
    from {{ cookiecutter.package_name }}.release import shared_metrics

    classes = candidate["classes"]
    if sorted(published["classes"]) != sorted(classes):
        raise GateError(
            f"the published {published['version']} predicts {kind(published['classes'])}, the "
            f"candidate {kind(classes)}: no like-for-like comparison"
        )
    targets = [json.loads(line)["target"] for line in HOLDOUT.read_text("utf-8").splitlines()]
    old, new = answers(published, classes), answers(candidate, classes)
    return shared_metrics(old, new, targets, classes)


def decide(index_url: str, reason: str | None, folder: Path) -> None:
    """Compare the candidate with the newest published version below it, record the decision."""
    from {{ cookiecutter.package_name }} import __version__, release
    from {{ cookiecutter.package_name }}.results import GateRecord

    name = distribution()
    release.record_gate(None)  # an earlier decision never outlives this run: a pass is written back
    if same := published_wheel(index_url, f"{name}=={__version__}", folder / "same"):
        check_already_published(same, folder, __version__)
        return
    wheel = published_wheel(index_url, f"{name}<{__version__}", folder / "below")
    if wheel is None:
        print(f"Gate: no version of {name} below {__version__} on the index: first release")
        first: dict[str, Any] = {"published_version": None, "rows": 0, "comparisons": []}
        first |= {"published_data_sha256": None, "passed": True, "override_reason": None}
        release.record_gate(GateRecord(checked_at=datetime.now(UTC), **first))
        return
    published = score_published(wheel, folder)
    candidate = score_holdout(HOLDOUT)
    both, old_metrics, new_metrics = compare(published, candidate)
    comparisons = release.gate_comparisons(old_metrics, new_metrics)
    newest = published["version"]
    print(f"\nGate: {name} {__version__} (candidate) against {newest} (the newest published)")
    hashes = (published["data_sha256"], candidate["data_sha256"])
    rows = (len(both), len(answers(candidate, candidate["classes"])))
    logged = (published["logged_sha256"], candidate["logged_sha256"])
    versions = (newest, __version__)
    print(release.gate_table(versions, old_metrics, new_metrics, rows, hashes, logged=logged))
    passed = all(item.passed for item in comparisons)
    if passed and reason:
        print(f"Gate: passed; {OVERRIDE} is not needed and is not recorded")
        reason = None
    if not passed and not reason:
        worse = ", ".join(item.metric for item in comparisons if not item.passed)
        raise GateError(
            f"the candidate {__version__} is worse than the published {newest} beyond the "
            f"tolerance on {worse}. Improve the model, change config.yml's gate section in a "
            f'reviewed commit, or release it anyway with {OVERRIDE}="why" (recorded in its '
            "metadata and model card)"
        )
    release.record_gate(
        GateRecord(
            checked_at=datetime.now(UTC),
            published_version=newest,
            rows=len(both),
            comparisons=comparisons,
            published_data_sha256=published["data_sha256"],
            passed=passed,
            override_reason=reason,
        )
    )
    if passed:
        print(f"Gate passed: recorded in the metadata and model card of {__version__}")
    else:
        print(f"Gate failed and OVERRIDDEN ({OVERRIDE}: {reason}): recorded in metadata and card")


def main() -> None:
    index_url = os.environ.get("MODEL_INDEX_URL", "").strip()
    if not index_url:
        raise GateError(
            "MODEL_INDEX_URL is not set: set it to the simple URL of the private index, with its "
            "credentials, to compare with the published model"
        )
    if not HOLDOUT.is_file():
        raise GateError(f"{HOLDOUT}: missing; train the model first (tox -e train)")
    reason = os.environ.get(OVERRIDE, "").strip() or None
    with tempfile.TemporaryDirectory(prefix="gate-") as folder:
        decide(index_url, reason, Path(folder))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--score"]:
        _, _, holdout, output = sys.argv
        Path(output).write_text(json.dumps(score_holdout(Path(holdout))), encoding="utf-8")
    else:
        try:
            main()
        except ValueError as error:  # GateError, or the package's: each says what to fix
            sys.exit(f"Gate failed: {error}")
