"""The categorical distribution over ``A`` discrete actions, from unnormalised logits
``[N, A]`` (NumPy; its TensorFlow twin is in ``tensorflow_forms.py``)."""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """``log softmax`` over the last axis, shifted by the maximum for stability."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Categorical:
    """``params``: logits ``[N, A]``; actions: indices ``[N]``."""

    @staticmethod
    def sample(params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One index per row, ``[N]`` int64. Gumbel-max: ``argmax(logits + Gumbel noise)`` is a
        sample of ``softmax(logits)``, drawn with the caller's generator so a seed fixes it."""
        logits = np.asarray(params, dtype=np.float64)
        return np.argmax(logits + rng.gumbel(size=logits.shape), axis=-1).astype(np.int64)

    @staticmethod
    def log_prob(params: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """``log pi(a)`` in float64, ``[N]``."""
        logp = log_softmax(np.asarray(params, dtype=np.float64))
        index = np.asarray(actions).reshape(-1, 1).astype(np.int64)
        return np.take_along_axis(logp, index, axis=-1)[:, 0]

    @staticmethod
    def entropy(params: np.ndarray) -> np.ndarray:
        """``-sum_a pi(a) log pi(a)``, ``[N]``."""
        logp = log_softmax(np.asarray(params, dtype=np.float64))
        return -np.sum(np.exp(logp) * logp, axis=-1)

    @staticmethod
    def mode(params: np.ndarray) -> np.ndarray:
        """The most likely action of each row, ``[N]`` int64."""
        return np.argmax(params, axis=-1).astype(np.int64)
