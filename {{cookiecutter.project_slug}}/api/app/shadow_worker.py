"""The challenger's worker: run as a script by the challenger's own interpreter (app/challenger.py).

Two versions of one distribution cannot share a Python process, so the challenger's version is
installed in an environment of its own, and this script, which imports nothing of the API, scores
records there with the package's public contract. One JSON line in ({"records": [...]}), one JSON
line out: the package's PredictionResult, or {"error": "..."} when the batch failed. The first
line out says which version and task loaded, or why none did.
"""

import json
import sys


def main() -> None:
    try:
        import {{ cookiecutter.package_name }} as model  # inside: its failure is the reply

        model.load_model()
    except Exception as error:  # noqa: BLE001 - any failure is the challenger's state
        answer({"error": f"the challenger cannot load: {type(error).__name__}: {error}"})
        return
    answer({"version": model.__version__, "task": model.TASK})
    for line in sys.stdin:
        try:
            result = model.make_prediction(json.loads(line)["records"])
        except Exception as error:  # noqa: BLE001 - a failed batch is counted, never fatal
            answer({"error": f"{type(error).__name__}: {error}"})
        else:
            sys.stdout.write(result.model_dump_json() + "\n")
            sys.stdout.flush()


def answer(message: dict[str, str]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
