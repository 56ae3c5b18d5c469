"""A preallocated NumPy ring buffer of transitions with uniform sampling."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from distrl.types import Rollout


class TransitionBatch(NamedTuple):
    """Transitions ``(s, a, r, s', terminated)``; leading dimensions are the batch's."""

    obs: np.ndarray  # [..., *obs]
    actions: np.ndarray  # [..., A] float32
    rewards: np.ndarray  # [...] float32
    next_obs: np.ndarray  # [..., *obs]: the true next observation, never an autoreset one
    terminated: np.ndarray  # [...] float32: 1.0 where the MDP ended (no bootstrap)
    # [...] int64: env steps the transition spans (n-step returns; the bootstrap is discounted
    # by gamma^steps); None when adding means 1.
    steps: np.ndarray | None = None


class ReplayBuffer:
    """Holds the last ``capacity`` transitions; the oldest are overwritten first.

    Usage::

        buffer = ReplayBuffer(capacity=50_000, obs_shape=(3,), obs_dtype="float32", action_dim=1)
        buffer.add_rollout(rollout)
        batch = buffer.sample((8, 64), rng)   # 8 gradient steps of 64 transitions, [8, 64, ...]
    """

    def __init__(
        self, *, capacity: int, obs_shape: tuple[int, ...], obs_dtype: str, action_dim: int
    ) -> None:
        self.capacity = capacity
        self.obs = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self.next_obs = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((capacity, action_dim), dtype=np.float32)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.steps = np.ones(capacity, dtype=np.int64)
        self.size = 0  # transitions held
        self.cursor = 0  # next slot to write
        self.added = 0  # transitions ever added

    def add(self, batch: TransitionBatch) -> None:
        """Append ``N`` transitions (leading dimension N), wrapping around at capacity."""
        n = len(batch.rewards)
        steps = np.ones(n, dtype=np.int64) if batch.steps is None else batch.steps
        arrays = [batch.obs, batch.actions, batch.rewards, batch.next_obs, batch.terminated, steps]
        if n > self.capacity:  # only the newest ``capacity`` would survive anyway
            arrays = [x[-self.capacity :] for x in arrays]
            self.added += n - self.capacity
            n = self.capacity
        batch = TransitionBatch(*arrays)
        slots = (self.cursor + np.arange(n)) % self.capacity
        self.obs[slots] = batch.obs
        self.actions[slots] = batch.actions.reshape(n, -1)
        self.rewards[slots] = batch.rewards
        self.next_obs[slots] = batch.next_obs
        self.terminated[slots] = batch.terminated
        self.steps[slots] = arrays[-1]
        self.cursor = (self.cursor + n) % self.capacity
        self.size = min(self.size + n, self.capacity)
        self.added += n

    def add_rollout(self, rollout: Rollout) -> None:
        """Every step of a time-major fragment, as transitions with their true next obs."""
        T, B = rollout.rewards.shape
        obs_shape = rollout.observations.shape[2:]
        self.add(
            TransitionBatch(
                obs=rollout.observations.reshape(T * B, *obs_shape),
                actions=rollout.actions.reshape(T * B, -1),
                rewards=rollout.rewards.reshape(T * B),
                next_obs=rollout.next_observations().reshape(T * B, *obs_shape),
                terminated=rollout.terminated.reshape(T * B).astype(np.float32),
            )
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """The stored part, for checkpoints."""
        n = self.size
        return {
            "obs": self.obs[:n], "actions": self.actions[:n], "rewards": self.rewards[:n],
            "next_obs": self.next_obs[:n], "terminated": self.terminated[:n],
            "steps": self.steps[:n],
        }  # fmt: skip

    def counters(self) -> dict[str, int]:
        return {"size": self.size, "cursor": self.cursor, "added": self.added}

    def load(self, arrays: dict[str, np.ndarray], counters: dict[str, int]) -> None:
        """Restore what :meth:`arrays` and :meth:`counters` returned (same capacity or larger)."""
        n = int(counters["size"])
        if n > self.capacity:
            raise ValueError(f"replay of {n} transitions does not fit capacity {self.capacity}")
        self.steps[:n] = 1  # checkpoints from before n-step transitions have no steps
        for name, values in arrays.items():
            getattr(self, name)[:n] = values
        self.size, self.cursor, self.added = (
            n,
            int(counters["cursor"]) % self.capacity,
            int(counters["added"]),
        )

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> TransitionBatch:
        """Transitions drawn uniformly with replacement, arranged as ``[*shape, ...]``."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self.size, size=shape)
        return self.rows(idx)

    def rows(self, idx: np.ndarray) -> TransitionBatch:
        """The transitions in slots ``idx`` (any shape), arranged as ``[*idx.shape, ...]``."""
        return TransitionBatch(
            self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx],
            self.terminated[idx], self.steps[idx],
        )  # fmt: skip
