"""Acting with SAC's squashed Gaussian actor (rollout workers in NumPy, the service, evaluation).

Until trained weights arrive (version 0) actions are uniformly random in the box, as SB3 acts
before ``learning_starts``; then ``tanh(u)``, ``u ~ N(mean, std)``, scaled to the box. Evaluation
takes ``tanh(mean)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from distrl.agents.sac.config import SACConfig, actor_layers
from distrl.distributions import SquashedGaussian
from distrl.distributions.gaussian import split
from distrl.types import EnvSpec, WeightsMessage

if TYPE_CHECKING:
    from distrl.config import AlgorithmSections


class SquashedGaussianPolicy:
    def __init__(self, spec: EnvSpec, config: SACConfig) -> None:
        from distrl.models.numpy_forward import NumpyForward

        self.forward = NumpyForward(actor_layers(config))
        self.config = config
        self.half_width, self.centre = spec.action_scale()
        self.trained = False

    def set_weights(self, message: WeightsMessage) -> None:
        self.forward.set_weights(message.names, message.weights)
        self.trained = message.version > 0

    def _params(self, obs: np.ndarray) -> np.ndarray:
        mean, log_std = split(self.forward.params(obs))
        log_std = np.clip(log_std, self.config.log_std_min, self.config.log_std_max)
        return np.concatenate([mean, log_std], axis=-1)

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``obs`` [B, *obs] -> ``(actions [B, A] float32 in the box, log-probs [B])``; the
        log-probs are of the squashed sample in ``[-1, 1]`` (zeros before training)."""
        B = obs.shape[0]
        if not self.trained:
            x = rng.uniform(-1.0, 1.0, size=(B, self.half_width.size))
            logp = np.zeros(B)
        else:
            x, logp = SquashedGaussian.sample_with_log_prob(self._params(obs), rng)
        actions = x * self.half_width + self.centre
        return actions.astype(np.float32), logp.astype(np.float32)

    def act_greedy(self, obs: np.ndarray) -> np.ndarray:
        mode = SquashedGaussian.mode(self._params(obs))
        return (mode * self.half_width + self.centre).astype(np.float32)

    def episodes_ended(self, envs: np.ndarray) -> None:
        """Nothing carries over between episodes."""


def squashed_gaussian_policy(
    *, spec: EnvSpec, sections: AlgorithmSections, tf_threads: int | None = 1, num_envs: int = 1
) -> SquashedGaussianPolicy:
    """SAC's acting policy: the built-in actor in NumPy (no TensorFlow in the workers)."""
    return SquashedGaussianPolicy(spec, sections.own)
