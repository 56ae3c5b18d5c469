"""A time limit on env calls, for envs that hang (``env_step_timeout``).

A rollout worker steps its envs in its process's main thread (Ray runs an actor's methods
there), so a SIGALRM timer can interrupt a ``step`` or ``reset`` that sleeps, waits on I/O or
loops in Python. An env stuck inside C code that never returns to the interpreter is beyond
its reach; the driver's worker-failure handling is the backstop for that.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from types import FrameType

log = logging.getLogger(__name__)
_OFF = nullcontext()


class EnvStepTimeout(TimeoutError):
    """An env call took longer than ``env_step_timeout``."""


class Deadline:
    """Arms a per-call timer; ``with deadline.armed(): envs.step(a)`` raises EnvStepTimeout.

    ``seconds=None`` (or a process where timers cannot be used) makes it a no-op.
    """

    def __init__(self, seconds: float | None) -> None:
        usable = (
            hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        )
        if seconds is not None and not usable:
            log.warning("env_step_timeout needs the main thread and SIGALRM; it is not enforced")
        self.seconds = seconds if usable else None

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Install the SIGALRM handler for a block of calls (restored afterwards)."""
        if self.seconds is None:
            yield
            return
        previous = signal.signal(signal.SIGALRM, self._expired)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def armed(self) -> AbstractContextManager[None]:
        """One call's time limit (inside ``installed``). Off, it is one shared no-op context:
        the rollout loop enters it on every env step, so it must cost nothing then."""
        return _OFF if self.seconds is None else self._armed(self.seconds)

    @contextmanager
    def _armed(self, seconds: float) -> Iterator[None]:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _expired(self, signum: int, frame: FrameType | None) -> None:
        raise EnvStepTimeout(f"env call took longer than env_step_timeout={self.seconds} s")
