"""Bad input that only a Ray actor finds as it starts (an env that cannot be made, a model
builder with the wrong outputs) reaches the driver as the same one-line ConfigError that
``--workers 0`` gives, instead of the actor dying with a traceback on the console. Any other
exception in an actor's construction reaches it as :class:`ActorStartError`: one line, with
the actor's traceback kept for the run folder's ``error.txt``."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

from distrl.config import ConfigError


@dataclass(frozen=True)
class StartFailed:
    """What ``ready()`` returns from an actor whose construction raised."""

    message: str
    details: str = ""  # the traceback, for anything but bad input
    bad_input: bool = True


class ActorStartError(RuntimeError):
    """An actor's construction raised something other than bad input (one line; ``details``:
    the actor's traceback)."""

    one_line = True

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details

    def __reduce__(self) -> tuple:
        return (ActorStartError, (str(self), self.details))


def start_guarded(cls: type) -> type:
    """``cls`` for a Ray actor whose bad input found while it starts (a ConfigError in
    ``__init__``: an env that cannot be made, a model builder with the wrong outputs) reaches
    the driver as that one line: ``ready()`` returns :class:`StartFailed` instead of the actor
    dying with a traceback on the console. The driver raises it (:func:`started`)."""

    class Guarded(cls):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._start_error: StartFailed | None = None
            try:
                super().__init__(*args, **kwargs)
            except ConfigError as e:
                self._start_error = StartFailed(str(e))
            except Exception as e:
                first = (str(e).strip().splitlines() or [""])[0]
                message = f"{cls.__name__} could not start: {type(e).__name__}: {first}"
                details = "".join(traceback.format_exception(e))
                self._start_error = StartFailed(message, details, bad_input=False)

        def ready(self) -> Any:
            if self._start_error is not None:
                return self._start_error
            return super().ready()

    Guarded.__name__ = Guarded.__qualname__ = cls.__name__  # Ray names the actor by it
    return Guarded


def started(value: Any) -> Any:
    """An actor's ``ready()`` value, or what its construction raised: a ConfigError for bad
    input, else an :class:`ActorStartError`."""
    if isinstance(value, StartFailed):
        if value.bad_input:
            raise ConfigError(value.message)
        raise ActorStartError(value.message, value.details)
    return value
