"""Install the API's dependencies, taking the model package from the private index only.

Step 1 installs the model package at the version of model-package's VERSION (the one place a
model version is set) with --no-deps from MODEL_INDEX_URL as the only index, so a package of the
same name on a public index can never be chosen (dependency confusion). Step 2 installs
requirements.txt from the usual index with --require-hashes: the lock of the API's dependencies and
the model package's, exact versions with their hashes (tox -e lock). Then it checks that the model
package's declared dependencies are met by the lock, and writes the bytecode of the environment.
Step 3, when challenger.yml names a challenger, installs that version the same two ways into an
environment of its own, .challenger/ (two versions of one package cannot share an interpreter).
A challenger that cannot be installed is reported and left out: the service serves the champion,
and /ready says why the challenger is missing.

    MODEL_INDEX_URL=https://<token>@<private-index>/<account>/ python scripts/install.py
    MODEL_WHEEL=../model-package/dist python scripts/install.py   # a local build instead
"""

import compileall
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import NoReturn

API_ROOT = Path(__file__).resolve().parents[1]
CHALLENGER_FILE = API_ROOT / "challenger.yml"
CHALLENGER_ENV = API_ROOT / ".challenger"  # app/config.py's challenger_python lives here
# Installed packages' own test suites, never imported by the service.
TESTS_FOLDER = re.compile(r"site-packages[\\/](?:[^\\/]+[\\/])*tests?[\\/]")
DISTRIBUTION = {{ cookiecutter.distribution_name | tojson }}
# The model version served is the model package's own VERSION. A build that sees only api/
# (Railway's upload, a Docker context) reads the copy CI's deploy job stamps into MODEL_VERSION.
VERSION_FILES = (
    API_ROOT.parent / "model-package" / {{ cookiecutter.package_name | tojson }} / "VERSION",
    API_ROOT / "MODEL_VERSION",
)


def pinned_model() -> tuple[str, str]:
    """(distribution, version): the model package's VERSION, from the first file that exists."""
    for path in VERSION_FILES:
        if path.is_file():
            return DISTRIBUTION, path.read_text(encoding="utf-8").strip()
    fail(
        f"no model version: neither {VERSION_FILES[0]} nor {VERSION_FILES[1]} exists; build "
        "from the repository, or copy model-package's VERSION to api/MODEL_VERSION first"
    )


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


