"""Algorithms. Each folder has the same files: returns/losses, ``acting.py``, ``learning.py``.

The factories import TensorFlow lazily, so a process that only wires the run (the Ray driver)
never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distrl.config import Config
    from distrl.envs import EnvSpec


def make_learner(*, config: Config, spec: EnvSpec, seed: int, device: str = "/CPU:0") -> Any:
    from distrl.agents.a2c.learning import A2CLearner

    return A2CLearner(spec=spec, config=config, seed=seed, device=device)


def make_policy(*, config: Config, spec: EnvSpec) -> Any:
    """A policy for acting, with its own model copy (weights arrive from the learner)."""
    from distrl.agents.a2c.acting import CategoricalPolicy
    from distrl.models import build_model

    return CategoricalPolicy(build_model(spec, config.model), spec, jit=config.jit_acting)
