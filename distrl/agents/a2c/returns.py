"""Advantage and return estimators over time-major ``[T, B]`` fragments (NumPy, no framework).

Bootstrapping follows gymnasium's two episode ends:

* ``terminated[t]``: the MDP ended; the value after step ``t`` is 0.
* ``truncated[t]``: a time limit cut the episode; the value after step ``t`` is V(true final
  observation), which the caller passes in ``next_values[t]``.

When both are set on one step, termination wins (there is nothing to bootstrap). In either case
nothing flows back across the episode boundary from step ``t + 1``, which belongs to the next
episode of that env copy.
"""

from __future__ import annotations

import numpy as np


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    *,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation; returns ``(advantages, value_targets)``, each [T, B].

    ``values[t]`` is V(s_t); ``next_values[t]`` the value of the state after step ``t`` (the next
    observation, or the true final one after truncation). With ``lam = 1`` the targets are the
    n-step returns bootstrapped at the fragment's end.
    """
    not_terminated = 1.0 - terminated.astype(np.float32)
    not_done = 1.0 - (terminated | truncated).astype(np.float32)
    advantages = np.zeros_like(rewards, dtype=np.float32)
    carry = np.zeros(rewards.shape[1:], dtype=np.float32)  # [B]
    for t in reversed(range(rewards.shape[0])):
        delta = rewards[t] + gamma * not_terminated[t] * next_values[t] - values[t]
        carry = delta + gamma * lam * not_done[t] * carry
        advantages[t] = carry
    return advantages, advantages + values


def nstep_returns(
    rewards: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    *,
    gamma: float,
) -> np.ndarray:
    """Discounted returns to the end of the episode or fragment, whichever comes first,
    bootstrapped there: the A2C/A3C target with ``t_max = T``. Shape [T, B]."""
    done = terminated | truncated
    returns = np.zeros_like(rewards, dtype=np.float32)
    carry = np.zeros(rewards.shape[1:], dtype=np.float32)  # [B]: return from step t + 1 on
    last = rewards.shape[0] - 1
    for t in reversed(range(rewards.shape[0])):
        bootstrap = np.where(terminated[t], 0.0, next_values[t])
        future = np.where(done[t] | (t == last), bootstrap, carry)
        carry = rewards[t] + gamma * future
        returns[t] = carry
    return returns
