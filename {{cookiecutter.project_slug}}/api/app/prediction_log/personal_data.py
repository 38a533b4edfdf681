"""How the log stores the model's personal fields (the package's PERSONAL_FIELDS): a keyed hash,
so that equal values still match, or not at all (PERSONAL_DATA)."""

import hmac
import secrets
from typing import Any

from loguru import logger

from {{ cookiecutter.package_name }} import PERSONAL_FIELDS

from app.config import Settings

HASHED = "hmac-sha256:"  # the start of a personal value as the log keeps it


class PersonalData:
    def __init__(self, settings: Settings) -> None:
        self.drop = settings.personal_data == "drop"
        if settings.personal_data_key is not None:
            self.key = settings.personal_data_key.get_secret_value().encode()
        else:
            self.key = secrets.token_bytes(32)
            if PERSONAL_FIELDS and not self.drop:
                logger.warning(
                    "PERSONAL_DATA_KEY is not set: {} are hashed with a key of this process only,"
                    " so equal values will not match across restarts or workers",
                    ", ".join(PERSONAL_FIELDS),
                )

    def mask(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """`inputs`, its personal fields hashed or removed (in place)."""
        for name in PERSONAL_FIELDS:
            if self.drop:
                inputs.pop(name, None)
            elif inputs.get(name) is not None:
                digest = hmac.digest(self.key, str(inputs[name]).encode(), "sha256")
                inputs[name] = HASHED + digest.hex()
        return inputs
