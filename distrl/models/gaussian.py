"""Diagonal Gaussian policies for continuous actions: the head's layout and its log-prob and
entropy in TensorFlow, for the losses (the NumPy forms, for acting and V-trace, are in
``agents/a2c/acting.py``, which workers import without TensorFlow).

An actor-critic for a ``Box`` action space outputs ``[params, value]`` with ``params`` of shape
``[N, 2 A]``: the mean, then a state-independent log-std (a learned bias, the same for every
observation), as in Stable-Baselines3 and CleanRL. Actions are sampled unbounded; the worker
clips them to the env's box when it steps (the log-prob is of the unclipped sample, as SB3).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

LOG_2PI = math.log(2.0 * math.pi)


def split(params: tf.Tensor | np.ndarray) -> tuple:
    """``[N, 2A]`` -> ``(mean [N, A], log_std [N, A])``, tensors or arrays."""
    half = params.shape[-1] // 2
    return params[..., :half], params[..., half:]


def log_prob(params: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
    """``sum_i log N(a_i; mu_i, sigma_i)`` over the action dimensions: ``[N]``."""
    mean, log_std = split(params)
    z = (actions - mean) * tf.exp(-log_std)
    return -0.5 * tf.reduce_sum(z * z + 2.0 * log_std + LOG_2PI, axis=-1)


def entropy(params: tf.Tensor) -> tf.Tensor:
    """``sum_i (log sigma_i + 0.5 log(2 pi e))``: ``[N]``."""
    _, log_std = split(params)
    return tf.reduce_sum(log_std + 0.5 * (LOG_2PI + 1.0), axis=-1)


def action_log_probs(logits: tf.Tensor, actions: tf.Tensor, continuous: bool) -> tf.Tensor:
    """log pi(a | s) for a categorical (``logits [N, A]``, ``actions [N]`` int) or a Gaussian
    (``params [N, 2A]``, ``actions [N, A]`` float) policy."""
    if continuous:
        return log_prob(logits, actions)
    return tf.gather(tf.nn.log_softmax(logits), actions, batch_dims=1)


def policy_entropy(logits: tf.Tensor, continuous: bool) -> tf.Tensor:
    """The policy's entropy per row, ``[N]``."""
    if continuous:
        return entropy(logits)
    logp_all = tf.nn.log_softmax(logits)
    return -tf.reduce_sum(tf.exp(logp_all) * logp_all, axis=-1)
