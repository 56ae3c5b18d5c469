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


def test_multi_part_action_spaces_pick_their_family():
    from distrl.envs import EnvOptions

    options = EnvOptions(imports=("tests.envs.spaces",))
    parts, bits = (env_spec(e, options=options) for e in ("MatchTargetParts-v0",
                                                          "MatchTargetBits-v0"))  # fmt: skip
    assert (parts.action_shape, bits.action_shape) == ((2,), (4,))
    assert distributions.for_spec(parts).nvec == (3, 3)  # a MultiCategorical
    assert tensorflow_forms.for_spec(parts).nvec == [3, 3]
    assert distributions.for_spec(bits) is distributions.Bernoulli
    assert tensorflow_forms.for_spec(bits) is tensorflow_forms.Bernoulli


def softmax(logits):
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# Two parts: 3 choices, then 2 (MultiDiscrete([3, 2])); rows are independent examples.
PARTS = np.array([[1.0, 2.0, 0.5, 0.3, -0.3], [0.0, 0.0, 0.0, 2.0, 2.0]])


def test_multi_categorical_sums_the_parts_log_probs_and_entropies():
    dist = distributions.MultiCategorical((3, 2))
    actions = np.array([[1, 0], [2, 1]])
    first, second = softmax(PARTS[:, :3]), softmax(PARTS[:, 3:])
    rows = np.arange(2)
    expected_logp = np.log(first[rows, actions[:, 0]]) + np.log(second[rows, actions[:, 1]])
    entropy = -(first * np.log(first)).sum(-1) - (second * np.log(second)).sum(-1)
    np.testing.assert_allclose(dist.log_prob(PARTS, actions), expected_logp, rtol=1e-12)
    np.testing.assert_allclose(dist.entropy(PARTS), entropy, rtol=1e-12)
    assert dist.mode(PARTS).tolist() == [[1, 0], [0, 0]]
    tf_form = tensorflow_forms.MultiCategorical((3, 2))
    np.testing.assert_allclose(tf_form.log_prob(tf.constant(PARTS), tf.constant(actions)),
                               expected_logp, rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(tf_form.entropy(tf.constant(PARTS)), entropy, rtol=1e-6)
    assert tf_form.mode(tf.constant(PARTS)).numpy().tolist() == [[1, 0], [0, 0]]


def test_multi_categorical_samples_each_part_by_its_softmax():
    draws = distributions.MultiCategorical((3, 2)).sample(
        np.repeat(PARTS[:1], 10_000, axis=0), np.random.default_rng(3)
    )
    assert draws.shape == (10_000, 2) and draws.dtype == np.int64
    for part, (lo, hi) in enumerate([(0, 3), (3, 5)]):
        frequencies = np.bincount(draws[:, part], minlength=hi - lo) / len(draws)
        np.testing.assert_allclose(frequencies, softmax(PARTS[0, lo:hi]), atol=0.02)


BITS = np.array([[2.0, -1.0, 0.0, 0.5], [-3.0, 3.0, 1.0, -0.2]])


def test_bernoulli_log_prob_entropy_and_mode_match_the_sigmoid():
    p = 1.0 / (1.0 + np.exp(-BITS))
    actions = np.array([[1, 0, 1, 0], [0, 0, 1, 1]])
    expected_logp = np.sum(np.where(actions == 1, np.log(p), np.log(1 - p)), axis=-1)
    entropy = -np.sum(p * np.log(p) + (1 - p) * np.log(1 - p), axis=-1)
    dist = distributions.Bernoulli
    np.testing.assert_allclose(dist.log_prob(BITS, actions), expected_logp, rtol=1e-12)
    np.testing.assert_allclose(dist.entropy(BITS), entropy, rtol=1e-12)
    assert dist.mode(BITS).tolist() == [[1, 0, 0, 1], [0, 1, 1, 0]]
    tf_form = tensorflow_forms.Bernoulli
    np.testing.assert_allclose(tf_form.log_prob(tf.constant(BITS), tf.constant(actions)),
                               expected_logp, rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(tf_form.entropy(tf.constant(BITS)), entropy, rtol=1e-6)
    assert tf_form.mode(tf.constant(BITS)).numpy().tolist() == [[1, 0, 0, 1], [0, 1, 1, 0]]


def test_bernoulli_samples_each_bit_by_its_sigmoid():
    draws = distributions.Bernoulli.sample(np.repeat(BITS[:1], 10_000, axis=0),
                                           np.random.default_rng(4))  # fmt: skip
    assert draws.shape == (10_000, 4) and set(np.unique(draws)) <= {0, 1}
    np.testing.assert_allclose(draws.mean(0), 1.0 / (1.0 + np.exp(-BITS[0])), atol=0.02)


def test_masked_logits_give_a_categorical_over_the_legal_actions_only():
    logits = np.array([[1.0, 2.0, 0.5, -1.0]])
    mask = np.array([[1, 0, 1, 1]])
    masked = distributions.mask_logits(logits, mask)
    legal = softmax(logits[:, [0, 2, 3]])
    draws = Categorical.sample(np.repeat(masked, 10_000, axis=0), np.random.default_rng(5))
    assert 1 not in draws  # never the illegal action
    np.testing.assert_allclose(np.bincount(draws, minlength=4)[[0, 2, 3]] / 10_000, legal[0],
                               atol=0.02)  # fmt: skip
    np.testing.assert_allclose(Categorical.log_prob(masked, np.array([2])), np.log(legal[0, 1]))
    np.testing.assert_allclose(Categorical.entropy(masked), -(legal * np.log(legal)).sum(-1))
    assert Categorical.mode(masked).tolist() == [0]  # the best legal action, not action 1
    as_tf = tf.constant(masked, tf.float32)  # finite in float32 too: no NaN in the losses
    np.testing.assert_allclose(tensorflow_forms.Categorical.entropy(as_tf),
                               -(legal * np.log(legal)).sum(-1), rtol=1e-5)  # fmt: skip


def test_empty_masks_are_found_per_part():
    masks = np.array([[1, 0, 0, 0, 1], [0, 0, 0, 1, 1], [1, 1, 1, 0, 0], [0, 1, 0, 1, 0]])
    assert distributions.empty_mask_rows(masks, (3, 2)).tolist() == [1, 2]
    assert distributions.empty_mask_rows(masks, (5,)).tolist() == []
