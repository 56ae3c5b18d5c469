"""The pieces every config section is made of: the error type, help-carrying fields, checks.

Kept apart from the sections themselves so that an algorithm's own section
(``distrl/agents/<algo>/config.py``) can use them without importing the rest of the config.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import field
from typing import Any


class ConfigError(ValueError):
    """A configuration problem, phrased as one line that names the offending key."""


def setting(default: Any, help: str, *, flag: str | None = None) -> Any:
    """A dataclass field with a help text (shown by ``--help``, ``--help-keys`` and the docs).

    ``flag``: the command-line flag that sets this key (``"checkpoint-dir"`` for
    ``--checkpoint-dir``); a key of the top level is always its own flag.
    """
    if isinstance(default, list | dict):
        raise TypeError("use tuples for defaults: configs are frozen")
    metadata = {"help": help} if flag is None else {"help": help, "flag": flag}
    return field(default=default, metadata=metadata)


def check(ok: bool, message: str) -> None:
    """Raise ``ConfigError(message)`` unless ``ok``."""
    if not ok:
        raise ConfigError(message)


def check_choice(key: str, value: Any, choices: Iterable[str]) -> None:
    """``value`` is one of ``choices``; else one line listing them."""
    options = tuple(choices)
    check(value in options, f"{key} must be one of {', '.join(options)}; got {value!r}")


def check_sizes(key: str, sizes: tuple[int, ...]) -> None:
    """A non-empty tuple of positive layer sizes."""
    check(
        len(sizes) > 0 and all(h > 0 for h in sizes),
        f"{key} must be positive layer sizes; got {list(sizes)}",
    )


def check_at_least(key: str, value: float | None, low: float, *, strict: bool = False) -> None:
    """``value >= low`` (``> low`` if ``strict``), or None; else one line naming ``key``."""
    if value is None:
        return
    ok = value > low if strict else value >= low
    check(ok, f"{key} must be {'>' if strict else '>='} {low:g}; got {value}")


def factory_name(factory: Any) -> str:
    """The name a run made from an env factory goes by (its ``env``, in its folder's name)."""
    name = getattr(factory, "__name__", type(factory).__name__)
    return "lambda" if name == "<lambda>" else name
