"""Data-parallel learning: several learners, each with its own copy of the model and optimizer,
each computing gradients on its share of a batch, then all applying the same averaged gradient.

The learners start from the same weights and optimizer state and take the same step every
time, so they stay identical: the update equals one learner's on the whole batch (up to float
rounding), as long as nothing in it depends on the whole batch at once. What does, and how it
behaves with several learners:

- the batch's row count and env steps (the schedules advance by the whole batch's): summed over
  the learners first (:func:`total`);
- the gradient: each learner's mean over its rows, weighted by its row count
  (:func:`mean_gradients`), which is the mean over all rows;
- PPO's early stop on ``target_kl``: the approximate KL is averaged the same way with the
  gradient, so every learner stops at the same minibatch;
- advantage standardisation (``normalize_advantages``): over each learner's share, as
  data-parallel PyTorch implementations of A2C and PPO do.

How the sums travel is the runtime's business (``distrl.runtime.learner_group``): a learner
only sees a :class:`Collective`. Every learner of a group makes the same sequence of calls, one
per collective, even one with nothing to contribute (its share of the batch was empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Collective(Protocol):
    """One learner's end of a group of ``size`` learners (this one is ``rank``)."""

    rank: int
    size: int

    def allreduce(self, x: np.ndarray) -> np.ndarray:
        """The elementwise sum of every learner's ``x`` (float64, the same shape on all)."""
        ...


def total(collective: Collective, value: float) -> float:
    """The sum of ``value`` over the group's learners."""
    return float(collective.allreduce(np.array([value], np.float64))[0])


def mean_gradients(
    collective: Collective,
    grads: Sequence[np.ndarray] | None,
    rows: int,
    shapes: Sequence[tuple[int, ...]],
    extras: Sequence[float] = (),
) -> tuple[list[np.ndarray] | None, np.ndarray]:
    """The group's mean gradient over all its rows, from each learner's mean over its own
    ``rows`` (``grads`` None when it has none), with ``extras`` (per-row means, such as a
    loss statistic) averaged the same way. One collective call; float64 sums. Returns
    ``(None, zeros)`` when no learner had a row."""
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    n = sum(sizes)
    vec = np.zeros(n + 1 + len(extras), np.float64)
    vec[n] = rows
    if rows:
        assert grads is not None
        vec[:n] = np.concatenate([np.asarray(g, np.float64).ravel() for g in grads]) * rows
        vec[n + 1 :] = np.asarray(extras, np.float64) * rows
    out = collective.allreduce(vec)
    count = out[n]
    if count == 0:
        return None, np.zeros(len(extras))
    parts = np.split(out[:n] / count, np.cumsum(sizes)[:-1])
    mean = [p.reshape(s).astype(np.float32) for p, s in zip(parts, shapes, strict=True)]
    return mean, out[n + 1 :] / count


def shares(n: int, parts: int) -> list[slice]:
    """``parts`` consecutive slices of ``range(n)`` whose sizes differ by one at most (some
    empty when ``n < parts``): minibatch ``k`` of a learner's share, when every learner takes
    the same number of minibatch steps."""
    return [slice(k * n // parts, (k + 1) * n // parts) for k in range(parts)]
