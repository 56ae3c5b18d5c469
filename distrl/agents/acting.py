"""Acting by sampling from an action distribution (A2C, PPO, REINFORCE and any algorithm whose
model's first output parameterises one): the rollout workers', the service's and evaluation's
policy, on a local copy of the model.

No framework import here: the forward pass is either NumPy (built-in MLPs) or a compiled Keras
call (any other model), chosen by :func:`stochastic_policy`; the distribution is NumPy
(``distrl/distributions``), sampled with the worker's own generator so a seed fixes the actions
whatever computes the parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from distrl import distributions
from distrl.types import EnvSpec, WeightsMessage

if TYPE_CHECKING:
    from distrl.config import AlgorithmSections


class Forward(Protocol):
    """A model's policy head on a batch of observations, whatever runs it."""

    def set_weights(self, names: Sequence[str], weights: Sequence[np.ndarray]) -> None: ...

    def params(self, obs: np.ndarray) -> np.ndarray:
        """``obs`` [B, *obs] -> the head's output [B, ...]: logits, a Gaussian's
        ``[mean, log_std]``, or a deterministic actor's actions."""
        ...


class StochasticPolicy:
    """Samples actions from ``distribution(forward.params(obs))``; evaluation takes its mode.

    Continuous actions are returned unclipped (their log-probs are of the sample); the worker
    clips what it sends to the env, and :meth:`act_greedy` clips the mean to the action box.

    A recurrent model's forward (``step(obs, state)``) makes the policy keep ``state``: one row
    per env copy (``[B, 2 * lstm_size]``), advanced by every call, zeroed where an episode
    ended (:meth:`episodes_ended`); a batch of another size starts from zeros.
    """

    def __init__(self, forward: Forward, spec: EnvSpec, num_envs: int = 1) -> None:
        self.forward = forward
        self.distribution = distributions.for_spec(spec)
        self.continuous = spec.action_kind == "continuous"
        self.low = np.asarray(spec.action_low, dtype=np.float32)
        self.high = np.asarray(spec.action_high, dtype=np.float32)
        size = getattr(forward, "state_size", 0)
        self.state = np.zeros((num_envs, size), np.float32) if size else None

    def set_weights(self, message: WeightsMessage) -> None:
        self.forward.set_weights(message.names, message.weights)

    def _params(self, obs: np.ndarray) -> np.ndarray:
        if self.state is None:
            return self.forward.params(obs)
        if len(self.state) != len(obs):
            self.state = np.zeros((len(obs), self.state.shape[1]), np.float32)
        params, self.state = self.forward.step(obs, self.state)  # type: ignore[attr-defined]
        return params

    def fragment_state(self) -> np.ndarray | None:
        """The state each env copy's next step starts from (a fragment records it), or None
        for a feed-forward policy."""
        return None if self.state is None else self.state.copy()

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``obs`` [B, *obs] -> ``(actions [B] int64, [B, A] float32 or [B, K] int64 (multi-part),
        log-probs [B] float32)``."""
        params = self._params(obs).astype(np.float64)  # [B, A] or [B, 2A]
        actions = self.distribution.sample(params, rng)
        logp = self.distribution.log_prob(params, actions)
        actions = actions.astype(np.float32) if self.continuous else actions
        return actions, logp.astype(np.float32)

    def act_greedy(self, obs: np.ndarray) -> np.ndarray:
        """The distribution's mode for each observation (clipped to the box if continuous)."""
        mode = self.distribution.mode(self._params(obs))
        if self.continuous:
            return np.clip(mode, self.low, self.high).astype(np.float32)
        return mode

    def episodes_ended(self, envs: np.ndarray) -> None:
        """A recurrent policy starts these env copies' next episodes from a zero state
        (``envs``: [B] bool); nothing carries over between episodes of a feed-forward one."""
        if self.state is not None:
            self.state[envs] = 0.0


def stochastic_policy(
    *,
    spec: EnvSpec,
    sections: AlgorithmSections,
    tf_threads: int | None = 1,
    num_envs: int = 1,
) -> StochasticPolicy:
    """A :class:`StochasticPolicy` with its own weights (they arrive from the learner) on the
    ``model`` section's network; ``num_envs``: the env copies a recurrent policy keeps a state
    for."""
    return StochasticPolicy(model_forward(spec, sections, tf_threads), spec, num_envs)


def model_forward(spec: EnvSpec, sections: AlgorithmSections, tf_threads: int | None) -> Forward:
    """The first head of the ``model`` section's network on a worker's CPU.

    ``sections.acting.backend``: ``numpy`` and ``auto`` (for the built-in MLPs) act without
    TensorFlow; otherwise the Keras model runs on the CPU with ``tf_threads`` threads.
    """
    from distrl.models.numpy_forward import numpy_forward_for

    model, acting = sections.model, sections.acting
    continuous = spec.action_kind == "continuous"
    forward = None
    if acting.backend != "tensorflow" and not model.recurrent:
        mask = (spec.mask_offset, spec.mask_offset + spec.num_actions) if spec.masked else None
        norm = sections.normalize
        clip = norm.clip if norm.observations else None
        forward = numpy_forward_for(model, continuous=continuous, mask=mask, normalize_clip=clip)
    if forward is not None:
        return forward
    from distrl.tfsetup import configure_tensorflow

    configure_tensorflow(threads=tf_threads, use_gpu=False)
    from distrl.models.builders import build_model
    from distrl.models.keras_forward import KerasForward, RecurrentKerasForward

    network = build_model(spec, model, sections.normalize)
    # XLA's CPU backend runs bfloat16 convolutions slower than float32; TensorFlow's graph
    # (oneDNN) runs them faster (BENCHMARKS.md, "Pong with learning on").
    jit = acting.jit and model.precision == "float32"
    if model.recurrent:
        return RecurrentKerasForward(network, spec, jit=jit)
    return KerasForward(network, spec, jit=jit)
