"""The asynchronous (A3C-style) loop: learn from whichever worker finishes first.

Each worker has exactly one request (a fragment, or its gradients) in flight. When one finishes,
the learner updates on it (with any other fragments that are already done; gradients go one at
a time, as in A3C) and those workers are re-submitted with the newest weights; the others keep
acting meanwhile with the version they were given, which is where policy lag comes from.
Memory is bounded by construction: at most one finished request per worker waits for the
learner, and nothing queues in the driver.
"""

from __future__ import annotations

from collections.abc import Callable

from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime.backend import Backend, Experience
from distrl.runtime.sync_loop import run_sync


def run_async(
    backend: Backend,
    state: TrainingProgress,
    stop: StopRule,
    on_update: Callable[[TrainingProgress], None] = lambda state: None,
    inbox: Experience | None = None,
) -> str:
    """Train until ``stop`` fires; returns its reason (``state`` is updated in place).

    Experience in ``inbox`` (pushed from outside Ray) joins the next update. Without rollout
    workers there is nothing to overlap: the synchronous loop learns from the inbox alone.
    """
    if not backend.active_workers():
        return run_sync(backend, state, stop, on_update, inbox)
    weights = backend.weights()
    in_flight = {i: backend.submit(i, weights) for i in backend.active_workers()}
    while True:
        workers = list(in_flight)
        ready = [workers[p] for p in backend.wait_ready([in_flight[w] for w in workers])]
        handles = [in_flight.pop(w) for w in ready]
        if inbox is not None:
            handles += [backend.external(r) for r in inbox.drain()]
        result, weights = backend.update(handles)
        for w in backend.active_workers():  # the ready ones, or restarted ones, act again
            if w not in in_flight:
                in_flight[w] = backend.submit(w, weights)
        state.record(result)
        on_update(state)
        reason = stop.check(state)
        if reason is not None:
            return reason
