"""Upload the built distributions to the private index with twine (run by `tox -e publish_model`).

    python scripts/publish.py --check   # before building: are the credentials there?
    python scripts/publish.py           # after building: upload dist/*

twine reads TWINE_REPOSITORY_URL, TWINE_USERNAME and TWINE_PASSWORD from the environment; this
script never prints or stores them.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = {
    "TWINE_REPOSITORY_URL": "the upload URL of the private index",
    "TWINE_USERNAME": "the index user (for a token-only index, the token)",
    "TWINE_PASSWORD": "the password or token",
}


def check_credentials() -> None:
    missing = [name for name in CREDENTIALS if not os.environ.get(name, "").strip()]
    if missing:
        wanted = "; ".join(f"{name}: {CREDENTIALS[name]}" for name in missing)
        sys.exit(f"publish: set {', '.join(missing)} before publishing ({wanted})")


def redact(text: str) -> str:
    """twine's verbose output names the user, which for token-only indexes is the secret."""
    for name in ("TWINE_USERNAME", "TWINE_PASSWORD"):
        if value := os.environ.get(name, "").strip():
            text = text.replace(value, "****")
    return text


def upload() -> None:
    version_file = next(ROOT.glob("*/VERSION"))
    version = version_file.read_text().strip()
    distributions = sorted(str(path) for path in (ROOT / "dist").glob("*"))
    if not distributions:
        sys.exit("publish: dist/ is empty; build first (tox -e publish_model does)")
    # --verbose: the index's reason for a refusal is only in the response body.
    command = [sys.executable, "-m", "twine", "upload", "--non-interactive", "--verbose"]
    completed = subprocess.run(
        [*command, "--disable-progress-bar", *distributions],
        capture_output=True,
        text=True,
        check=False,
    )
    output = redact(completed.stdout + completed.stderr)
    if completed.returncode == 0:
        names = ", ".join(Path(distribution).name for distribution in distributions)
        print(f"publish: uploaded version {version}: {names}")
        return
    flat = " ".join(output.lower().split())
    if "409 conflict" in flat or "already exist" in flat:
        sys.exit(
            f"publish: version {version} is already on the index and a version cannot be "
            f"replaced; bump {version_file.relative_to(ROOT)} and publish again"
        )
    print(output, file=sys.stderr)
    sys.exit(f"publish: twine upload failed with exit status {completed.returncode}")


if __name__ == "__main__":
    check_credentials()
    if "--check" not in sys.argv[1:]:
        upload()
