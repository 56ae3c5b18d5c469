"""What the service shares with the training loop: the inbox, the weights board, run control.

The training loop and gRPC's threads meet only here, through locks and conditions; the learner
is never called from a gRPC thread, so a slow or hostile client cannot stall training.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["Inbox", "RunControl", "StopRequested", "WeightsBoard"]

from distrl.ops.tracking import StopRequested, TrainingProgress
from distrl.types import Rollout, WeightsMessage


class Inbox:
    """Experience pushed by external actors, waiting for the learner; bounded in env steps.

    ``offer`` refuses (returns False) rather than grow past ``capacity_steps``: the service
    answers RESOURCE_EXHAUSTED and the client retries later (backpressure).
    """

    def __init__(self, capacity_steps: int) -> None:
        self.capacity_steps = capacity_steps
        self._items: list[Rollout] = []
        self._steps = 0
        self.accepted_steps = 0  # all told
        self._cond = threading.Condition()

    def offer(self, rollout: Rollout) -> bool:
        with self._cond:
            if self._steps + rollout.env_steps > self.capacity_steps:
                return False
            self._items.append(rollout)
            self._steps += rollout.env_steps
            self.accepted_steps += rollout.env_steps
            self._cond.notify_all()
            return True

    def drain(self, wait_s: float = 0.0) -> list[Rollout]:
        """Everything queued (after waiting up to ``wait_s`` for something, if empty)."""
        with self._cond:
            if not self._items and wait_s > 0:
                self._cond.wait_for(lambda: bool(self._items), timeout=wait_s)
            items, self._items, self._steps = self._items, [], 0
            return items

    @property
    def backlog_steps(self) -> int:
        with self._cond:
            return self._steps


class WeightsBoard:
    """The newest weights version and a handle to it, published by the training loop.

    ``resolve`` turns a handle into a :class:`WeightsMessage` (``ray.get`` for an ObjectRef);
    it runs in the asking thread, once per version.
    """

    def __init__(self, resolve: Callable[[Any], WeightsMessage] = lambda m: m) -> None:
        self._resolve = resolve
        self._version = -1
        self._handle: Any = None
        self._cached: WeightsMessage | None = None
        self._cond = threading.Condition()
        self.closed = False

    def publish(self, version: int, handle: Any) -> None:
        with self._cond:
            if version != self._version or self._handle is None:
                self._version, self._handle = version, handle
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    @property
    def version(self) -> int:
        with self._cond:
            return self._version

    def wake(self) -> None:
        """Wake every waiting ``get`` to look at its ``cancelled`` event again."""
        with self._cond:
            self._cond.notify_all()

    def get(
        self,
        min_version: int = 0,
        timeout: float = 0.0,
        cancelled: threading.Event | None = None,
    ) -> WeightsMessage | None:
        """The newest weights once their version is >= ``min_version``; None on timeout, or
        as soon as ``cancelled`` is set (followed by :meth:`wake`)."""
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    self.closed
                    or (cancelled is not None and cancelled.is_set())
                    or (self._handle is not None and self._version >= min_version)
                ),
                timeout=timeout,
            )
            if self._handle is None or self._version < min_version:
                return None
            version, handle = self._version, self._handle
            cached = self._cached
        if cached is not None and cached.version == version:
            return cached
        message = self._resolve(handle)
        with self._cond:
            if self._cached is None or message.version > self._cached.version:
                self._cached = message
        return message


class RunControl:
    """Run counters for Status, and admin requests handed over to the training loop.

    The loop calls :meth:`observe` after every update (and while idle); requests from gRPC
    threads are carried out there, in the loop's thread.
    """

    def __init__(self, checkpoint: Callable[[TrainingProgress], str] | None) -> None:
        self._checkpoint = checkpoint
        self._pending: list[Future[str]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.snapshot: dict[str, Any] = {}  # the newest counters, for Status

    @property
    def can_checkpoint(self) -> bool:
        return self._checkpoint is not None

    def request_checkpoint(self) -> Future[str]:
        future: Future[str] = Future()
        with self._lock:
            self._pending.append(future)
        return future

    def request_stop(self) -> None:
        self._stop.set()

    def observe(self, state: TrainingProgress) -> None:
        """From the training loop: publish counters, carry out pending requests."""
        with self._lock:
            self.snapshot = {
                "version": state.version,
                "env_steps": state.env_steps,
                "updates": state.updates,
                "episodes": state.episodes,
                "recent_returns": list(state.recent_returns),
                "steps_per_s": state.steps_per_s,
                "at": time.time(),
            }
            pending, self._pending = self._pending, []
        for future in pending:
            try:
                assert self._checkpoint is not None
                future.set_result(self._checkpoint(state))
            except Exception as e:  # reported to the caller; training goes on
                future.set_exception(e)
        if self._stop.is_set():
            raise StopRequested()

    def fail_pending(self, reason: str) -> None:
        """At the end of the run: nothing waits forever for a checkpoint that will not come."""
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.set_exception(RuntimeError(reason))
