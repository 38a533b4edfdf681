"""Keep only the chosen license and print the next steps (files only: no network, no subprocess)."""

import json
import shutil
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")


def install_license(project: Path, license_name: str) -> None:
    """Move the chosen license text to LICENSE and drop the others."""
    licenses = project / "licenses"
    (licenses / license_name).replace(project / "LICENSE")
    shutil.rmtree(licenses)


def print_next_steps(answers: dict[str, str]) -> None:
    print(
        f"\nCreated {answers['project_slug']}/. Next steps:\n"
        f"  cd {answers['project_slug']}/model-package\n"
        "  python -m pip install 'tox>=4'\n"
        "  tox -e test_package   # train the model and run its tests\n"
        "  tox -e build          # build the wheel that carries the trained model\n"
        "The README.md of the project explains the rest; its section 'Replace the example model'\n"
        "turns the Titanic example into your own model.\n"
    )


def main() -> None:
    install_license(Path.cwd(), ANSWERS["open_source_license"])
    print_next_steps(ANSWERS)


if __name__ == "__main__":
    main()
