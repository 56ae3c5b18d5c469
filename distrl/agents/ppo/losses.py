"""PPO's clipped objective on one minibatch (TensorFlow), written so a test can hold it against
an independent NumPy computation. Usage::

    terms = ppo_terms(logits, values, batch, clip=0.2, clip_vf=None, normalize=True)
    loss = terms["policy_loss"] + vf_coef * terms["value_loss"] - ent_coef * terms["entropy"]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from distrl.distributions.tensorflow_forms import Categorical


class Minibatch(NamedTuple):
    """Rows of a PPO batch. ``old_logp`` and ``old_values`` are the acting policy's, recorded
    when the data was collected (the ratio and the value clip are taken against them)."""

    obs: np.ndarray | tf.Tensor  # [N, *obs]
    actions: np.ndarray | tf.Tensor  # [N] int64, or [N, A] float32 (Gaussian)
    old_logp: np.ndarray | tf.Tensor  # [N] float32: log pi_old(a | s)
    advantages: np.ndarray | tf.Tensor  # [N] float32
    returns: np.ndarray | tf.Tensor  # [N] float32: value targets
    old_values: np.ndarray | tf.Tensor  # [N] float32: V_old(s)


def ppo_terms(
    logits: tf.Tensor,
    values: tf.Tensor,
    batch: Minibatch,
    *,
    clip: float,
    clip_vf: float | None,
    normalize: bool,
    distribution: Any = Categorical,
) -> dict[str, tf.Tensor]:
    """The loss terms and diagnostics of Schulman et al. 2017 as Stable-Baselines3 computes them:

    * ``policy_loss = -mean(min(r A, clip(r, 1 - eps, 1 + eps) A))``, ``r = pi / pi_old``, with
      ``A`` standardised over the minibatch when ``normalize``;
    * ``value_loss = mean((R - V')^2)``, ``V' = V_old + clip(V - V_old, -clip_vf, clip_vf)``
      (``V' = V`` without ``clip_vf``);
    * ``entropy``: mean entropy of the policy;
    * ``distribution``: the TensorFlow form of the policy's action distribution
      (``distrl/distributions``), whose parameters ``logits`` are;
    * ``approx_kl = mean((r - 1) - log r)`` and ``clip_fraction = mean(|r - 1| > eps)``.
    """
    logp = distribution.log_prob(logits, batch.actions)  # [N]
    advantages = batch.advantages
    if normalize:
        mean, var = tf.nn.moments(advantages, axes=[0])
        advantages = (advantages - mean) / (tf.sqrt(var) + 1e-8)
    log_ratio = logp - batch.old_logp
    ratio = tf.exp(log_ratio)
    clipped_ratio = tf.clip_by_value(ratio, 1.0 - clip, 1.0 + clip)
    surrogate = tf.minimum(ratio * advantages, clipped_ratio * advantages)
    predicted = values
    if clip_vf is not None:
        change = tf.clip_by_value(values - batch.old_values, -clip_vf, clip_vf)
        predicted = batch.old_values + change
    return {
        "policy_loss": -tf.reduce_mean(surrogate),
        "value_loss": tf.reduce_mean(tf.square(batch.returns - predicted)),
        "entropy": tf.reduce_mean(distribution.entropy(logits)),
        "approx_kl": tf.reduce_mean((ratio - 1.0) - log_ratio),
        "clip_fraction": tf.reduce_mean(tf.cast(tf.abs(ratio - 1.0) > clip, tf.float32)),
    }
