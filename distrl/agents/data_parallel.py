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
        """The elementwise sum of every learner's ``x`` (the same shape and dtype on all)."""
        ...


def total(collective: Collective, value: float) -> float:
    """The sum of ``value`` over the group's learners."""
    return float(collective.allreduce(np.array([value], np.float64))[0])


def mean_gradients(
    collective: Collective,
    flat: np.ndarray | None,
    rows: int,
    size: int,
    extras: Sequence[float] = (),
) -> tuple[np.ndarray | None, np.ndarray]:
    """The group's mean gradient over all its rows, from each learner's mean over its own
    ``rows`` (``flat``: every variable's gradient raveled into one float32 vector of ``size``,
    None when it has no rows), with ``extras`` (per-row means, such as a loss statistic)
    averaged the same way. One collective call, in float32. Returns ``(None, zeros)`` when
    no learner had a row."""
    vec = np.zeros(size + 1 + len(extras), np.float32)
    vec[size] = rows
    if rows:
        assert flat is not None
        np.multiply(flat, rows, out=vec[:size])
        vec[size + 1 :] = np.asarray(extras, np.float32) * rows
    out = collective.allreduce(vec)
    count = out[size]
    if count == 0:
        return None, np.zeros(len(extras))
    return out[:size] / count, out[size + 1 :].astype(np.float64) / count


def ravel(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Arrays (one per variable) as one float32 vector."""
    return np.concatenate([np.asarray(a, np.float32).ravel() for a in arrays])


def unravel(flat: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    """:func:`ravel`'s inverse (views of ``flat``)."""
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    parts = np.split(flat, np.cumsum(sizes)[:-1])
    return [p.reshape(s) for p, s in zip(parts, shapes, strict=True)]


def shares(n: int, parts: int) -> list[slice]:
    """``parts`` consecutive slices of ``range(n)`` whose sizes differ by one at most (some
    empty when ``n < parts``): minibatch ``k`` of a learner's share, when every learner takes
    the same number of minibatch steps."""
    return [slice(k * n // parts, (k + 1) * n // parts) for k in range(parts)]