def installer(python: str = sys.executable) -> list[str]:
    """uv when this environment has it (seconds), else pip; both honour the same options."""
    if importlib.util.find_spec("uv"):
        return [sys.executable, "-m", "uv", "pip", "install", "--python", python]
    return [python, "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]


def reinstall() -> str:
    """The installer's flag that replaces an installed package of the same version."""
    return "--reinstall" if "uv" in installer() else "--force-reinstall"


def run_isolated(arguments: list[str], python: str = sys.executable) -> int:
    """Install with no package source but the ones named: no config files, no index variables.

    `--index-url` alone is not enough: pip still adds extra-index-url and find-links from its
    config files and PIP_* variables, and any of them could serve a decoy of the model package.
    """
    environment = {key: value for key, value in os.environ.items() if key not in OTHER_SOURCES}
    environment["PIP_CONFIG_FILE"] = os.devnull
    command = installer(python)
    if "uv" in command:
        command.append("--no-config")
    return subprocess.run([*command, *arguments], env=environment, check=False).returncode


def local_wheel(path: Path, name: str, version: str) -> str:
    """MODEL_WHEEL's wheel: the file itself, or in a folder of builds (model-package/dist) the
    wheel of `name` at `version`, so that no command names a file that a version bump renames."""
    if not path.is_dir():
        return str(path)
    stem = re.sub(r"[-_.]+", "_", name).lower()
    found = sorted(path.glob(f"{stem}-{version}-*.whl"))
    if not found:
        fail(
            f"no wheel of {name} {version} in {path}: build it first "
            "(in model-package/: tox -e build)"
        )
    return str(found[-1])


def fail(message: str) -> NoReturn:
    print(f"install.py: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    name, version = pinned_model()
    install_model(name, version, sys.executable)
    compile_bytecode()
    if challenger := challenger_version():
        install_challenger(name, challenger)


def model_source(name: str, version: str) -> list[str]:
    """The installer's arguments for `name` at `version`: MODEL_WHEEL's wheel, or the index."""
    wheel = os.environ.get("MODEL_WHEEL", "").strip()
    index_url = os.environ.get("MODEL_INDEX_URL", "").strip()
    if wheel:
        # A rebuilt wheel keeps its version: replace what an earlier build installed.
        return [reinstall(), local_wheel(Path(wheel), name, version)]
    if index_url:
        return ["--index-url", index_url, f"{name}=={version}"]
    fail(
        "MODEL_INDEX_URL is not set: set it to the URL of the private package index that "
        f"serves {name}, with its credentials (or MODEL_WHEEL to a locally built wheel)"
    )


def install_model(name: str, version: str, python: str) -> None:
    """Steps 1 and 2 into the environment of `python`; exits with the reason on failure."""
    # Step 1: the model package alone, from the private index alone.
    if run_isolated(["--no-deps", *model_source(name, version)], python):
        fail(
            f"could not install {name}=={version}: check MODEL_INDEX_URL and its credentials, and "
            "that this version is published (CI publishes a new VERSION from the default branch; "
            "to try a local build, set MODEL_WHEEL to its wheel)"
        )
    installed = subprocess.run(
        [python, "-c", f"from importlib.metadata import version; print(version({name!r}))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if installed != version:
        fail(f"installed {name} {installed or 'nothing'}, but {version} was asked for")
    # Step 2: everything else from the usual index, as locked, the model's dependencies included.
    lock = ["--require-hashes", "-r", str(API_ROOT / "requirements.txt")]
    if subprocess.run([*installer(python), *lock], check=False).returncode:
        fail("could not install the API's dependencies from requirements.txt")
    if unmet := unmet_requirements(name, python):
        fail(f"{unmet}; add it to the lock with tox -e lock (requirements.txt)")


def challenger_version() -> str | None:
    """The version challenger.yml names, or None. Read after step 2, which installs PyYAML."""
    if not CHALLENGER_FILE.is_file():
        return None
    importlib.invalidate_caches()
    import yaml  # here: step 2 installs it

    named = yaml.safe_load(CHALLENGER_FILE.read_text(encoding="utf-8")) or {}
    version = named.get("version") if isinstance(named, dict) else None
    if version is not None and not isinstance(version, str):
        fail(f'{CHALLENGER_FILE}: quote the version (version: "{version}"): YAML reads a number')
    return version


def install_challenger(name: str, version: str) -> None:
    """Step 3: the challenger in .challenger/, by steps 1 and 2. A failure is reported, and
    leaves no environment behind: the service serves the champion without it."""
    shutil.rmtree(CHALLENGER_ENV, ignore_errors=True)
    python = str(CHALLENGER_ENV / "bin" / "python")
    made = (
        ["-m", "uv", "venv", "--python", sys.executable] if "uv" in installer() else ["-m", "venv"]
    )
    try:
        subprocess.run([sys.executable, *made, str(CHALLENGER_ENV)], check=True)
        install_model(name, version, python)
    except (SystemExit, subprocess.CalledProcessError):
        shutil.rmtree(CHALLENGER_ENV, ignore_errors=True)
        print(
            f"install.py: the challenger {name} {version} (challenger.yml) was not installed, "
            "for the reason above; the service will serve the champion alone, and /ready says so",
            file=sys.stderr,
        )
    else:
        print(f"install.py: the challenger {name} {version} is in {CHALLENGER_ENV}")


def compile_bytecode() -> None:
    """The bytecode of every module of the environment and the service (where it is: the
    Dockerfile installs before copying app/, and keeps the bytecode of what the service imports
    alone), written now: a new process then starts without compiling all it imports (uv installs
    no bytecode, and PYTHONDONTWRITEBYTECODE keeps Python from saving what it compiles). Files
    already compiled, and packages' own tests, are skipped. A file that does not compile (a
    package's template or test data) is left for Python to report if it is ever imported."""
    paths = sysconfig.get_paths()
    for folder in {Path(paths["purelib"]), Path(paths["platlib"]), API_ROOT / "app"}:
        if folder.is_dir():
            compileall.compile_dir(folder, quiet=2, workers=0, rx=TESTS_FOLDER)


def unmet_requirements(name: str, python: str) -> str:
    """What the installed model package needs that the environment lacks, as pip or uv says it."""
    command = installer(python)
    check = [*command[: command.index("install")], "check"]
    if "uv" in command:
        check += ["--python", python]
    report = subprocess.run(check, capture_output=True, text=True, check=False)
    names = {name.lower(), name.lower().replace("-", "_")}
    lines = (report.stdout + report.stderr).splitlines()
    return "; ".join(line.strip() for line in lines if any(n in line.lower() for n in names))


if __name__ == "__main__":
    main()
