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

from typing import NamedTuple

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


class VTrace(NamedTuple):
    """V-trace's outputs, each [T, B]. The policy-gradient advantage of IMPALA is
    ``pg_weights * advantages``; they are kept apart so that a caller can standardise the
    advantages *before* weighting (standardising weighted ones turns the near-zero advantages of
    low-weight samples negative and drives the policy to collapse)."""

    targets: np.ndarray  # v_t: value targets
    advantages: np.ndarray  # r_t + gamma v_{t+1} - V(x_t)
    pg_weights: np.ndarray  # min(rho_bar, pi / mu)


def vtrace(
    behaviour_logp: np.ndarray,
    target_logp: np.ndarray,
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    *,
    gamma: float,
    rho_bar: float = 1.0,
    c_bar: float = 1.0,
) -> VTrace:
    """IMPALA's V-trace (Espeholt et al. 2018, eq. 1 and section 4.2), see :class:`VTrace`.

    ``behaviour_logp`` are log mu(a_t | x_t) recorded by the worker, ``target_logp`` log pi(a_t |
    x_t) under the learner's current weights. With rho_t = pi / mu:

    * ``delta_t = min(rho_bar, rho_t) (r_t + gamma V(x_{t+1}) - V(x_t))``
    * ``v_t - V(x_t) = delta_t + gamma min(c_bar, rho_t) (v_{t+1} - V(x_{t+1}))``
    * policy-gradient advantage ``min(rho_bar, rho_t) (r_t + gamma v_{t+1} - V(x_t))``

    Episode ends cut the trace as in :func:`gae`: ``v_{t+1}`` after a truncation is
    V(final observation), after a termination 0, and at the fragment's end V(x_T). With
    ``pi = mu`` (and both clips >= 1) ``v_t`` are the n-step returns of :func:`nstep_returns`.
    """
    rho = np.exp(target_logp.astype(np.float64) - behaviour_logp)  # [T, B]
    clipped_rho = np.minimum(rho_bar, rho).astype(np.float32)
    c = np.minimum(c_bar, rho).astype(np.float32)
    not_terminated = 1.0 - terminated.astype(np.float32)
    not_done = 1.0 - (terminated | truncated).astype(np.float32)
    deltas = clipped_rho * (rewards + gamma * not_terminated * next_values - values)  # [T, B]
    vs_minus_v = np.zeros_like(values, dtype=np.float32)
    carry = np.zeros(rewards.shape[1:], dtype=np.float32)  # [B]: v_{t+1} - V(x_{t+1})
    for t in reversed(range(rewards.shape[0])):
        carry = deltas[t] + gamma * c[t] * not_done[t] * carry
        vs_minus_v[t] = carry
    vs = values + vs_minus_v
    # v_{t+1}: the next V-trace target inside an episode, the bootstrap value at its edges.
    vs_next = next_values.astype(np.float32).copy()
    vs_next[:-1] = np.where(not_done[:-1] > 0, vs[1:], next_values[:-1])
    advantages = rewards + gamma * not_terminated * vs_next - values
    return VTrace(targets=vs, advantages=advantages, pg_weights=clipped_rho)


class NStep(NamedTuple):
    """n-step transitions from each step of a fragment: ``returns[t]`` sums
    ``gamma^k r[t+k]`` over ``steps[t]`` steps (fewer than n where the episode or the fragment
    ends first); the transition ends at step ``last[t] = t + steps[t] - 1``, whose next
    observation and ``terminated`` flag close it."""

    returns: np.ndarray  # [T, B] float32
    steps: np.ndarray  # [T, B] int64, in 1..n
    last: np.ndarray  # [T, B] int64: the time index of each transition's final step


def nstep(
    rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, *, n: int, gamma: float
) -> NStep:
    """The n-step transitions of a ``[T, B]`` fragment (Sutton and Barto 7.1; DQN's ``n_step``,
    Ape-X's n = 3): the target is ``returns + gamma^steps (1 - terminated[last]) Q(s')``, where
    ``s'`` is the true next observation of step ``last`` (the final one after a truncation)."""
    T = rewards.shape[0]
    ended = terminated | truncated
    start = np.arange(T)[:, None] + np.zeros(rewards.shape[1:], dtype=np.int64)  # [T, B]
    total = np.zeros(rewards.shape, dtype=np.float64)
    steps = np.zeros(rewards.shape, dtype=np.int64)
    alive = np.ones(rewards.shape, dtype=bool)
    columns = np.arange(rewards.shape[1])[None, :]
    for k in range(n):
        at = start + k
        alive &= at < T
        safe = np.minimum(at, T - 1)
        total += np.where(alive, gamma**k * rewards[safe, columns], 0.0)
        steps += alive
        alive &= ~ended[safe, columns]
    return NStep(total.astype(np.float32), steps, start + steps - 1)
