"""Prediction ids: unique across workers and restarts, and telling when they were issued."""

import secrets
import time

ID_DIGITS = 32  # 12 hex digits of the time in ms, 20 random ones; then "-<index in the request>"


def new_ids(count: int) -> list[str]:
    """Ids for the `count` records of one request, in order."""
    base = f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"
    return [f"{base}-{index}" for index in range(count)]


def issued_at(prediction_id: str) -> float | None:
    """When an id of ours was issued, as a Unix time; None for an id that is not ours."""
    stamp = prediction_id[:12]
    if len(prediction_id) < ID_DIGITS + 2 or any(char not in "0123456789abcdef" for char in stamp):
        return None
    return int(stamp, 16) / 1000
