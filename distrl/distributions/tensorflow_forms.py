"""The distributions' TensorFlow forms, for losses inside compiled train steps.

Same names and meanings as the NumPy forms (``categorical.py``, ``gaussian.py``); only learners
import this module, so workers that act in NumPy never load TensorFlow.
"""

from __future__ import annotations

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


def for_spec(spec: EnvSpec) -> type[Categorical] | type[DiagGaussian]:
    """The TensorFlow form of :func:`distrl.distributions.for_spec`'s choice."""
    return DiagGaussian if spec.action_kind == "continuous" else Categorical


def action_signature(spec: EnvSpec) -> tf.TensorSpec:
    """Actions in a training batch: ``[N]`` int64 indices, or ``[N, A]`` float32 vectors."""
    if spec.action_kind == "continuous":
        return tf.TensorSpec([None, spec.num_actions], tf.float32)
    return tf.TensorSpec([None], tf.int64)
