"""Bad input that only a Ray actor finds as it starts (an env that cannot be made, a model
builder with the wrong outputs) reaches the driver as the same one-line ConfigError that
``--workers 0`` gives, instead of the actor dying with a traceback on the console."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distrl.config import ConfigError


@dataclass(frozen=True)
class StartFailed:
    """What ``ready()`` returns from an actor whose construction found bad input."""

    message: str


def start_guarded(cls: type) -> type:
    """``cls`` for a Ray actor whose bad input found while it starts (a ConfigError in
    ``__init__``: an env that cannot be made, a model builder with the wrong outputs) reaches
    the driver as that one line: ``ready()`` returns :class:`StartFailed` instead of the actor
    dying with a traceback on the console. The driver raises it (:func:`started`)."""

    class Guarded(cls):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._start_error: str | None = None
            try:
                super().__init__(*args, **kwargs)
            except ConfigError as e:
                self._start_error = str(e)

        def ready(self) -> Any:
            if self._start_error is not None:
                return StartFailed(self._start_error)
            return super().ready()

    Guarded.__name__ = Guarded.__qualname__ = cls.__name__  # Ray names the actor by it
    return Guarded


def started(value: Any) -> Any:
    """An actor's ``ready()`` value, or the ConfigError its construction found."""
    if isinstance(value, StartFailed):
        raise ConfigError(value.message)
    return value
