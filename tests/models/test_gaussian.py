"""Diagonal Gaussian policies (A2C and PPO on continuous actions): the NumPy acting path against
the Keras model, and clipping only at the env (the distribution's own formulas are tested in
tests/test_distributions.py)."""

import gymnasium as gym
import numpy as np

from distrl.agents.acting import StochasticPolicy
from distrl.config import build_config
from distrl.distributions import DiagGaussian
from distrl.envs import env_spec
from distrl.models.builders import build_model
from distrl.models.keras_forward import KerasForward
from distrl.types import WeightsMessage
from tests.parts import policy_of, worker_of

PENDULUM = env_spec("Pendulum-v1")  # 3 observations, 1 action in [-2, 2]


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
    numpy_policy = policy_of(config, spec=PENDULUM)
    assert isinstance(numpy_policy, StochasticPolicy)
    assert numpy_policy.distribution is DiagGaussian
    numpy_policy.set_weights(message)
    keras_policy = StochasticPolicy(KerasForward(model, PENDULUM, jit=False), PENDULUM)
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

    spec = env_spec("distrl-test/Recorder-v0")
    config = build_config({"env": "distrl-test/Recorder-v0", "envs_per_worker": 2,
                           "rollout_len": 32})  # fmt: skip
    worker = worker_of(config, spec=spec, seed=0)
    model = build_model(spec, config.model)
    weights, names = model.get_weights(), tuple(v.path for v in model.weights)
    weights[names.index("log_std/bias")][:] = np.log(5.0)  # sigma 5 on a box of [-1, 1]
    fragment = worker.sample(WeightsMessage(version=1, names=names, weights=weights))
    assert fragment.actions.shape == (32, 2, 1) and fragment.actions.dtype == np.float32
    assert np.abs(fragment.actions).max() > 2.0  # the learner sees the unclipped samples
    assert Recorder.largest == 1.0  # the env saw them clipped to its box
