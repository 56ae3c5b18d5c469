"""The shared action distributions against closed forms and NumPy references on hand-made
inputs: log-prob, entropy, sampling frequencies and the deterministic mode, in both the NumPy
form (acting) and the TensorFlow form (losses)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from distrl import distributions
from distrl.distributions import Categorical, DiagGaussian, tensorflow_forms
from distrl.envs import env_spec

LOGITS = np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0], [-3.0, 4.0, 1.0]])


def test_categorical_log_prob_entropy_and_mode_match_the_softmax():
    probs = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
    actions = np.array([1, 2, 0])
    expected_logp = np.log(probs[np.arange(3), actions])
    expected_entropy = -(probs * np.log(probs)).sum(-1)
    np.testing.assert_allclose(Categorical.log_prob(LOGITS, actions), expected_logp, rtol=1e-12)
    np.testing.assert_allclose(Categorical.entropy(LOGITS), expected_entropy, rtol=1e-12)
    assert math.isclose(Categorical.entropy(LOGITS)[1], math.log(3))  # uniform over 3
    assert Categorical.mode(LOGITS).tolist() == [1, 0, 1]
    tf_form = tensorflow_forms.Categorical
    np.testing.assert_allclose(tf_form.log_prob(tf.constant(LOGITS), tf.constant(actions)),
                               expected_logp, rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(tf_form.entropy(tf.constant(LOGITS)), expected_entropy, rtol=1e-6)
    assert tf_form.mode(tf.constant(LOGITS)).numpy().tolist() == [1, 0, 1]


def test_categorical_samples_follow_the_softmax():
    logits = np.repeat(LOGITS[:1], 10_000, axis=0)
    draws = Categorical.sample(logits, np.random.default_rng(0))
    assert draws.dtype == np.int64
    frequencies = np.bincount(draws, minlength=3) / len(draws)
    probs = np.exp(LOGITS[0]) / np.exp(LOGITS[0]).sum()
    # Binomial standard error at 10k draws is at most 0.005; 4 of them is a 6e-5 false alarm.
    np.testing.assert_allclose(frequencies, probs, atol=0.02)


def normal_pdf(x, mu, sigma):
    return math.exp(-((x - mu) ** 2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))


def test_gaussian_log_prob_entropy_and_mode_match_the_closed_forms():
    rng = np.random.default_rng(0)
    mean, log_std = rng.normal(size=(5, 3)), rng.normal(scale=0.5, size=(5, 3))
    params, actions = np.concatenate([mean, log_std], -1), rng.normal(size=(5, 3))
    expected = [sum(math.log(normal_pdf(actions[n, i], mean[n, i], math.exp(log_std[n, i])))
                    for i in range(3)) for n in range(5)]  # fmt: skip
    np.testing.assert_allclose(DiagGaussian.log_prob(params, actions), expected, rtol=1e-10)
    tf_form = tensorflow_forms.DiagGaussian
    np.testing.assert_allclose(tf_form.log_prob(tf.constant(params), tf.constant(actions)),
                               expected, rtol=1e-10)  # fmt: skip
    # Differential entropy of a normal: 0.5 log(2 pi e sigma^2), summed over independent dims.
    h = [sum(0.5 * math.log(2 * math.pi * math.e * math.exp(2 * s)) for s in row)
         for row in log_std]  # fmt: skip
    np.testing.assert_allclose(DiagGaussian.entropy(params), h, rtol=1e-10)
    np.testing.assert_allclose(tf_form.entropy(tf.constant(params)), h, rtol=1e-10)
    np.testing.assert_array_equal(DiagGaussian.mode(params), mean)
    np.testing.assert_array_equal(tf_form.mode(tf.constant(params)).numpy(), mean)


def test_gaussian_samples_have_the_mean_and_std():
    params = np.repeat(np.array([[1.5, -0.5, np.log(0.3), np.log(2.0)]]), 10_000, axis=0)
    draws = DiagGaussian.sample(params, np.random.default_rng(1))
    assert draws.shape == (10_000, 2)
    # Standard errors at 10k draws: mean 0.003 and 0.02, std about 0.7% of sigma.
    np.testing.assert_allclose(draws.mean(0), [1.5, -0.5], atol=0.06)
    np.testing.assert_allclose(draws.std(0), [0.3, 2.0], rtol=0.03)


@pytest.mark.parametrize(("env", "family"), [("CartPole-v1", Categorical),
                                             ("Pendulum-v1", DiagGaussian)])  # fmt: skip
def test_the_action_space_picks_the_family(env, family):
    spec = env_spec(env)
    assert distributions.for_spec(spec) is family
    assert tensorflow_forms.for_spec(spec).__name__ == family.__name__
