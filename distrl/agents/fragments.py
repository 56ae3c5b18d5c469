"""Batches from fragments, for the on-policy learners (A2C, PPO): flattening, where episodes
ended, and how well the critic explains the targets. NumPy only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from distrl.types import EnvSpec, Rollout


def flat_actions_of(actions: np.ndarray, spec: EnvSpec) -> np.ndarray:
    """``[T, B, ...]`` fragment actions as batch rows: ``[T*B]`` int64 indices, ``[T*B, A]``
    float32 vectors or ``[T*B, K]`` int64 parts
    (``distributions.tensorflow_forms.action_signature``)."""
    T, B = actions.shape[:2]
    return actions.reshape(T * B, *spec.action_shape).astype(spec.action_dtype)


def explained_variance(values: np.ndarray, targets: np.ndarray) -> float | None:
    """``1 - Var(targets - values) / Var(targets)``, as SB3 logs it: 1 for a perfect critic,
    0 for one that predicts the mean, negative for worse; None when the targets do not vary."""
    var = float(np.var(targets))
    return None if var == 0 else 1.0 - float(np.var(targets - values)) / var


def done_positions(rollouts: Sequence[Rollout]) -> tuple[np.ndarray, np.ndarray]:
    """``(t, b)`` of every step that ended an episode, in the B-concatenated batch, in the order
    the rollouts' ``final_observations`` are concatenated."""
    ts, bs, offset = [], [], 0
    for r in rollouts:
        t, b = np.nonzero(r.terminated | r.truncated)
        ts.append(t)
        bs.append(b + offset)
        offset += r.rewards.shape[1]
    return np.concatenate(ts), np.concatenate(bs)
