"""The generated READMEs: short, their links resolve, and their commands run as written."""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import READMES
from helpers import (
    NOT_RUN_HERE,
    golden_path,
    ran_as_written,
    readme_commands,
    readme_environment,
    run,
    run_as_written,
)

ROOT_README_LINES = 150


def anchors(readme: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    headings = re.findall(r"^#+ (.+)$", readme.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_the_readmes_are_short_and_their_links_resolve(cookies) -> None:
    result = cookies.bake()
    project = Path(result.project_path)
    root = (project / "README.md").read_text(encoding="utf-8")
    assert len(root.splitlines()) <= ROOT_README_LINES
    for name in READMES:
        readme = project / name
        for target in re.findall(r"\]\((?!https?:)([^)]+)\)", readme.read_text(encoding="utf-8")):
            path, _, anchor = target.partition("#")
            linked = (readme.parent / path).resolve() if path else readme
            assert linked.is_file(), f"{name} links to {target}: no such file"
            if anchor:
                assert anchor in anchors(linked), f"{name} links to {target}: no such heading"


def test_every_excuse_names_a_readme_command(cookies) -> None:
    """Each command NOT_RUN_HERE excuses from running as written is still in a README (the slow
    tier runs all the others, and says so at its end)."""
    project = Path(cookies.bake().project_path)
    commands = [command for name in READMES for command in readme_commands(project / name)]
    for pattern in NOT_RUN_HERE:
        assert any(re.search(pattern, command) for command in commands), pattern


@pytest.mark.slow
def test_the_quick_start_serves(baked_project: Path, quick_start: str) -> None:
    """The quick start's last command, as written: the API on the model just built, answering
    /ready; stopped with SIGTERM to its process group, it leaves nothing serving the port."""
    command = readme_commands(baked_project / "README.md")[-1]
    assert command == "tox -e serve"
    port = golden_path.free_port()
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=baked_project,
        env=readme_environment(PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/ready"
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()[-3000:]
                assert time.monotonic() < deadline, "tox -e serve did not answer in 10 minutes"
                time.sleep(1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    time.sleep(1)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "something still serves the port"
    ran_as_written([command])


@pytest.mark.slow
def test_format_fixes_what_lint_refuses(cookies) -> None:
    """The root README's `tox -e format` sorts imports, drops unused ones and formats, in both
    parts, until each part's `tox -e lint` passes."""
    project = Path(cookies.bake().project_path)  # a bake of its own: this test edits it
    assert "`tox -e format`" in (project / "README.md").read_text(encoding="utf-8")
    untidy = "import sys\nimport os\nvalues = {  'a':1 }\nprint( values, sys.argv )\n"
    for part in ("model-package", "api"):
        (project / part / "scripts" / "untidy.py").write_text(untidy, encoding="utf-8")
    environment = readme_environment()
    refused = subprocess.run(
        ["tox", "-c", "api", "-e", "lint"],
        cwd=project,
        env=environment,
        capture_output=True,
        check=False,
    )
    assert refused.returncode != 0
    run_as_written(["tox -e format"], cwd=project, env=environment)
    for part in ("model-package", "api"):
        run(["tox", "-e", "lint"], cwd=project / part, env=environment)
        tidy = (project / part / "scripts" / "untidy.py").read_text(encoding="utf-8")
        assert tidy == 'import sys\n\nvalues = {"a": 1}\nprint(values, sys.argv)\n'
