"""The synchronous loop: sample on all workers with one weights version, update, broadcast.

With ``overlap`` the workers sample round k+1 while the learner updates on round k: the update
no longer waits for sampling (nor sampling for the update), at the price of exactly one version
of policy lag on every fragment after the first round, which the learner corrects (V-trace for
A2C; replay-based learners do not mind). Each worker then has two requests queued at most.
"""

from __future__ import annotations

from collections.abc import Callable

from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime.backend import Backend, Experience

IDLE_WAIT_S = 0.5  # with no workers: how long to wait for pushed experience between checks


def run_sync(
    backend: Backend,
    state: TrainingProgress,
    stop: StopRule,
    on_update: Callable[[TrainingProgress], None] = lambda state: None,
    inbox: Experience | None = None,
    *,
    overlap: bool = False,
) -> str:
    """Train until ``stop`` fires; returns its reason. ``state`` is updated in place, so a caller
    that catches KeyboardInterrupt still holds the counters so far.

    ``inbox`` holds experience pushed from outside Ray (the gRPC service): whatever is queued
    joins the next update. With no rollout workers the loop learns from the inbox alone.
    """
    weights = backend.weights()
    ahead: list = []  # with overlap: the next round, already sampling
    while True:
        # Every worker acts with the same version; the update waits for all of them.
        fragments = ahead or [backend.submit(i, weights) for i in backend.active_workers()]
        if overlap:  # queued behind this round: acted with `weights`, learned one version later
            ahead = [backend.submit(i, weights) for i in backend.active_workers()]
        if inbox is not None:
            wait_s = 0.0 if fragments else IDLE_WAIT_S
            fragments += [backend.external(r) for r in inbox.drain(wait_s)]
        if fragments:
            result, weights = backend.update(fragments)
            state.record(result)
        on_update(state)
        reason = stop.check(state)
        if reason is not None:
            return reason
