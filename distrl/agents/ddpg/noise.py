"""Exploration noise for continuous actions, one independent process per env copy (NumPy)."""

from __future__ import annotations

import numpy as np


class OrnsteinUhlenbeckNoise:
    """``x <- x + theta (mu - x) dt + sigma sqrt(dt) N(0, 1)``, per env and action dimension.

    Temporally correlated, so a pendulum or a car keeps pushing one way for a while. Each env's
    process restarts at ``mu`` when its episode ends (:meth:`reset`).
    """

    def __init__(
        self, *, shape: tuple[int, int], theta: float, mu: float, sigma: float, dt: float
    ) -> None:
        self.theta, self.mu, self.sigma, self.dt = theta, mu, sigma, dt
        self.state = np.full(shape, mu, dtype=np.float64)  # [B, A]

    def __call__(self, rng: np.random.Generator, rows: int | None = None) -> np.ndarray:
        """The next noise of env copies ``0..rows-1`` (default: all); more rows than the
        process has start new ones at ``mu`` (the service acts for batches of any size)."""
        n = len(self.state) if rows is None else rows
        if n > len(self.state):
            extra = np.full((n - len(self.state), self.state.shape[1]), self.mu)
            self.state = np.concatenate([self.state, extra])
        x = self.state[:n]
        x += self.theta * (self.mu - x) * self.dt + self.sigma * np.sqrt(
            self.dt
        ) * rng.standard_normal(x.shape)
        return x.copy()

    def reset(self, envs: np.ndarray) -> None:
        """Restart the processes of the env copies flagged in ``envs`` ([B] bool)."""
        self.state[: len(envs)][envs] = self.mu


class GaussianNoise:
    """Independent ``N(mu, sigma^2)`` each step; nothing to reset."""

    def __init__(self, *, shape: tuple[int, int], mu: float, sigma: float) -> None:
        self.shape, self.mu, self.sigma = shape, mu, sigma

    def __call__(self, rng: np.random.Generator, rows: int | None = None) -> np.ndarray:
        shape = self.shape if rows is None else (rows, self.shape[1])
        return self.mu + self.sigma * rng.standard_normal(shape)

    def reset(self, envs: np.ndarray) -> None:
        pass
