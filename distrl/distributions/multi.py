"""Distributions over multi-part discrete actions (NumPy; TensorFlow twins in
``tensorflow_forms.py``):

- :class:`MultiCategorical` for gymnasium's ``MultiDiscrete(nvec)``: one categorical per part,
  over the logits laid side by side (``[N, sum(nvec)]``); an action is ``[N, len(nvec)]``
  indices, its log-prob and entropy the sums over the parts.
- :class:`Bernoulli` for ``MultiBinary(n)``: one independent bit per logit (``[N, n]``); an
  action is ``[N, n]`` of 0/1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from distrl.distributions.categorical import Categorical


class MultiCategorical:
    def __init__(self, nvec: Sequence[int]) -> None:
        self.nvec = tuple(int(k) for k in nvec)
        self._cuts = np.cumsum(self.nvec)[:-1]

    def parts(self, params: np.ndarray) -> list[np.ndarray]:
        """The logits ``[N, sum(nvec)]`` split into one ``[N, nvec[i]]`` block per part."""
        return np.split(np.asarray(params), self._cuts, axis=-1)

    def sample(self, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.stack([Categorical.sample(p, rng) for p in self.parts(params)], axis=-1)

    def log_prob(self, params: np.ndarray, actions: np.ndarray) -> np.ndarray:
        actions = np.asarray(actions).reshape(-1, len(self.nvec))
        parts = self.parts(params)
        return np.sum([Categorical.log_prob(p, actions[:, i]) for i, p in enumerate(parts)], axis=0)

    def entropy(self, params: np.ndarray) -> np.ndarray:
        return np.sum([Categorical.entropy(p) for p in self.parts(params)], axis=0)

    def mode(self, params: np.ndarray) -> np.ndarray:
        return np.stack([Categorical.mode(p) for p in self.parts(params)], axis=-1)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


class Bernoulli:
    """``params``: logits ``[N, n]``; actions: bits ``[N, n]`` (int64 0/1)."""

    @staticmethod
    def sample(params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        logits = np.asarray(params, dtype=np.float64)
        return (rng.random(logits.shape) < 1.0 / (1.0 + np.exp(-logits))).astype(np.int64)

    @staticmethod
    def log_prob(params: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """``sum_i a_i l_i - softplus(l_i)``: ``log sigma(l)`` for a 1, ``log sigma(-l)`` for
        a 0."""
        logits = np.asarray(params, dtype=np.float64)
        bits = np.asarray(actions, dtype=np.float64).reshape(logits.shape)
        return np.sum(bits * logits - _softplus(logits), axis=-1)

    @staticmethod
    def entropy(params: np.ndarray) -> np.ndarray:
        logits = np.asarray(params, dtype=np.float64)
        p = 1.0 / (1.0 + np.exp(-logits))
        return np.sum(_softplus(logits) - p * logits, axis=-1)

    @staticmethod
    def mode(params: np.ndarray) -> np.ndarray:
        return (np.asarray(params) > 0).astype(np.int64)
