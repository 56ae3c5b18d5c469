"""Acting with DDPG's deterministic actor plus exploration noise (rollout workers, NumPy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from distrl.agents.acting import Forward
from distrl.agents.ddpg.config import DDPGConfig
from distrl.agents.ddpg.noise import GaussianNoise, OrnsteinUhlenbeckNoise
from distrl.agents.ddpg.plan import actor_layers
from distrl.types import EnvSpec, WeightsMessage

if TYPE_CHECKING:
    from distrl.config import AlgorithmSections


class NoisyDeterministicPolicy:
    """``clip(mu(s) + noise, low, high)``; uniformly random actions until trained weights come.

    The learner publishes version 0 (its untrained actor) at start and a new version only once
    it has taken gradient steps, which it does after ``learning_starts`` env steps: so "random
    until then" needs no step counting in the workers. Noise is scaled by the action box's
    half-width, so ``noise_sigma`` means the same for every env.
    """

    def __init__(self, forward: Forward, spec: EnvSpec, config: DDPGConfig, num_envs: int) -> None:
        self.forward = forward
        self.low = np.asarray(spec.action_low, dtype=np.float32)
        self.high = np.asarray(spec.action_high, dtype=np.float32)
        self.half_width = (self.high - self.low) / 2
        self.centre = (self.high + self.low) / 2
        shape = (num_envs, spec.num_actions)
        self.noise: OrnsteinUhlenbeckNoise | GaussianNoise
        if config.noise == "ou":
            self.noise = OrnsteinUhlenbeckNoise(
                shape=shape, theta=config.ou_theta, mu=config.ou_mu, sigma=config.noise_sigma,
                dt=config.ou_dt,
            )  # fmt: skip
        else:
            self.noise = GaussianNoise(shape=shape, mu=0.0, sigma=config.noise_sigma)
        self.trained = False

    def set_weights(self, message: WeightsMessage) -> None:
        self.forward.set_weights(message.names, message.weights)
        self.trained = message.version > 0

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``obs`` [B, *obs] -> ``(actions [B, A] float32, log-probs [B] zeros)``: a
        deterministic policy has no log-probability to report."""
        B = obs.shape[0]
        if not self.trained:
            actions = rng.uniform(self.low, self.high, size=(B, self.low.size))
        else:
            tanh_out = self.forward.params(obs)  # [B, A] in [-1, 1]
            mu = tanh_out * self.half_width + self.centre
            actions = mu + self.noise(rng, B) * self.half_width
        return np.clip(actions, self.low, self.high).astype(np.float32), np.zeros(B, np.float32)

    def act_greedy(self, obs: np.ndarray) -> np.ndarray:
        """The actor's own action, no noise, for evaluation: [B, A] float32."""
        return (self.forward.params(obs) * self.half_width + self.centre).astype(np.float32)

    def episodes_ended(self, envs: np.ndarray) -> None:
        """A new episode starts in the env copies flagged in ``envs``: restart their noise."""
        self.noise.reset(envs)


def noisy_actor_policy(
    *, spec: EnvSpec, sections: AlgorithmSections, tf_threads: int | None = 1, num_envs: int = 1
) -> NoisyDeterministicPolicy:
    """DDPG's acting policy: the built-in Dense actor in NumPy (no TensorFlow), or a user's
    actor (``ddpg.actor``) through TensorFlow on the CPU with ``tf_threads`` threads."""
    c: DDPGConfig = sections.own  # ddpg.* or td3.*
    if c.actor is None:
        from distrl.models.numpy_forward import NumpyForward

        actor: Forward = NumpyForward(actor_layers(c))
    else:
        from distrl.tfsetup import configure_tensorflow

        configure_tensorflow(threads=tf_threads, use_gpu=False)
        from distrl.agents.ddpg.networks import build_actor, pre_bounds
        from distrl.models.keras_forward import KerasForward

        model = build_actor(spec, c)
        actor = _WholeActor(model, KerasForward(pre_bounds(model), spec, jit=sections.acting.jit,
                                                output=None))  # fmt: skip
    return NoisyDeterministicPolicy(actor, spec, c, num_envs)


class _WholeActor:
    """The published weights are the whole actor's; its part before the bounds acts."""

    def __init__(self, model: Any, forward: Any) -> None:
        self.model, self.forward = model, forward

    def set_weights(self, names: Any, weights: Any) -> None:
        self.model.set_weights(list(weights))

    def params(self, obs: np.ndarray) -> np.ndarray:
        return self.forward.params(obs)
