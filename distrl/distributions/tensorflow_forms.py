"""The distributions' TensorFlow forms, for losses inside compiled train steps.

Same names and meanings as the NumPy forms (``categorical.py``, ``gaussian.py``,
``multi.py``); only learners import this module, so workers that act in NumPy never load TensorFlow.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from distrl.distributions.gaussian import LOG_2PI
from distrl.distributions.squashed import EPS as SQUASH_EPS
from distrl.types import EnvSpec


def _split(params: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    half = params.shape[-1] // 2
    return params[..., :half], params[..., half:]


class Categorical:
    """``params``: logits ``[N, A]``; actions: int indices ``[N]``."""

    @staticmethod
    def log_prob(params: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        return tf.gather(tf.nn.log_softmax(params), actions, batch_dims=1)

    @staticmethod
    def entropy(params: tf.Tensor) -> tf.Tensor:
        logp = tf.nn.log_softmax(params)
        return -tf.reduce_sum(tf.exp(logp) * logp, axis=-1)

    @staticmethod
    def mode(params: tf.Tensor) -> tf.Tensor:
        return tf.argmax(params, axis=-1, output_type=tf.int64)


class DiagGaussian:
    """``params``: ``[mean, log_std]`` ``[N, 2A]``; actions: float vectors ``[N, A]``."""

    @staticmethod
    def log_prob(params: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        mean, log_std = _split(params)
        z = (actions - mean) * tf.exp(-log_std)
        return -0.5 * tf.reduce_sum(z * z + 2.0 * log_std + LOG_2PI, axis=-1)

    @staticmethod
    def entropy(params: tf.Tensor) -> tf.Tensor:
        _, log_std = _split(params)
        return tf.reduce_sum(log_std + 0.5 * (LOG_2PI + 1.0), axis=-1)

    @staticmethod
    def mode(params: tf.Tensor) -> tf.Tensor:
        return _split(params)[0]


class SquashedGaussian:
    """SAC's tanh-squashed Gaussian (NumPy form and meaning in ``squashed.py``)."""

    @staticmethod
    def sample_with_log_prob(params: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """A reparameterised sample ``tanh(mean + std * z)`` (gradients flow to ``params``)
        and its log-density, ``([N, A], [N])``."""
        mean, log_std = _split(params)
        u = mean + tf.exp(log_std) * tf.random.normal(tf.shape(mean))
        squashed = tf.tanh(u)
        correction = tf.reduce_sum(tf.math.log(1.0 - squashed**2 + SQUASH_EPS), axis=-1)
        return squashed, DiagGaussian.log_prob(params, u) - correction

    @staticmethod
    def mode(params: tf.Tensor) -> tf.Tensor:
        return tf.tanh(_split(params)[0])


class MultiCategorical:
    """One categorical per part of a ``MultiDiscrete(nvec)``: logits ``[N, sum(nvec)]``;
    actions: int indices ``[N, len(nvec)]``; log-probs and entropies summed over the parts."""

    def __init__(self, nvec: tuple[int, ...]) -> None:
        self.nvec = [int(k) for k in nvec]

    def log_prob(self, params: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        parts = tf.split(params, self.nvec, axis=-1)
        return tf.add_n([Categorical.log_prob(p, actions[:, i]) for i, p in enumerate(parts)])

    def entropy(self, params: tf.Tensor) -> tf.Tensor:
        return tf.add_n([Categorical.entropy(p) for p in tf.split(params, self.nvec, axis=-1)])

    def mode(self, params: tf.Tensor) -> tf.Tensor:
        parts = tf.split(params, self.nvec, axis=-1)
        return tf.stack([Categorical.mode(p) for p in parts], axis=-1)


class Bernoulli:
    """One bit per logit of a ``MultiBinary(n)``: logits ``[N, n]``; actions: 0/1 ``[N, n]``."""

    @staticmethod
    def log_prob(params: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        bits = tf.cast(actions, params.dtype)
        return tf.reduce_sum(bits * params - tf.nn.softplus(params), axis=-1)

    @staticmethod
    def entropy(params: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(tf.nn.softplus(params) - tf.sigmoid(params) * params, axis=-1)

    @staticmethod
    def mode(params: tf.Tensor) -> tf.Tensor:
        return tf.cast(params > 0, tf.int64)


def for_spec(spec: EnvSpec) -> Any:
    """The TensorFlow form of :func:`distrl.distributions.for_spec`'s choice."""
    if spec.action_kind == "multi_discrete":
        return MultiCategorical(spec.action_nvec)
    if spec.action_kind == "multi_binary":
        return Bernoulli
    return DiagGaussian if spec.action_kind == "continuous" else Categorical


def action_signature(spec: EnvSpec) -> tf.TensorSpec:
    """Actions in a training batch: ``[N]`` int64 indices, ``[N, A]`` float32 vectors, or
    ``[N, K]`` int64 parts (multi-discrete, multi-binary)."""
    if spec.action_kind == "continuous":
        return tf.TensorSpec([None, spec.num_actions], tf.float32)
    if spec.action_shape:
        return tf.TensorSpec([None, *spec.action_shape], tf.int64)
    return tf.TensorSpec([None], tf.int64)
