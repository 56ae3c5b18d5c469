"""Algorithms: one folder each (``config.py``, ``acting.py``, ``learning.py``, ...) and one entry
in the registry (``registry.py``). The functions here build what the runtime needs for
``config.algo`` by asking its entry; pass ``algorithm`` where the entry travelled with the
call (Ray workers get it pickled, so algorithms registered only in the driver work there too).

The factories import TensorFlow lazily, so a process that only wires the run (the Ray driver),
or a worker acting with a NumPy policy, never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from distrl.agents.registry import Algorithm, Policy

if TYPE_CHECKING:
    from distrl.config import Config
    from distrl.types import EnvSpec

__all__ = ["Algorithm", "Policy", "make_learner", "make_policy", "make_worker_loss"]


def _entry(config: Config, algorithm: Algorithm | None) -> Algorithm:
    return algorithm if algorithm is not None else config.algorithm


def make_learner(
    *,
    config: Config,
    spec: EnvSpec,
    seed: int,
    device: str = "/CPU:0",
    algorithm: Algorithm | None = None,
) -> Any:
    return _entry(config, algorithm).make_learner(
        spec=spec, config=config, seed=seed, device=device
    )


def make_policy(
    *,
    config: Config,
    spec: EnvSpec,
    tf_threads: int | None = 1,
    num_envs: int | None = None,
    algorithm: Algorithm | None = None,
) -> Policy:
    """The algorithm's acting policy, with its own weights (they arrive from the learner)."""
    return _entry(config, algorithm).make_policy(
        spec=spec, config=config, tf_threads=tf_threads, num_envs=num_envs
    )


def make_worker_loss(
    *, config: Config, spec: EnvSpec, tf_threads: int | None = 1, algorithm: Algorithm | None = None
) -> Any:
    """The loss a gradient-sending (A3C) worker differentiates on its own model copy."""
    entry = _entry(config, algorithm)
    if entry.make_worker_loss is None:
        raise ValueError(f"algo {entry.name} has no gradient workers")
    return entry.make_worker_loss(spec=spec, config=config, tf_threads=tf_threads)
