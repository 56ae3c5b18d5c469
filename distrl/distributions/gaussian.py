"""The diagonal Gaussian over ``A``-dimensional continuous actions (NumPy; its TensorFlow twin
is in ``tensorflow_forms.py``).

``params`` ``[N, 2A]`` are the mean, then the log standard deviation, as the actor-critic's
Gaussian head lays them out (``models/gaussian.py``). Samples are unbounded; whoever steps the
env clips them to its box, and log-probs are of the unclipped sample (as Stable-Baselines3).
"""

from __future__ import annotations

import math

import numpy as np

LOG_2PI = math.log(2.0 * math.pi)


def split(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[N, 2A]`` -> ``(mean [N, A], log_std [N, A])``."""
    half = params.shape[-1] // 2
    return params[..., :half], params[..., half:]


class DiagGaussian:
    """``params``: ``[mean, log_std]`` ``[N, 2A]``; actions: vectors ``[N, A]``."""

    @staticmethod
    def sample(params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``mean + std * z`` with ``z ~ N(0, I)`` from the caller's generator, ``[N, A]``."""
        mean, log_std = split(np.asarray(params, dtype=np.float64))
        return mean + np.exp(log_std) * rng.standard_normal(mean.shape)

    @staticmethod
    def log_prob(params: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """``sum_i log N(a_i; mu_i, sigma_i)`` in float64, ``[N]``."""
        mean, log_std = split(np.asarray(params, dtype=np.float64))
        z = (np.asarray(actions, dtype=np.float64) - mean) * np.exp(-log_std)
        return -0.5 * np.sum(z * z + 2.0 * log_std + LOG_2PI, axis=-1)

    @staticmethod
    def entropy(params: np.ndarray) -> np.ndarray:
        """``sum_i (log sigma_i + 0.5 log(2 pi e))``, ``[N]``."""
        _, log_std = split(np.asarray(params, dtype=np.float64))
        return np.sum(log_std + 0.5 * (LOG_2PI + 1.0), axis=-1)

    @staticmethod
    def mode(params: np.ndarray) -> np.ndarray:
        """The mean, ``[N, A]`` (unclipped: clip it to the action box before stepping)."""
        return split(np.asarray(params))[0]
