"""The synchronous loop: sample on all workers with one weights version, update, broadcast."""

from __future__ import annotations

from collections.abc import Callable

from distrl.ops.tracking import StopRule, TrainingState
from distrl.runtime.backend import Backend


def run_sync(
    backend: Backend,
    state: TrainingState,
    stop: StopRule,
    on_update: Callable[[TrainingState], None] = lambda state: None,
) -> str:
    """Train until ``stop`` fires; returns its reason. ``state`` is updated in place, so a caller
    that catches KeyboardInterrupt still holds the counters so far."""
    weights = backend.initial_weights()
    while True:
        # Every worker acts with the same version; the update waits for all of them.
        fragments = [backend.submit(i, weights) for i in backend.active_workers()]
        result, weights = backend.update(fragments)
        state.record(result)
        on_update(state)
        reason = stop.check(state)
        if reason is not None:
            return reason
