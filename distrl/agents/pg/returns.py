"""Monte Carlo returns of complete episodes, and their normalisation (no framework imports)."""

from __future__ import annotations

import numpy as np


def discounted_returns(
    rewards: np.ndarray, gamma: float, reset_at_reward: bool = False
) -> np.ndarray:
    """``G_t = r_t + gamma G_{t+1}`` over one complete episode ``rewards`` [T].

    ``reset_at_reward`` restarts the sum at every non-zero reward, so each return only credits
    the actions since the previous point (seed 002, for Pong, where a reward ends a rally).
    """
    out = np.zeros(len(rewards), dtype=np.float64)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        if reset_at_reward and rewards[t] != 0:
            running = 0.0
        running = float(rewards[t]) + gamma * running
        out[t] = running
    return out


def normalize_returns(returns: np.ndarray, mode: str) -> np.ndarray:
    """``standardize``: zero mean, unit std; ``std``: divided by the std of the centred returns,
    the mean kept (seed 002's ``rewards / np.std(rewards - np.mean(rewards))``); ``none``."""
    if mode == "none" or len(returns) == 0:
        return returns
    std = float(np.std(returns - returns.mean())) + 1e-8
    if mode == "std":
        return returns / std
    return (returns - returns.mean()) / std
