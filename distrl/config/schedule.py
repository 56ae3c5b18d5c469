"""Schedules of hyperparameters over the run's step budget, as config values (see
:mod:`distrl.schedules` for the forms and their meaning)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from distrl.config.fields import ConfigError

KINDS = ("linear", "cosine")
# The end of a schedulable key's help text.
SCHEDULABLE = "; a number, lin_X or {schedule: linear|cosine, start, end} over max_steps"
_ZOO = re.compile(r"^lin_([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)$")


@dataclass(frozen=True)
class Schedule:
    """``start`` at progress 0 to ``end`` at progress 1, linearly or along half a cosine."""

    schedule: str
    start: float
    end: float = 0.0

    def at(self, progress: float) -> float:
        p = min(max(progress, 0.0), 1.0)
        if self.schedule == "linear":
            return self.start + (self.end - self.start) * p
        return self.end + (self.start - self.end) * 0.5 * (1.0 + math.cos(math.pi * p))


def parse_schedule(value: Any, key: str) -> float | Schedule:
    """A config value: a number (constant), ``lin_X`` or ``{schedule, start, end}``."""
    if isinstance(value, Schedule):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        zoo = _ZOO.match(value.strip())
        if zoo:
            return Schedule("linear", float(zoo.group(1)), 0.0)
        try:
            return float(value)
        except ValueError:
            pass
    if isinstance(value, dict) and set(value) <= {"schedule", "start", "end"} and {
        "schedule", "start"} <= set(value):  # fmt: skip
        kind, start, end = value["schedule"], value["start"], value.get("end", 0.0)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (start, end))
        if kind in KINDS and numbers:
            return Schedule(kind, float(start), float(end))
    raise ConfigError(
        f"{key} must be a number, lin_X (linear from X to 0) or "
        f"{{schedule: linear|cosine, start: X, end: Y}}; got {value!r}"
    )


def check_schedule(key: str, value: float | Schedule, low: float, *, strict: bool) -> None:
    """A constant ``> low`` (``>= low`` unless ``strict``); a schedule starts so and ends at
    ``>= low`` (the zoo's ``lin_X`` ends at 0)."""
    if isinstance(value, Schedule):
        ok = (value.start > low if strict else value.start >= low) and value.end >= low
    else:
        ok = value > low if strict else value >= low
    if not ok:
        raise ConfigError(f"{key} must be {'>' if strict else '>='} {low:g}; got {value}")
