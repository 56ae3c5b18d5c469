"""Observation and reward normalization owned by the learner (the ``normalize`` section), as
Stable-Baselines3's ``VecNormalize`` but with one set of statistics for the whole run.

Every observation the workers trained on reaches the learner in their fragments (an external
actor's pushed fragments included), so the learner counts them all: each fragment's batch
moments are merged into the running ones (Chan et al.'s parallel mean and variance). The
statistics live in the model's frozen ``obs_norm`` layer (``models.builders.with_normalization``),
which travels with every weights version: workers, evaluation, the service's ``Act``, a saved
``.keras`` and a SavedModel all standardise alike, and nothing but training changes them. The
learner trains on a batch with the statistics it was acted with, then merges the batch's
(:meth:`Normalizer.before_step`, :meth:`Normalizer.after_step`); only the very first batch,
acted on before any statistics existed, sets them before the first step, as VecNormalize
normalizes from the first observation (training on raw inputs first and standardised ones
afterwards cost pendulum-ppo its seed 0: BENCHMARKS.md).

Rewards are scaled by the running standard deviation of each env copy's discounted return
(accumulated per worker and env copy, reset at episode ends) and clipped, for the loss only:
episode returns, the stop rule and evaluation stay in raw env rewards.

Checkpoints keep the moments exactly (float64 arrays); the return accumulators restart at 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from distrl.config import NormalizeConfig
from distrl.models.builders import NORMALIZATION
from distrl.types import Rollout


class RunningMoments:
    """Count, mean and variance of everything merged so far (float64), per feature."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.count = 0.0
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)

    def merge(self, batch: np.ndarray) -> None:
        """Merge ``batch`` ``[N, *shape]`` (Chan, Golub and LeVeque's parallel update)."""
        batch = np.asarray(batch, np.float64).reshape(-1, *self.mean.shape)
        n = float(len(batch))
        if n == 0:
            return
        mean, var = batch.mean(axis=0), batch.var(axis=0)
        total = self.count + n
        delta = mean - self.mean
        m2 = self.var * self.count + var * n + delta**2 * self.count * n / total
        self.mean = self.mean + delta * n / total
        self.var = m2 / total
        self.count = total


class Normalizer:
    def __init__(self, config: NormalizeConfig, model: keras.Model | None = None) -> None:
        self.config = config
        self.layer = model.get_layer(NORMALIZATION) if config.observations and model else None
        features = int(self.layer.kernel.shape[0]) if self.layer is not None else 0
        self.obs = RunningMoments((features,))
        self.returns = RunningMoments(())
        self._discounted: dict[tuple[int, int], np.ndarray] = {}  # (worker, copies) -> [B]
        self._merged_early = False  # this update's batch was merged before its step

    def scaled_rewards(self, rollouts: Sequence[Rollout]) -> list[Rollout]:
        """The fragments with rewards scaled (``normalize.rewards``), in arrival order."""
        if not self.config.rewards:
            return list(rollouts)
        c, out = self.config, []
        for r in rollouts:
            T, B = r.rewards.shape
            key = (r.worker_index, B)
            ret = self._discounted.get(key, np.zeros(B, np.float64))
            seen = np.empty((T, B), np.float64)
            for t in range(T):
                ret = ret * c.gamma + r.rewards[t]
                seen[t] = ret
                ret = np.where(r.terminated[t] | r.truncated[t], 0.0, ret)
            self._discounted[key] = ret
            self.returns.merge(seen.reshape(-1))
            scale = 1.0 / np.sqrt(self.returns.var + c.epsilon)
            rewards = np.clip(r.rewards * scale, -c.clip, c.clip).astype(np.float32)
            out.append(dataclasses.replace(r, rewards=rewards))
        return out

    def before_step(self, rollouts: Sequence[Rollout]) -> None:
        """The first batch sets the statistics before the first step."""
        self._merged_early = self.layer is not None and self.obs.count == 0 and bool(rollouts)
        if self._merged_early:
            self.observe(rollouts)

    def after_step(self, rollouts: Sequence[Rollout]) -> None:
        """Every later batch is merged after its step (it trained with what it acted with)."""
        if not self._merged_early:
            self.observe(rollouts)
        self._merged_early = False

    def observe(self, rollouts: Sequence[Rollout]) -> None:
        """Merge the fragments' observations and publish the statistics into the model."""
        if self.layer is None or not rollouts:
            return
        for r in rollouts:
            self.obs.merge(r.observations.reshape(-1, self.obs.mean.shape[0]))
        self._publish()

    def _publish(self) -> None:
        assert self.layer is not None
        inv_std = 1.0 / np.sqrt(self.obs.var + self.config.epsilon)
        self.layer.kernel.assign(np.diag(inv_std).astype(np.float32))
        self.layer.bias.assign((-self.obs.mean * inv_std).astype(np.float32))

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.layer is not None:
            out["normalize/obs_count"] = self.obs.count
        if self.config.rewards:
            out["normalize/return_std"] = float(np.sqrt(self.returns.var))
        return out

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"normalize/obs_mean": self.obs.mean, "normalize/obs_var": self.obs.var,
                  "normalize/return_mean": np.asarray(self.returns.mean),
                  "normalize/return_var": np.asarray(self.returns.var)}  # fmt: skip
        return arrays, {"normalize/obs_count": self.obs.count,
                        "normalize/return_count": self.returns.count}  # fmt: skip

    def load(self, arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> None:
        if "normalize/obs_mean" not in arrays:
            return  # a checkpoint from a run without normalization: start afresh
        if self.obs.mean.shape == arrays["normalize/obs_mean"].shape:
            self.obs.mean = np.array(arrays["normalize/obs_mean"], np.float64)
            self.obs.var = np.array(arrays["normalize/obs_var"], np.float64)
            self.obs.count = float(scalars.get("normalize/obs_count", 0.0))
        self.returns.mean = np.array(arrays["normalize/return_mean"], np.float64)
        self.returns.var = np.array(arrays["normalize/return_var"], np.float64)
        self.returns.count = float(scalars.get("normalize/return_count", 0.0))
        if self.layer is not None and self.obs.count > 0:
            self._publish()
