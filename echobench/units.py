"""Durations and sizes as people write them: `80ms`, `0.08s`, `4GiB`, `4096MB`.

Each parser returns the value in one unit (seconds, MB) or raises UnitError, whose one
line names the accepted forms. MB here is 2^20 bytes, the unit every PSS figure of
echobench is in (psutil's bytes / 1024 / 1024), so MB and MiB are the same.
"""

from __future__ import annotations

import math
import re

DURATIONS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
SIZES = {"kb": 1 / 1024, "kib": 1 / 1024, "mb": 1.0, "mib": 1.0, "gb": 1024.0, "gib": 1024.0}
_NUMBER = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)"


class UnitError(ValueError):
    """A value that is not a number with one of the accepted units."""


def _split(text: str, units: dict[str, float], what: str, forms: str) -> float:
    found = re.fullmatch(_NUMBER + r"\s*([A-Za-z]+)", str(text).strip())
    unit = found.group(2).lower() if found else None
    if not found or unit not in units:
        raise UnitError(f"{what} {text!r}: give a number with a unit, as {forms}")
    value = float(found.group(1)) * units[unit]
    if not math.isfinite(value):
        raise UnitError(f"{what} {text!r} is not a finite number")
    return value


def duration_s(text: str, what: str = "duration") -> float:
    """Seconds from `80ms`, `0.08s` or `500us` (zero allowed: no CPU, no wait)."""
    return _split(text, DURATIONS, what, "80ms, 0.08s or 500us")


def size_mb(text: str, what: str = "size") -> float:
    """MB (2^20 bytes) from `4GiB`, `4096MB`, `4GB` or `512MiB`."""
    value = _split(text, SIZES, what, "4GiB, 4096MB or 512MiB")
    if value <= 0:
        raise UnitError(f"{what} {text!r} must be more than zero")
    return value
