"""Diagonal Gaussian policies (A2C and PPO on continuous actions): log-prob and entropy against
closed forms, the NumPy acting path against the Keras model, and clipping only at the env."""

import math

import gymnasium as gym
import numpy as np
import tensorflow as tf

from distrl.agents.a2c.acting import GaussianPolicy, categorical_policy, gaussian_log_prob
from distrl.config import build_config
from distrl.envs import env_spec
from distrl.models.builders import build_model
from distrl.models.gaussian import entropy, log_prob
from distrl.models.keras_forward import KerasForward
from distrl.types import WeightsMessage

PENDULUM = env_spec("Pendulum-v1")  # 3 observations, 1 action in [-2, 2]


def normal_pdf(x, mu, sigma):
    return math.exp(-((x - mu) ** 2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))


def test_log_prob_and_entropy_match_the_closed_forms():
    rng = np.random.default_rng(0)
    mean, log_std = rng.normal(size=(5, 3)), rng.normal(scale=0.5, size=(5, 3))
    params, actions = np.concatenate([mean, log_std], -1), rng.normal(size=(5, 3))
    expected = [sum(math.log(normal_pdf(actions[n, i], mean[n, i], math.exp(log_std[n, i])))
                    for i in range(3)) for n in range(5)]  # fmt: skip
    np.testing.assert_allclose(log_prob(tf.constant(params), tf.constant(actions)), expected,
                               rtol=1e-10)  # fmt: skip
    np.testing.assert_allclose(gaussian_log_prob(params, actions), expected, rtol=1e-10)
    # Differential entropy of a normal: 0.5 log(2 pi e sigma^2), summed over independent dims.
    h = [sum(0.5 * math.log(2 * math.pi * math.e * math.exp(2 * s)) for s in row)
         for row in log_std]  # fmt: skip
    np.testing.assert_allclose(entropy(tf.constant(params)), h, rtol=1e-10)


def trained_like_weights(model, rng):
    """Weights that are not the initial ones (whose mean head is almost 0 and log-std 0)."""
    return [rng.normal(scale=0.3, size=w.shape).astype(np.float32) for w in model.get_weights()]


def test_numpy_acting_matches_the_keras_model_and_samples_its_distribution():
    config = build_config({"env": "Pendulum-v1", "envs_per_worker": 4})
    model = build_model(PENDULUM, config.model)
    weights = trained_like_weights(model, np.random.default_rng(1))
    model.set_weights(weights)
    message = WeightsMessage(version=1, names=tuple(v.path for v in model.weights),
                             weights=weights)  # fmt: skip
    numpy_policy = categorical_policy(spec=PENDULUM, config=config)
    assert isinstance(numpy_policy, GaussianPolicy)
    numpy_policy.set_weights(message)
    keras_policy = GaussianPolicy(KerasForward(model, PENDULUM, jit=False), PENDULUM)
    obs = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    a1, lp1 = numpy_policy.act(obs, np.random.default_rng(3))
    a2, lp2 = keras_policy.act(obs, np.random.default_rng(3))
    np.testing.assert_allclose(a1, a2, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(lp1, lp2, rtol=1e-4, atol=1e-4)
    # The log-std is one learned value for every observation, and sampling follows it.
    params = model(obs)[0].numpy()
    assert np.allclose(params[:, 1], params[0, 1])
    many = np.repeat(obs[:1], 20_000, axis=0)
    actions, _ = numpy_policy.act(many, np.random.default_rng(4))
    np.testing.assert_allclose(actions.mean(), params[0, 0], atol=0.05 * np.exp(params[0, 1]))
    np.testing.assert_allclose(actions.std(), np.exp(params[0, 1]), rtol=0.03)
    greedy = numpy_policy.act_greedy(obs)
    np.testing.assert_allclose(greedy[:, 0], np.clip(params[:, 0], -2, 2), rtol=1e-5)


class Recorder(gym.Env):
    """A box of [-1, 1] that keeps the largest |action| it was given (it clips nothing)."""

    largest = 0.0
    observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(3, np.float32), {}

    def step(self, action):
        Recorder.largest = max(Recorder.largest, float(np.abs(action).max()))
        return np.zeros(3, np.float32), 0.0, False, False, {}


gym.register("distrl-test/Recorder-v0", entry_point=Recorder, max_episode_steps=50)


def test_the_env_gets_clipped_actions_the_fragment_keeps_the_samples():
    from distrl.rollout import RolloutWorker

    spec = env_spec("distrl-test/Recorder-v0")
    config = build_config({"env": "distrl-test/Recorder-v0", "envs_per_worker": 2,
                           "rollout_len": 32})  # fmt: skip
    worker = RolloutWorker(config=config, spec=spec, worker_index=0,
                           seed=np.random.SeedSequence(0))  # fmt: skip
    model = build_model(spec, config.model)
    weights, names = model.get_weights(), tuple(v.path for v in model.weights)
    weights[names.index("log_std/bias")][:] = np.log(5.0)  # sigma 5 on a box of [-1, 1]
    fragment = worker.sample(WeightsMessage(version=1, names=names, weights=weights))
    assert fragment.actions.shape == (32, 2, 1) and fragment.actions.dtype == np.float32
    assert np.abs(fragment.actions).max() > 2.0  # the learner sees the unclipped samples
    assert Recorder.largest == 1.0  # the env saw them clipped to its box
