"""The vocabulary: what an env looks like, and the messages between workers, learner and driver.

Everything here is NumPy arrays in small typed containers: cheap to serialise through Ray's
object store (arrays are zero-copy there) and free of framework objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EnvSpec:
    """What models and losses need to know about an environment's spaces."""

    env_id: str
    observation_shape: tuple[int, ...]
    observation_dtype: str  # numpy dtype name, e.g. "float32", "uint8"
    action_kind: str  # "discrete", "continuous", "multi_discrete" or "multi_binary"
    num_actions: int  # discrete: number of actions; continuous: action dimensions; multi: logits
    reward_threshold: float | None  # the env's "solved" return, if it registers one
    max_episode_steps: int | None
    action_low: tuple[float, ...] = ()  # continuous: per-dimension bounds (flattened)
    action_high: tuple[float, ...] = ()
    # multi_discrete: choices per part (num_actions is their sum: the logits' width);
    # multi_binary: one 2 per bit (num_actions is the number of bits).
    action_nvec: tuple[int, ...] = ()
    # Masked actions: the flattened observation holds the env's ``action_mask`` (1 = legal)
    # at ``[mask_offset, mask_offset + num_actions)``; mask_offset -1: no mask.
    mask_offset: int = -1
    # A Dict (or Tuple) observation of boxes, flattened for the model: each entry's key (or
    # index) and shape, in the flattening's order, so a policy takes the env's own observation.
    observation_parts: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def flatten_observation(self, observation: Any) -> np.ndarray:
        """The env's Dict/Tuple observation (one, or a batch in each entry) as the flat
        observations ``[*obs]`` or ``[B, *obs]`` the model takes."""
        if not self.observation_parts:
            raise ValueError(f"{self.env_id}'s observations are not a Dict or Tuple of boxes")
        items = observation if isinstance(observation, dict) else dict(enumerate(observation))
        first_key, first_shape = self.observation_parts[0]
        first = np.asarray(items[_key(first_key, items)])
        single = first.shape == first_shape
        flat = []
        for key, shape in self.observation_parts:
            part = np.asarray(items[_key(key, items)])
            if part.shape[1 if not single else 0 :] != shape:
                raise ValueError(f"observation entry {key!r} has shape {part.shape}; the env's is "
                                 f"{shape}")  # fmt: skip
            flat.append(part.reshape(-1) if single else part.reshape(len(part), -1))
        return np.concatenate(flat, axis=-1).astype(self.observation_dtype)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (a checkpoint's ``meta.json`` keeps it)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # tuples dump as lists

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnvSpec:
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: _tuples(v) for k, v in data.items() if k in known}
        return cls(**values)

    @property
    def action_shape(self) -> tuple[int, ...]:
        """One action's shape: ``()`` for an index, ``(A,)`` for a vector or a multi-part
        action."""
        if self.action_kind == "discrete":
            return ()
        if self.action_kind == "continuous":
            return (self.num_actions,)
        return (len(self.action_nvec),)

    @property
    def action_dtype(self) -> type:
        return np.float32 if self.action_kind == "continuous" else np.int64

    @property
    def masked(self) -> bool:
        return self.mask_offset >= 0

    @property
    def mask_parts(self) -> tuple[int, ...]:
        """The choices of each part the mask covers (one part for Discrete actions)."""
        return self.action_nvec if self.action_kind == "multi_discrete" else (self.num_actions,)

    def action_masks(self, obs: np.ndarray) -> np.ndarray:
        """The action masks ``[B, num_actions]`` inside flattened observations ``[B, F]``."""
        start = self.mask_offset
        return np.asarray(obs).reshape(len(obs), -1)[:, start : start + self.num_actions]

    def action_scale(self) -> tuple[np.ndarray, np.ndarray]:
        """Continuous actions: ``(half-width, centre)`` of the action box, float32, so that
        ``action = x * half_width + centre`` maps ``x`` in [-1, 1] onto it."""
        low, high = np.asarray(self.action_low), np.asarray(self.action_high)
        return ((high - low) / 2).astype(np.float32), ((high + low) / 2).astype(np.float32)


def _tuples(value: Any) -> Any:
    """JSON's lists back to the tuples they were, nested ones included."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _key(key: str, items: dict) -> Any:
    """A Tuple observation's entries are keyed by position (saved as strings)."""
    return int(key) if key not in items and key.isdigit() else key


@dataclass(frozen=True)
class WeightsMessage:
    """The policy's weights as published by the learner after an update."""

    version: int  # learner updates applied so far; 0 is the initial weights
    names: tuple[str, ...]  # Keras variable paths ("policy_0/kernel"), one per array
    weights: list[np.ndarray]


