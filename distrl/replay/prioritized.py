"""Proportional prioritized replay (Schaul et al. 2016, "Prioritized Experience Replay").

A transition ``i`` is drawn with probability ``P(i) = p_i^alpha / sum_k p_k^alpha`` and weighs
``w_i = (N P(i))^-beta / max_j w_j`` in the loss (``N``: transitions held; the maximum over the
whole buffer, from its smallest probability), so the bias that prioritised sampling adds is
undone as ``beta`` goes to 1. New transitions enter at the largest priority seen so far, so each
is replayed at least once soon; the learner sets ``p_i = |TD error| + eps`` after each step.

:class:`SumTree` keeps the ``p^alpha`` in the leaves of a complete binary tree whose nodes hold
their children's sums: setting k priorities and drawing k samples each cost O(k log n), done
for the whole batch at once in NumPy. A min tree beside it keeps the smallest priority, which
scales the importance weights, at its root.
"""

from __future__ import annotations

import numpy as np

from distrl.replay.buffer import ReplayBuffer, TransitionBatch


class SegmentTree:
    """``capacity`` leaves in a complete binary tree whose every node holds ``op`` of its two
    children (``np.add``: sums, ``np.minimum``: minima); empty leaves hold ``neutral``."""

    def __init__(self, capacity: int, op: np.ufunc = np.add, neutral: float = 0.0) -> None:
        self.leaves = 1 << max(0, int(capacity - 1).bit_length())  # a power of two >= capacity
        self.op = op
        self.nodes = np.full(2 * self.leaves, neutral, dtype=np.float64)  # root at 1

    @property
    def root(self) -> float:
        return float(self.nodes[1])

    def values(self, indices: np.ndarray) -> np.ndarray:
        return self.nodes[self.leaves + np.asarray(indices)]

    def set(self, indices: np.ndarray, values: np.ndarray) -> None:
        """Leaves ``indices`` take ``values`` (a repeated index keeps its last value); the nodes
        above them are recomputed level by level."""
        nodes = self.leaves + np.asarray(indices, dtype=np.int64)
        self.nodes[nodes] = values
        nodes = np.unique(nodes // 2)
        while nodes[0] >= 1:
            self.nodes[nodes] = self.op(self.nodes[2 * nodes], self.nodes[2 * nodes + 1])
            if nodes[0] == 1:
                break
            nodes = np.unique(nodes // 2)


class SumTree(SegmentTree):
    """Non-negative values on ``capacity`` leaves; prefix-sum search in O(log n)."""

    @property
    def total(self) -> float:
        return self.root

    def find(self, mass: np.ndarray) -> np.ndarray:
        """For each ``mass`` in ``[0, total)``, the leaf where the running sum passes it."""
        mass = np.array(mass, dtype=np.float64)
        node = np.ones(mass.shape, dtype=np.int64)
        for _ in range(self.leaves.bit_length() - 1):  # the tree's depth
            left = self.nodes[2 * node]
            right = mass >= left
            mass = np.where(right, mass - left, mass)
            node = 2 * node + right
        return node - self.leaves


def min_tree(capacity: int) -> SegmentTree:
    """The smallest value of ``capacity`` leaves at the root in O(1) (empty leaves: inf)."""
    return SegmentTree(capacity, np.minimum, np.inf)


def importance_weights(priorities: np.ndarray, smallest: float, beta: float) -> np.ndarray:
    """Schaul's ``(N P(i))^-beta / max_j (N P(j))^-beta`` from the drawn transitions' tree
    values ``p_i^alpha`` and the smallest one held: N and the total cancel, so shards that share
    the smallest value give weights on one scale."""
    return ((np.asarray(priorities) / smallest) ** -beta).astype(np.float32)


class PrioritizedReplayBuffer(ReplayBuffer):
    """A :class:`ReplayBuffer` that samples in proportion to priorities.

    Usage::

        buffer = PrioritizedReplayBuffer(capacity=..., obs_shape=..., obs_dtype=...,
                                         action_dim=1, alpha=0.6)
        buffer.add_rollout(rollout)                       # at the largest priority so far
        batch, idx, weights = buffer.sample_prioritized((8, 32), rng, beta=0.4)
        buffer.update_priorities(idx, td_errors)          # |TD error| + eps, to the alpha
    """

    def __init__(self, *, alpha: float, eps: float = 1e-6, **buffer: object) -> None:
        super().__init__(**buffer)  # type: ignore[arg-type]
        self.alpha, self.eps = alpha, eps
        self.tree = SumTree(self.capacity)
        self.smallest = min_tree(self.capacity)  # beside the sums: the importance weights' scale
        self.max_priority = 1.0  # the largest |TD error| + eps seen (before the exponent)

    def add(self, batch: TransitionBatch, priorities: np.ndarray | None = None) -> None:
        """Append transitions at the largest priority so far, or at ``|priorities| + eps``
        (Ape-X: computed by the worker that collected them)."""
        n = min(len(batch.rewards), self.capacity)  # the base keeps the newest ``capacity``
        slots = (self.cursor + np.arange(n)) % self.capacity
        super().add(batch)
        if priorities is None:
            self._set(slots, np.full(n, self.max_priority**self.alpha))
        else:
            self.update_priorities(slots, np.asarray(priorities).reshape(-1)[-n:])

    def sample_prioritized(
        self, shape: tuple[int, ...], rng: np.random.Generator, beta: float
    ) -> tuple[TransitionBatch, np.ndarray, np.ndarray]:
        """Transitions drawn in proportion to priority, their slots, and importance weights
        ``[*shape]`` scaled so the largest possible one is 1."""
        batch, idx, priorities = self.sample_priorities(shape, rng)
        return batch, idx, importance_weights(priorities, self.min_priority, beta)

    def sample_priorities(
        self, shape: tuple[int, ...], rng: np.random.Generator
    ) -> tuple[TransitionBatch, np.ndarray, np.ndarray]:
        """Transitions drawn in proportion to priority (stratified: one draw in each of
        ``prod(shape)`` equal slices of the total), their slots and their ``p^alpha``."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        k = int(np.prod(shape))
        total = self.tree.total
        mass = (np.arange(k) + rng.random(k)) * (total / k)
        idx = self.tree.find(np.minimum(mass, np.nextafter(total, 0)))
        idx = np.minimum(idx, self.size - 1)  # float rounding at the very end of the sum
        priorities = self.tree.values(idx).reshape(shape)
        idx = idx.reshape(shape)
        return self.rows(idx), idx, priorities

    @property
    def min_priority(self) -> float:
        """The smallest ``p^alpha`` held (O(1): the min tree's root)."""
        return self.smallest.root

    def _set(self, slots: np.ndarray, values: np.ndarray) -> None:
        self.tree.set(slots, values)
        self.smallest.set(slots, values)

    def update_priorities(self, idx: np.ndarray, td_errors: np.ndarray) -> None:
        """Priorities ``|td_errors| + eps`` for the slots ``idx`` (any matching shape)."""
        priority = np.abs(np.asarray(td_errors, dtype=np.float64)).reshape(-1) + self.eps
        self.max_priority = max(self.max_priority, float(priority.max()))
        self._set(np.asarray(idx).reshape(-1), priority**self.alpha)

    def arrays(self) -> dict[str, np.ndarray]:
        return {**super().arrays(), "priorities": self.tree.values(np.arange(self.size))}

    def counters(self) -> dict[str, int]:
        return {**super().counters(), "max_priority": self.max_priority}  # type: ignore[dict-item]

    def load(self, arrays: dict[str, np.ndarray], counters: dict[str, int]) -> None:
        arrays = dict(arrays)
        priorities = arrays.pop("priorities", None)
        super().load(arrays, counters)
        self.tree, self.smallest = SumTree(self.capacity), min_tree(self.capacity)
        n = int(counters["size"])
        if priorities is None:  # a checkpoint of a uniform buffer: all at one priority
            priorities = np.ones(n)
        self._set(np.arange(n), np.asarray(priorities, dtype=np.float64))
        self.max_priority = float(counters.get("max_priority", 1.0))
