"""DDPG's parts in-process: soft updates, noise, transitions from vector envs, the learner."""

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from distrl.agents.ddpg.noise import GaussianNoise, OrnsteinUhlenbeckNoise
from distrl.agents.variables import soft_update
from distrl.config import build_config
from distrl.envs import env_spec
from distrl.replay import ReplayBuffer
from tests.parts import learner_of, worker_of

COUNTING_ENV = "distrl-test/Counting-v0"


class CountingEnv(gym.Env):
    """Observation ``[episode, t]``; terminates after ``3 + episode % 3`` steps and is truncated
    at 4 by its time limit, so fragments hold both kinds of episode end. A reset observation
    always has t = 0; a true final one never does."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode = getattr(self, "episode", -1) + 1
        self.t = 0
        return np.array([self.episode, 0], np.float32), {}

    def step(self, action):
        self.t += 1
        terminated = self.t >= 3 + self.episode % 3
        return np.array([self.episode, self.t], np.float32), 1.0, terminated, False, {}


gym.register(COUNTING_ENV, entry_point=CountingEnv, max_episode_steps=4)


def test_soft_update_arithmetic():
    target, online = [tf.Variable([1.0, 2.0])], [tf.Variable([3.0, -2.0])]
    soft_update(target, online, tau=0.25)
    np.testing.assert_allclose(target[0].numpy(), [1.5, 1.0])  # .25 * 3 + .75 * 1, ...
    soft_update(target, online, tau=1.0)
    np.testing.assert_allclose(target[0].numpy(), [3.0, -2.0])


def test_ou_noise_reverts_to_its_mean_and_resets_per_env():
    rng = np.random.default_rng(0)
    silent = OrnsteinUhlenbeckNoise(shape=(2, 1), theta=0.5, mu=1.0, sigma=0.0, dt=0.1)
    silent.state[:] = 3.0
    for _ in range(10):
        x = silent(rng)
    np.testing.assert_allclose(x, 1.0 + 2.0 * 0.95**10)  # exact geometric decay to mu
    noisy = OrnsteinUhlenbeckNoise(shape=(4000, 1), theta=0.15, mu=0.3, sigma=0.2, dt=0.01)
    noisy.state[:] = -2.0
    for _ in range(5000):  # theta * dt * 5000 = 7.5 time constants
        x = noisy(rng)
    assert abs(x.mean() - 0.3) < 0.01
    # Stationary spread: sigma^2 dt / (1 - (1 - theta dt)^2) for this discretisation.
    expected_std = 0.2 * np.sqrt(0.01 / (1 - (1 - 0.0015) ** 2))
    assert abs(x.std() - expected_std) / expected_std < 0.05
    noisy.reset(np.array([True] + [False] * 3999))
    assert noisy.state[0, 0] == 0.3 and noisy.state[1, 0] != 0.3


def test_gaussian_noise_scale():
    x = GaussianNoise(shape=(100_000, 1), mu=0.0, sigma=0.3)(np.random.default_rng(0))
    assert abs(x.std() - 0.3) < 0.005 and abs(x.mean()) < 0.005


def test_no_stored_transition_has_a_reset_observation_as_next_state():
    config = build_config(
        {"algo": "ddpg", "env": COUNTING_ENV, "envs_per_worker": 3, "rollout_len": 20}
    )
    spec = env_spec(COUNTING_ENV)
    worker = worker_of(config, spec=spec, seed=0)
    learner = learner_of(config, spec=spec, seed=0)
    rollout = worker.sample(learner.weights())
    assert rollout.terminated.any() and rollout.truncated.any()
    assert rollout.actions.shape == (20, 3, 1) and rollout.actions.dtype == np.float32
    assert np.all(np.abs(rollout.actions) <= 1.0)
    buffer = ReplayBuffer(capacity=60, obs_shape=(2,), obs_dtype="float32", action_dim=1)
    buffer.add_rollout(rollout)
    assert buffer.size == 60
    assert np.all(buffer.next_obs[:, 1] >= 1)  # t = 0 only ever appears after a reset
    # Each transition moves one step on within the same episode.
    np.testing.assert_array_equal(buffer.next_obs[:, 0], buffer.obs[:, 0])
    np.testing.assert_array_equal(buffer.next_obs[:, 1], buffer.obs[:, 1] + 1)
    ends = buffer.terminated == 1
    assert ends.any() and np.all(buffer.next_obs[ends, 1] == 3 + buffer.obs[ends, 0] % 3)


@pytest.mark.slow
def test_learner_trains_only_after_learning_starts_at_the_replay_ratio():
    config = build_config(
        {"algo": "ddpg", "env": "Pendulum-v1", "envs_per_worker": 2, "rollout_len": 50,
         "ddpg": {"learning_starts": 150, "replay_ratio": 0.5, "batch_size": 32}}
    )  # fmt: skip
    spec = env_spec("Pendulum-v1")
    assert spec.action_low == (-2.0,) and spec.action_high == (2.0,)
    learner = learner_of(config, spec=spec, seed=0)
    worker = worker_of(config, spec=spec, seed=1)
    first = worker.sample(learner.weights())  # version 0: uniformly random actions
    assert first.actions.min() < -1.0 and first.actions.max() > 1.0  # the whole [-2, 2] box
    before = learner.weights().weights
    result = learner.update([first])  # 100 stored < 150: no training, no new version
    assert not result.applied and learner.version == 0 and result.env_steps == 100
    result = learner.update([worker.sample(learner.weights())])  # 200 stored: 0.5 x 100 steps
    assert result.applied and learner.version == 1
    assert result.metrics["learner/gradient_steps"] == 50
    assert np.isfinite(result.metrics["learner/critic_loss"])
    after = learner.weights().weights
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    # Trained weights reach the worker: it acts with the actor (plus noise) from now on.
    worker.sample(learner.weights())
    assert worker.policy.trained


def test_training_starts_once_learning_starts_and_one_batch_are_stored():
    """DQN, DDPG/TD3 and SAC share ``ReplayLearner.owe``: no gradient steps before
    ``max(learning_starts, batch_size)`` transitions are stored (SB3 starts at learning_starts
    alone, drawing its first batches with repeats); then ``replay_ratio`` per env step, with
    fractions carried over."""
    from types import SimpleNamespace

    from distrl.agents.replaying import ReplayLearner

    class Owing(ReplayLearner):
        def __init__(self, **keys):
            self.config = SimpleNamespace(**keys)

    below_batch = Owing(learning_starts=100, batch_size=256, replay_ratio=1.0)
    assert below_batch.owe(16, stored=240) == 0  # past learning_starts, short of one batch
    assert below_batch.owe(16, stored=256) == 16
    above_batch = Owing(learning_starts=300, batch_size=32, replay_ratio=0.5)
    assert above_batch.owe(3, stored=299) == 0  # nothing owed for steps before the start
    assert [above_batch.owe(3, stored=300 + 3 * i) for i in range(4)] == [1, 2, 1, 2]


@pytest.mark.parametrize("network", ["seed003", "seed001", "mlp"])
def test_workers_numpy_actor_matches_the_keras_actor(network):
    from tests.parts import policy_of

    config = build_config(
        {"algo": "ddpg", "env": "MountainCarContinuous-v0", "ddpg.network": network,
         "ddpg.noise_sigma": 0.0}
    )  # fmt: skip
    spec = env_spec("MountainCarContinuous-v0")
    learner = learner_of(config, spec=spec, seed=3)
    weights = learner.weights()
    policy = policy_of(config, spec=spec, num_envs=5)
    from dataclasses import replace

    policy.set_weights(replace(weights, version=1))  # a "trained" version: act with the actor
    obs = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    actions, _ = policy.act(obs, np.random.default_rng(0))
    np.testing.assert_allclose(actions, learner.actor(obs).numpy(), rtol=1e-4, atol=1e-5)


def test_ddpg_worker_never_imports_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from distrl.config import build_config\n"
        "from distrl.envs import env_spec\n"
        "from distrl.rollout import RolloutWorker\n"
        "c = build_config({'algo': 'ddpg', 'env': 'Pendulum-v1'})\n"
        "w = RolloutWorker(settings=c.rollout_settings(), algorithm=c.algo,\n"
        "                  spec=env_spec('Pendulum-v1'), worker_index=0,\n"
        "                  seed=np.random.SeedSequence(0))\n"
        "print('tensorflow' in sys.modules or 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_nan_transitions_skip_ddpg_steps_inside_the_fused_loop_and_roll_back():
    from dataclasses import replace

    config = build_config(
        {"algo": "ddpg", "env": "Pendulum-v1", "envs_per_worker": 2, "rollout_len": 20,
         "nonfinite.limit": 2,
         "ddpg": {"learning_starts": 40, "batch_size": 8, "buffer_size": 40}}
    )  # fmt: skip
    spec = env_spec("Pendulum-v1")
    learner = learner_of(config, spec=spec, seed=0)
    worker = worker_of(config, spec=spec, seed=1)
    rollout = worker.sample(learner.weights())
    poisoned = replace(rollout, rewards=np.full_like(rollout.rewards, np.nan))
    before = learner.checkpoint()[0]
    result = learner.update([poisoned])  # the buffer holds only NaN rewards: 40 steps, all skipped
    assert not result.applied and learner.version == 0
    assert result.metrics["learner/skipped_steps"] == 40
    assert result.metrics["learner/gradient_steps"] == 0
    assert result.metrics["learner/nonfinite_skipped"] == 1
    after = learner.checkpoint()[0]
    for key in before:
        if "target" not in key:  # targets move towards the unchanged online nets; nothing else
            np.testing.assert_array_equal(before[key], after[key], err_msg=key)
    result = learner.update([poisoned])  # the second in a row: rollback, rates halved
    assert result.applied and result.metrics["learner/nonfinite_rollbacks"] == 1
    assert result.metrics["learner/actor_learning_rate"] == np.float32(config.ddpg.actor_lr / 2)
    result = learner.update([rollout])  # finite data replaces the NaN in the ring buffer
    assert result.applied and result.metrics["learner/skipped_steps"] == 80


PENDULUM = env_spec("Pendulum-v1")  # torque in [-2, 2]: half-width 2


def td3_learner(**td3):
    config = build_config({"algo": "td3", "env": "Pendulum-v1", "envs_per_worker": 2,
                           "rollout_len": 16, "td3": td3})  # fmt: skip
    return config, learner_of(config, spec=PENDULUM, seed=3)


def test_td3_target_is_the_min_of_the_twin_target_critics_against_numpy():
    _, learner = td3_learner(target_noise=0.0, gamma=0.9)
    assert len(learner.target_critics) == 2
    rng = np.random.default_rng(0)
    next_obs = rng.normal(size=(16, 3)).astype(np.float32)
    rewards = rng.normal(size=16).astype(np.float32)
    terminated = (rng.random(16) < 0.3).astype(np.float32)
    got = learner.target_q(tf.constant(rewards), tf.constant(next_obs), tf.constant(terminated))
    a = learner.target_actor(next_obs).numpy()
    q1, q2 = (t([next_obs, a]).numpy()[:, 0] for t in learner.target_critics)
    assert not np.allclose(q1, q2)  # two independently initialised critics
    expected = rewards + 0.9 * (1 - terminated) * np.minimum(q1, q2)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_td3_target_smoothing_noise_is_clipped_and_kept_in_the_action_box():
    _, learner = td3_learner(target_noise=0.2, target_noise_clip=0.5)
    next_obs = np.random.default_rng(1).normal(size=(4096, 3)).astype(np.float32)
    mu = learner.target_actor(next_obs).numpy()
    noisy = learner.target_actions(tf.constant(next_obs)).numpy()
    assert noisy.min() >= -2.0 and noisy.max() <= 2.0
    inside = (np.abs(mu) < 0.9)[:, 0]  # far from the bounds: only the clip of the noise acts
    delta = (noisy - mu)[inside, 0] / 2.0  # in half-widths
    assert np.abs(delta).max() <= 0.5 + 1e-6
    assert np.isclose(np.abs(delta), 0.5, atol=1e-6).mean() > 0.005  # some hit the clip
    np.testing.assert_allclose(np.std(delta), 0.2, atol=0.02)  # N(0, 0.2) mostly unclipped


def test_td3_steps_the_actor_and_the_targets_every_policy_delay_critic_steps():
    config, learner = td3_learner(policy_delay=2, learning_starts=0, batch_size=8)
    worker = worker_of(config, spec=PENDULUM, seed=0)
    learner.update([worker.sample(learner.weights())])  # fill: stored and trained once

    def snapshot():
        return [m.get_weights() for m in (learner.actor, learner.critic, learner.target_actor)]

    def changed(before, after):
        return [not all(np.array_equal(a, b) for a, b in zip(x, y, strict=True))
                for x, y in zip(before, after, strict=True)]  # fmt: skip

    tried = learner.gradient_steps + learner.skipped_steps
    batch = learner.replay.sample((1, 8), learner.rng)
    ones = np.ones((1, 8), np.float32)  # uniform replay: every importance weight 1
    before = snapshot()
    learner._train(*batch[:5], np.int64(tried | 1), ones)  # an odd step: the critic only
    assert changed(before, snapshot()) == [False, True, False]  # actor, critic, target actor
    before = snapshot()
    learner._train(*batch[:5], np.int64(tried + (tried % 2)), ones)  # even: actor, targets too
    assert changed(before, snapshot()) == [True, True, True]


def test_ddpg_actor_steps_through_the_critic_as_its_step_of_the_same_batch_left_it():
    """The order of the DDPG/TD3 papers' code and of SB3: critic step, then the actor's gradient
    through the updated critic. Checked on Adam's first step, ``-lr g / (|g| + eps')``, with a
    large critic rate so the critic before and after its step disagree."""
    actor_lr, eps = 1e-3, 1e-7
    config = build_config(
        {
            "algo": "ddpg",
            "env": "Pendulum-v1",
            "ddpg": {
                "critic_lr": 0.5,
                "actor_lr": actor_lr,
                "optimizer_eps": eps,
                "learning_starts": 0,
            },
        }
    )
    learner = learner_of(config, spec=PENDULUM, seed=5)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(1, 32, 3)).astype(np.float32)
    batch = (obs, rng.uniform(-2, 2, (1, 32, 1)).astype(np.float32),
             np.ones((1, 32), np.float32), rng.normal(size=(1, 32, 3)).astype(np.float32),
             np.zeros((1, 32), np.float32))  # fmt: skip
    actor_before, critic_before = learner.actor.get_weights(), learner.critic.get_weights()
    learner._train(*batch, np.int64(0), np.ones((1, 32), np.float32))
    actor_after, critic_after = learner.actor.get_weights(), learner.critic.get_weights()

    def adam_first_step(critic_weights):
        learner.actor.set_weights(actor_before)
        learner.critic.set_weights(critic_weights)
        s = tf.constant(obs[0])
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(learner.critic([s, learner.actor(s)]))
        grads = tape.gradient(loss, learner.actor.trainable_variables)
        scaled_eps = eps / np.sqrt(1 - 0.999)  # Keras's Adam, bias corrections folded in
        return [-actor_lr * g.numpy() / (np.abs(g.numpy()) + scaled_eps) for g in grads]

    moved = [a - b for a, b in zip(actor_after, actor_before, strict=True)]
    for got, want in zip(moved, adam_first_step(critic_after), strict=True):
        np.testing.assert_allclose(got, want, atol=2e-6)
    stale = adam_first_step(critic_before)  # the critic before its step gives another update
    assert max(np.abs(g - w).max() for g, w in zip(moved, stale, strict=True)) > 1e-4
