"""Algorithms. Each folder has the same files: returns/losses, ``acting.py``, ``learning.py``.

The factories import TensorFlow lazily, so a process that only wires the run (the Ray driver),
or a worker acting with a NumPy policy, never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from distrl.types import WeightsMessage

if TYPE_CHECKING:
    from distrl.agents.a2c.losses import A2CLoss
    from distrl.config import Config
    from distrl.envs import EnvSpec


class Policy(Protocol):
    """What a rollout worker acts with (``agents/<algo>/acting.py``)."""

    def set_weights(self, message: WeightsMessage) -> None: ...

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``obs`` [B, *obs] -> ``(actions [B, ...], behaviour log-probs [B])``."""
        ...

    def act_greedy(self, obs: np.ndarray) -> np.ndarray:
        """The policy's best action for each observation, without exploration (evaluation)."""
        ...

    def episodes_ended(self, envs: np.ndarray) -> None:
        """Episodes ended (and restarted) in the env copies flagged in ``envs`` [B]."""


def make_learner(*, config: Config, spec: EnvSpec, seed: int, device: str = "/CPU:0") -> Any:
    if config.algo == "ddpg":
        from distrl.agents.ddpg.learning import DDPGLearner

        return DDPGLearner(spec=spec, config=config, seed=seed, device=device)
    if config.algo == "pg":
        from distrl.agents.pg.learning import PGLearner

        return PGLearner(spec=spec, config=config, seed=seed, device=device)
    from distrl.agents.a2c.learning import A2CLearner

    return A2CLearner(spec=spec, config=config, seed=seed, device=device)


def make_policy(
    *, config: Config, spec: EnvSpec, tf_threads: int | None = 1, num_envs: int | None = None
) -> Policy:
    """A policy for acting, with its own weights (they arrive from the learner).

    ``config.acting``: ``numpy`` and ``auto`` (for the built-in MLPs and DDPG's actors) act
    without TensorFlow; otherwise the Keras model runs on the CPU with ``tf_threads`` threads.
    """
    from distrl.agents.a2c.acting import CategoricalPolicy
    from distrl.models.numpy_forward import NumpyForward, numpy_forward_for

    if config.algo == "ddpg":
        from distrl.agents.ddpg.acting import NoisyDeterministicPolicy
        from distrl.models.plan import actor_layers

        # DDPG's actors are built-in Dense chains with NumPy activations: always NumPy.
        envs = num_envs if num_envs is not None else config.envs_per_worker
        actor = NumpyForward(actor_layers(config.ddpg))
        return NoisyDeterministicPolicy(actor, spec, config.ddpg, envs)

    forward = numpy_forward_for(config.model) if config.acting != "tensorflow" else None
    if forward is not None:
        return CategoricalPolicy(forward)
    from distrl.tfsetup import configure_tensorflow

    configure_tensorflow(threads=tf_threads, use_gpu=False)
    from distrl.models.builders import build_model
    from distrl.models.keras_forward import KerasForward

    model = build_model(spec, config.model)
    return CategoricalPolicy(KerasForward(model, spec, jit=config.jit_acting))


def make_worker_loss(*, config: Config, spec: EnvSpec, tf_threads: int | None = 1) -> A2CLoss:
    """The loss on a worker's own model copy, for workers that send gradients (A3C).

    The model's initial weights do not matter: the worker loads the learner's before use.
    """
    from distrl.tfsetup import configure_tensorflow

    configure_tensorflow(threads=tf_threads, use_gpu=False)
    from distrl.agents.a2c.losses import A2CLoss
    from distrl.models.builders import build_model

    return A2CLoss(build_model(spec, config.model), spec, config)
