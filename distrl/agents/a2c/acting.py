"""Acting with a categorical policy on a local copy of the model (rollout workers).

No framework import here: the forward pass is either NumPy (built-in MLPs) or a compiled Keras
call (any other model), chosen by :func:`categorical_policy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from distrl.types import EnvSpec, WeightsMessage

if TYPE_CHECKING:
    from distrl.config import Config


class Forward(Protocol):
    def set_weights(self, names: Sequence[str], weights: Sequence[np.ndarray]) -> None: ...

    def logits(self, obs: np.ndarray) -> np.ndarray: ...


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def gaussian_log_prob(params: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """``sum_i log N(a_i; mu_i, sigma_i)`` for ``params = [mean, log_std]`` ``[N, 2A]``."""
    half = params.shape[-1] // 2
    mean, log_std = params[..., :half], params[..., half:]
    z = (actions - mean) * np.exp(-log_std)
    return -0.5 * np.sum(z * z + 2.0 * log_std + np.log(2.0 * np.pi), axis=-1)


def action_log_probs(logits: np.ndarray, actions: np.ndarray, continuous: bool) -> np.ndarray:
    """log pi(a | s) in float64 for a categorical (``logits [N, A]``, ``actions [N]``) or a
    Gaussian (``params [N, 2A]``, ``actions [N, A]``) policy: what V-trace needs."""
    logits = logits.astype(np.float64)
    if continuous:
        return gaussian_log_prob(logits, actions.astype(np.float64))
    index = actions.reshape(-1, 1).astype(np.int64)
    return np.take_along_axis(log_softmax(logits), index, axis=1)[:, 0]


class CategoricalPolicy:
    """Samples discrete actions from softmax(logits).

    Sampling happens in NumPy with the worker's own generator, so a seed fixes the actions
    whatever computes the logits.
    """

    def __init__(self, forward: Forward) -> None:
        self.forward = forward

    def set_weights(self, message: WeightsMessage) -> None:
        self.forward.set_weights(message.names, message.weights)

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``obs`` [B, *obs] -> ``(actions [B] int64, log-probs [B] float32)``."""
        logits = self.forward.logits(obs).astype(np.float64)  # [B, A]
        # Gumbel-max trick: argmax(logits + Gumbel noise) is a sample from softmax(logits).
        actions = np.argmax(logits + rng.gumbel(size=logits.shape), axis=-1)
        logp = np.take_along_axis(log_softmax(logits), actions[:, None], axis=-1)[:, 0]
        return actions.astype(np.int64), logp.astype(np.float32)

    def act_greedy(self, obs: np.ndarray) -> np.ndarray:
        """The most likely action of each observation, for evaluation: [B] int64."""
        return np.argmax(self.forward.logits(obs), axis=-1).astype(np.int64)

    def episodes_ended(self, envs: np.ndarray) -> None:
        """Nothing carries over between episodes of a categorical policy."""


class GaussianPolicy(CategoricalPolicy):
    """Samples continuous actions from a diagonal Gaussian (``[mean, log_std]`` from the model,
    ``models/gaussian.py``). The actions are unbounded samples and their log-probs are of them;
    the worker clips what it sends to the env to the action box."""

    def __init__(self, forward: Forward, spec: EnvSpec) -> None:
        super().__init__(forward)
        self.low = np.asarray(spec.action_low, dtype=np.float32)
        self.high = np.asarray(spec.action_high, dtype=np.float32)

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``obs`` [B, *obs] -> ``(actions [B, A] float32, log-probs [B] float32)``."""
        params = self.forward.logits(obs).astype(np.float64)  # [B, 2A]
        half = params.shape[-1] // 2
        mean, log_std = params[:, :half], params[:, half:]
        actions = mean + np.exp(log_std) * rng.standard_normal(mean.shape)
        logp = gaussian_log_prob(params, actions)
        return actions.astype(np.float32), logp.astype(np.float32)

    def act_greedy(self, obs: np.ndarray) -> np.ndarray:
        """The mean action, clipped to the box, for evaluation: [B, A] float32."""
        params = self.forward.logits(obs)
        mean = params[:, : params.shape[-1] // 2]
        return np.clip(mean, self.low, self.high).astype(np.float32)


def categorical_policy(
    *, spec: EnvSpec, config: Config, tf_threads: int | None = 1, num_envs: int | None = None
) -> CategoricalPolicy:
    """A2C's, PPO's and REINFORCE's acting policy, with its own weights (they arrive from the
    learner): categorical for discrete actions, a diagonal Gaussian for continuous ones.

    ``config.acting``: ``numpy`` and ``auto`` (for the built-in MLPs) act without TensorFlow;
    otherwise the Keras model runs on the CPU with ``tf_threads`` threads.
    """
    from distrl.models.numpy_forward import numpy_forward_for

    continuous = spec.action_kind == "continuous"

    def policy(forward: Forward) -> CategoricalPolicy:
        return GaussianPolicy(forward, spec) if continuous else CategoricalPolicy(forward)

    forward = None
    if config.acting != "tensorflow":
        forward = numpy_forward_for(config.model, continuous=continuous)
    if forward is not None:
        return policy(forward)
    from distrl.tfsetup import configure_tensorflow

    configure_tensorflow(threads=tf_threads, use_gpu=False)
    from distrl.models.builders import build_model
    from distrl.models.keras_forward import KerasForward

    model = build_model(spec, config.model)
    return policy(KerasForward(model, spec, jit=config.jit_acting))
