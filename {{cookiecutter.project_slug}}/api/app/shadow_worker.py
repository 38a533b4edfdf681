"""The challenger's worker: run as a script by the challenger's own interpreter (app/challenger.py).

Two versions of one distribution cannot share a Python process, so the challenger's version is
installed in an environment of its own, and this script, which imports nothing of the API, scores
records there with the package's public contract. One JSON line in ({"records": [...]}), one JSON
line out: the package's PredictionResult, or {"error": "..."} when the batch failed. The first
line out says which version and task loaded, or why none did. What the package or its libraries
print goes to stderr (the service's log): stdout carries the replies alone.
"""

import json
import os
import sys

REPLIES = os.fdopen(os.dup(sys.stdout.fileno()), "w")


def main() -> None:
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # print() now reaches stderr
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
            REPLIES.write(result.model_dump_json() + "\n")
            REPLIES.flush()


def answer(message: dict[str, str]) -> None:
    REPLIES.write(json.dumps(message) + "\n")
    REPLIES.flush()


if __name__ == "__main__":
    main()
