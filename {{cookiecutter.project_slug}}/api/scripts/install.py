"""Install the API's dependencies, taking the model package from the private index only.

Step 1 installs the pinned model package (requirements-model.txt) with --no-deps from
MODEL_INDEX_URL as the only index, so a package of the same name on a public index can never be
chosen (dependency confusion). Step 2 installs requirements.txt and the model's own declared
dependencies from the usual index.

    MODEL_INDEX_URL=https://<token>@<private-index>/<account>/ python scripts/install.py
    MODEL_WHEEL=../model-package/dist/<wheel> python scripts/install.py   # a local build instead
"""

import importlib.util
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

API_ROOT = Path(__file__).resolve().parents[1]


def pinned_model() -> tuple[str, str]:
    """(distribution, version) from the one `name==version` line of requirements-model.txt."""
    lines = (API_ROOT / "requirements-model.txt").read_text().splitlines()
    (pin,) = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    name, version = pin.split("==")
    return name.strip(), version.strip()


# Other package sources that pip or uv would otherwise add from the environment.
OTHER_SOURCES = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
)


def installer() -> list[str]:
    """uv when the environment has it (seconds), else pip; both honour the same options."""
    if importlib.util.find_spec("uv"):
        return [sys.executable, "-m", "uv", "pip", "install", "--python", sys.executable]
    return [sys.executable, "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]


def reinstall() -> str:
    """The installer's flag that replaces an installed package of the same version."""
    return "--reinstall" if "uv" in installer() else "--force-reinstall"


def run_isolated(arguments: list[str]) -> int:
    """Install with no package source but the ones named: no config files, no index variables.

    `--index-url` alone is not enough: pip still adds extra-index-url and find-links from its
    config files and PIP_* variables, and any of them could serve a decoy of the model package.
    """
    environment = {key: value for key, value in os.environ.items() if key not in OTHER_SOURCES}
    environment["PIP_CONFIG_FILE"] = os.devnull
    command = installer()
    if "uv" in command:
        command.append("--no-config")
    return subprocess.run([*command, *arguments], env=environment, check=False).returncode


def fail(message: str) -> None:
    print(f"install.py: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    name, version = pinned_model()
    wheel = os.environ.get("MODEL_WHEEL", "").strip()
    index_url = os.environ.get("MODEL_INDEX_URL", "").strip()
    if wheel:
        # A rebuilt wheel keeps its version: replace what an earlier build installed.
        source = [reinstall(), wheel]
    elif index_url:
        source = ["--index-url", index_url, f"{name}=={version}"]
    else:
        fail(
            "MODEL_INDEX_URL is not set: set it to the URL of the private package index that "
            f"serves {name}, with its credentials (or MODEL_WHEEL to a locally built wheel)"
        )
    # Step 1: the model package alone, from the private index alone.
    if run_isolated(["--no-deps", *source]):
        fail(f"could not install {name}=={version}; check MODEL_INDEX_URL and its credentials")
    installed = metadata.version(name)
    if installed != version:
        fail(f"installed {name} {installed}, but requirements-model.txt pins {version}")
    # Step 2: everything else from the usual index, the model's dependencies included.
    dependencies = [req for req in metadata.requires(name) or [] if "extra ==" not in req]
    requirements = ["-r", str(API_ROOT / "requirements.txt"), *dependencies]
    if subprocess.run([*installer(), *requirements], check=False).returncode:
        fail("could not install the API's dependencies")


if __name__ == "__main__":
    main()
