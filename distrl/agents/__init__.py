"""Algorithms: one folder each (``config.py``, ``acting.py``, ``learning.py``, ...) and one entry
in the registry (``registry.py``); the parts several algorithms share sit beside them here
(``acting.py``, ``learner.py``, ``guard.py``, ``fragments.py``). The functions below build what
the runtime needs from an algorithm's entry and the sections it reads
(:class:`distrl.config.AlgorithmSections`); Ray workers get the entry pickled, so algorithms
registered only in the driver work there too.

The factories import TensorFlow lazily, so a process that only wires the run (the Ray driver),
or a worker acting with a NumPy policy, never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from distrl.agents.registry import ActingPolicy, Algorithm, get

if TYPE_CHECKING:
    from distrl.config import AlgorithmSections
    from distrl.types import EnvSpec

__all__ = ["ActingPolicy", "Algorithm", "make_learner", "make_policy", "make_worker_loss"]


def _entry(algorithm: Algorithm | str) -> Algorithm:
    return get(algorithm) if isinstance(algorithm, str) else algorithm


def make_learner(
    *,
    algorithm: Algorithm | str,
    sections: AlgorithmSections,
    spec: EnvSpec,
    seed: int,
    device: str = "/CPU:0",
) -> Any:
    entry = _entry(algorithm)
    return entry.make_learner(spec=spec, sections=sections, seed=seed, device=device)


def make_policy(
    *,
    algorithm: Algorithm | str,
    sections: AlgorithmSections,
    spec: EnvSpec,
    tf_threads: int | None = 1,
    num_envs: int = 1,
) -> ActingPolicy:
    """The algorithm's acting policy, with its own weights (they arrive from the learner)."""
    return _entry(algorithm).make_policy(
        spec=spec, sections=sections, tf_threads=tf_threads, num_envs=num_envs
    )


def make_worker_loss(
    *,
    algorithm: Algorithm | str,
    sections: AlgorithmSections,
    spec: EnvSpec,
    tf_threads: int | None = 1,
) -> Any:
    """The loss a gradient-sending (A3C) worker differentiates on its own model copy."""
    algorithm = _entry(algorithm)
    if algorithm.make_worker_loss is None:
        raise ValueError(f"algo {algorithm.name} has no gradient workers")
    return algorithm.make_worker_loss(spec=spec, sections=sections, tf_threads=tf_threads)
