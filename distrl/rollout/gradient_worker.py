"""GradientWorker: an A3C actor-learner that sends gradients instead of experience."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from distrl.config import RolloutSettings
from distrl.envs import EnvSpec
from distrl.rollout.worker import RolloutWorker
from distrl.types import Gradients, WeightsMessage

if TYPE_CHECKING:
    from distrl.agents.registry import Algorithm


class GradientWorker:
    """Samples a fragment like :class:`RolloutWorker`, then differentiates the A2C loss on it
    with its own copy of the Keras model (``--mode async --async-unit gradients``).

    Usage::

        worker = GradientWorker(settings=config.rollout_settings(), algorithm=config.algo,
                                spec=spec, worker_index=0, seed=seed_sequence)
        gradients = worker.compute_gradients(learner.weights())
        learner.apply_gradients(gradients)

    Acting still uses the worker's fast policy (NumPy for the built-in MLPs); only the gradient
    needs TensorFlow. Both copies load the same weights message, so the gradient is exactly
    on-policy for the version it carries.
    """

    def __init__(
        self,
        *,
        settings: RolloutSettings,
        spec: EnvSpec,
        worker_index: int,
        seed: np.random.SeedSequence,
        tf_threads: int | None = 1,
        algorithm: Algorithm | str,
    ) -> None:
        from distrl.agents import make_worker_loss

        self.rollouts = RolloutWorker(
            settings=settings,
            spec=spec,
            worker_index=worker_index,
            seed=seed,
            tf_threads=tf_threads,
            algorithm=algorithm,
        )
        self.loss = make_worker_loss(
            algorithm=algorithm,
            sections=settings.sections,
            spec=spec,
            tf_threads=tf_threads,
        )
        self.loss_version = -1  # the weights version loaded into self.loss.model

    def ready(self) -> int:
        return self.rollouts.ready()

    def compute_gradients(self, weights: WeightsMessage | None = None) -> Gradients:
        """Act one fragment with the newest weights held, and return its gradients."""
        rollout = self.rollouts.sample(weights)
        if weights is not None and weights.version > self.loss_version:
            self.loss.model.set_weights(weights.weights)
            self.loss_version = weights.version
        assert rollout.policy_version == self.loss_version, "policy and loss model disagree"
        batch, _ = self.loss.prepare([rollout], use_vtrace=False)
        grads, metrics = self.loss.compute_gradients(batch)
        return Gradients(
            grads=grads,
            policy_version=rollout.policy_version,
            worker_index=rollout.worker_index,
            env_steps=rollout.env_steps,
            episode_returns=rollout.episode_returns,
            episode_lengths=rollout.episode_lengths,
            metrics=metrics,
            env_errors=rollout.env_errors,
        )

    def close(self) -> None:
        self.rollouts.close()
