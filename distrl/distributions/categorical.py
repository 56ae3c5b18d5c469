"""The categorical distribution over ``A`` discrete actions, from unnormalised logits
``[N, A]`` (NumPy; its TensorFlow twin is in ``tensorflow_forms.py``)."""

from __future__ import annotations

import numpy as np

# The logit of an action its mask forbids: its probability underflows to exactly 0 in float32,
# and 0 * MASKED_LOGIT keeps entropies finite (where -inf would give NaN).
MASKED_LOGIT = -1e9


def mask_logits(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``logits`` where ``mask`` is 1 (legal), ``MASKED_LOGIT`` where it is 0."""
    return np.where(np.asarray(mask) > 0.5, logits, np.float32(MASKED_LOGIT)).astype(logits.dtype)


def empty_mask_rows(mask: np.ndarray, parts: tuple[int, ...]) -> np.ndarray:
    """Rows of ``mask`` ``[B, sum(parts)]`` where some part (``parts``: the choices of each)
    has no legal action: no action can be taken there."""
    blocks = np.split(np.asarray(mask) > 0.5, np.cumsum(parts)[:-1], axis=-1)
    return np.flatnonzero(~np.all([b.any(axis=-1) for b in blocks], axis=0))


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