@dataclass(frozen=True)
class WeightsHandle:
    """One published weights version as it travels between processes: the message itself
    (small models, sent by value) or an opaque reference to it in the object store (``ref``, a
    Ray ``ObjectRef``). The backend that made it turns it into arrays (``Backend.fetch``)."""

    version: int
    message: WeightsMessage | None = None  # by value
    ref: Any = None  # by reference; None when by value

    @property
    def payload(self) -> Any:
        """What a worker call takes: the message, or the reference (Ray resolves a reference
        passed as an argument inside the worker)."""
        return self.message if self.message is not None else self.ref


@dataclass(frozen=True)
class Rollout:
    """A fixed-length, time-major fragment of experience from one worker's vector env.

    ``T`` is the fragment length, ``B`` the number of envs of the worker. Step ``t`` of env ``b``
    saw ``observations[t, b]``, took ``actions[t, b]`` and got ``rewards[t, b]``. After a step that
    ended an episode the vector env has already reset, so the observation that follows it in
    ``observations`` (or ``last_observations``) belongs to the next episode; the true final
    observation of each step that ended an episode (terminated or truncated) is kept in
    ``final_observations``, one row per ``True`` of ``terminated | truncated`` in ``np.nonzero``
    (row-major) order. :meth:`next_observations` puts them in place.
    """

    observations: np.ndarray  # [T, B, *obs]
    actions: np.ndarray  # [T, B] (discrete) or [T, B, *act]
    rewards: np.ndarray  # [T, B] float32
    terminated: np.ndarray  # [T, B] bool: the MDP ended; no bootstrap
    truncated: np.ndarray  # [T, B] bool: cut by a time limit; bootstrap from its final obs
    behaviour_logp: np.ndarray  # [T, B] float32: log-prob of the action under the acting policy
    last_observations: np.ndarray  # [B, *obs]: the observation after step T-1
    final_observations: np.ndarray  # [K, *obs], K = (terminated | truncated).sum()
    policy_version: int  # WeightsMessage.version the worker acted with
    worker_index: int
    episode_returns: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [E] raw returns
    episode_lengths: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )  # [E] env steps
    env_errors: int = 0  # env exceptions the worker recovered from while making this fragment
    # [T, B] float32: each step's replay priority as the worker computed it with its own copy
    # of the network (Ape-X), or None (the learner stores new steps at its largest priority).
    priorities: np.ndarray | None = None
    # [B, S] float32: a recurrent policy's state before step 0 of each env copy (the learner
    # unrolls the fragment from it), or None: a feed-forward policy (or zeros, for a pushed one).
    initial_state: np.ndarray | None = None

    @property
    def env_steps(self) -> int:
        return int(self.rewards.size)

    def next_observations(self) -> np.ndarray:
        """``[T, B, *obs]``: the observation each step led to, never an autoreset one (the true
        final observation where the step ended an episode)."""
        following = np.concatenate([self.observations[1:], self.last_observations[None]])
        following[np.nonzero(self.terminated | self.truncated)] = self.final_observations
        return following


@dataclass(frozen=True)
class FragmentSummary:
    """What a learner reports of a fragment it did not receive (it went to a replay shard):
    its size, the episodes it ended, who made it and with which version."""

    env_steps: int
    episode_returns: np.ndarray
    episode_lengths: np.ndarray
    worker_index: int
    policy_version: int
    env_errors: int = 0

    @classmethod
    def of(cls, rollout: Rollout) -> FragmentSummary:
        return cls(rollout.env_steps, rollout.episode_returns, rollout.episode_lengths,
                   rollout.worker_index, rollout.policy_version, rollout.env_errors)  # fmt: skip


@dataclass(frozen=True)
class Gradients:
    """A3C's message: gradients a worker computed on its own fragment with its model copy."""

    grads: list[np.ndarray]  # one per trainable variable, in the model's order
    policy_version: int  # WeightsMessage.version the fragment was acted and differentiated with
    worker_index: int
    env_steps: int
    episode_returns: np.ndarray  # [E] raw returns of episodes that finished in the fragment
    episode_lengths: np.ndarray  # [E] env steps
    metrics: dict[str, float]  # the worker's loss statistics ("learner/policy_loss", ...)
    env_errors: int = 0  # as in Rollout


@dataclass(frozen=True)
class UpdateResult:
    """What the learner reports to the driver after one update (no experience, only stats).

    ``applied`` is False when all the data offered was older than ``max_policy_lag`` and was
    discarded: no gradient step, the version stays, but the env steps and finished episodes still
    count (they happened).
    """

    version: int  # weights version after the update
    env_steps: int  # env steps consumed by this update
    episode_returns: np.ndarray  # returns of the episodes that finished in the consumed fragments
    episode_lengths: np.ndarray
    metrics: dict[str, float]  # namespaced: "learner/...", "timing/..."
    applied: bool = True
    episode_workers: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )  # [E] the worker each finished episode ran on
