"""The tanh-squashed diagonal Gaussian of SAC (Haarnoja et al. 2018, appendix C), NumPy; its
TensorFlow twin is :class:`distrl.distributions.tensorflow_forms.SquashedGaussian`.

``params`` ``[N, 2A]`` are the pre-squash mean and log-std. A sample is ``tanh(u)`` with
``u ~ N(mean, std)``, in ``[-1, 1]`` (the caller scales it to the action box); its log-density
is the Gaussian's minus ``sum_i log(1 - tanh(u_i)^2 + EPS)``, the change of variables.
"""

from __future__ import annotations

import numpy as np

from distrl.distributions.gaussian import DiagGaussian, split

EPS = 1e-6  # keeps the correction finite at |tanh(u)| = 1 (as Stable-Baselines3)


class SquashedGaussian:
    """``params``: ``[mean, log_std]`` ``[N, 2A]`` before the squash; actions in ``[-1, 1]``."""

    @staticmethod
    def sample_with_log_prob(
        params: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(tanh(u) [N, A], log-density [N])`` with ``u`` drawn from the Gaussian."""
        u = DiagGaussian.sample(params, rng)
        return np.tanh(u), SquashedGaussian.log_prob_of_presquash(params, u)

    @staticmethod
    def log_prob_of_presquash(params: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The log-density of ``tanh(u)``, from the pre-squash sample ``u``, ``[N]``."""
        squashed = np.tanh(u)
        return DiagGaussian.log_prob(params, u) - np.sum(np.log(1.0 - squashed**2 + EPS), -1)

    @staticmethod
    def mode(params: np.ndarray) -> np.ndarray:
        """``tanh(mean)``: the deterministic action, ``[N, A]`` in ``[-1, 1]``."""
        return np.tanh(split(np.asarray(params))[0])
