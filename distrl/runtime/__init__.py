"""Execution: the only package that imports Ray.

A *backend* runs the plain worker and learner classes somewhere: ``LocalBackend`` in this
process (``--workers 0``), ``RayBackend`` as Ray actors. The training loops are written against
the backend interface, so both modes run the same loops.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from distrl.config import Config
from distrl.runtime.async_loop import run_async
from distrl.runtime.backend import Backend, LocalBackend
from distrl.runtime.sync_loop import run_sync
from distrl.types import EnvSpec

LOOPS = {"sync": run_sync, "async": run_async}  # by config.mode

__all__ = [
    "LOOPS", "Backend", "LocalBackend", "make_backend", "run_async", "run_sync", "training_loop",
]  # fmt: skip


def training_loop(config: Config) -> Callable[..., str]:
    """The loop ``config`` asks for: ``LOOPS[config.mode]``, sync with ``overlap`` if set."""
    if config.mode == "sync" and config.overlap:
        return functools.partial(run_sync, overlap=True)
    return LOOPS[config.mode]


def make_backend(
    config: Config,
    spec: EnvSpec,
    restore: Callable[[], tuple[dict[str, np.ndarray], dict] | None] | None = None,
) -> Backend:
    """``restore`` gives a restarted learner its state (Ray only: in-process, the learner dies
    with the driver). ``--workers 0`` with ``--serve``: the learner alone, fed by the service."""
    if config.workers == 0:
        return LocalBackend(config, spec, with_worker=config.service.listen is None)
    from distrl.runtime.ray_backend import RayBackend

    return RayBackend(config, spec, restore)
