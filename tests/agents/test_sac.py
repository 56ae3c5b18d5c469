"""SAC in-process (real TensorFlow) and on 2 real Ray workers: the squashed Gaussian against its
closed form, the critic target and alpha's tuning against NumPy, acting in the action box."""

import numpy as np
import pytest

from distrl.config import build_config
from distrl.distributions import SquashedGaussian
from distrl.envs import env_spec
from distrl.types import WeightsMessage
from tests.parts import learner_of, policy_of

SPEC = env_spec("Pendulum-v1")  # one action in [-2, 2]


def config(**sac):
    small = {"sac.actor_hidden": [16], "sac.critic_hidden": [16]}
    return build_config({"algo": "sac", "env": "Pendulum-v1", **small,
                         **{f"sac.{k}": v for k, v in sac.items()}})  # fmt: skip


def test_the_squashed_log_density_is_the_gaussians_with_the_change_of_variables():
    rng = np.random.default_rng(0)
    params = np.concatenate([rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) * 0.3], -1)
    x, logp = SquashedGaussian.sample_with_log_prob(params, np.random.default_rng(1))
    u = np.arctanh(np.clip(x, -1 + 1e-12, 1 - 1e-12))  # back to the Gaussian sample
    mean, log_std = params[:, :2], params[:, 2:]
    gauss = -0.5 * (((u - mean) / np.exp(log_std)) ** 2 + 2 * log_std + np.log(2 * np.pi))
    want = (gauss - np.log(1 - np.tanh(u) ** 2 + 1e-6)).sum(-1)
    np.testing.assert_allclose(logp, want, rtol=1e-6)
    assert np.all(np.abs(x) < 1)
    # 1-D, no clipping: the density integrates to 1 over (-1, 1)
    grid = np.linspace(-0.999999, 0.999999, 400_001)
    p1 = np.array([[0.3, np.log(0.8)]])
    dens = np.exp(SquashedGaussian.log_prob_of_presquash(np.repeat(p1, grid.size, 0),
                                                         np.arctanh(grid)[:, None]))  # fmt: skip
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=2e-3)


def test_acting_is_random_until_trained_then_squashed_into_the_box():
    c = config()
    learner, policy = learner_of(c, spec=SPEC), policy_of(c, spec=SPEC)
    policy.set_weights(learner.weights())  # version 0: random
    obs = np.random.default_rng(2).normal(size=(5000, 3)).astype(np.float32)
    actions, _ = policy.act(obs, np.random.default_rng(3))
    assert actions.shape == (5000, 1) and actions.min() >= -2 and actions.max() <= 2
    assert abs(actions.mean()) < 0.1 and actions.std() == pytest.approx(4 / np.sqrt(12), rel=0.05)
    w = learner.weights()
    policy.set_weights(WeightsMessage(1, w.names, w.weights))
    greedy = policy.act_greedy(obs[:4])
    params = np.asarray(learner.actor(obs[:4]))
    np.testing.assert_allclose(greedy[:, 0], 2 * np.tanh(params[:, 0]), rtol=1e-5, atol=1e-6)


def test_critic_target_and_alpha_step_match_numpy():
    c = config(gamma=0.9, initial_alpha=0.5, lr=0.1)
    learner = learner_of(c, spec=SPEC)
    rng = np.random.default_rng(4)
    rewards = rng.normal(size=8).astype(np.float32)
    next_obs = rng.normal(size=(8, 3)).astype(np.float32)
    terminated = (rng.random(8) < 0.4).astype(np.float32)
    import tensorflow as tf

    tf.random.set_seed(5)
    next_obs = tf.constant(next_obs)
    y = learner.target_q(rewards, next_obs, terminated, tf.constant(0.5)).numpy()
    tf.random.set_seed(5)  # the same next actions
    a2, logp2 = (t.numpy() for t in learner.policy(next_obs))
    q = [np.asarray(t([next_obs, tf.constant(a2)]))[:, 0] for t in learner.targets]
    want = rewards + 0.9 * (1 - terminated) * (np.minimum(q[0], q[1]) - 0.5 * logp2)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    # one gradient step moves log(alpha) against (log pi + target entropy), as Adam's first step
    obs = rng.normal(size=(1, 8, 3)).astype(np.float32)
    actions = rng.uniform(-1, 1, size=(1, 8, 1)).astype(np.float32)
    ones = np.ones((1, 8), np.float32)
    stats = learner._train(obs, actions, rewards[None], next_obs.numpy()[None], terminated[None],
                           ones)  # fmt: skip
    entropy = float(stats["learner/entropy"])  # -mean log pi of the step's own samples
    moved = float(learner.log_alpha.numpy()) - np.log(0.5)
    assert np.sign(moved) == -np.sign(entropy - (-1.0))  # above the target: alpha goes down
    assert abs(moved) == pytest.approx(0.1, rel=1e-3)  # Adam's first step is lr * sign


def test_sac_trains_ape_x_style_on_two_ray_workers(ray_cluster, tmp_path):
    """Async collection (the sync loop drives the same learner as DDPG's, tested there)."""
    import distrl

    c = distrl.make_config("pendulum-sac", mode="async", max_steps=1200, logdir=str(tmp_path),
                           sac={"learning_starts": 400, "batch_size": 64})  # fmt: skip
    summary = distrl.Trainer(c).train()
    assert summary.env_steps >= 1200 and summary.episodes >= 4  # 200-step episodes
    assert summary.learner_updates >= (1200 - 400) // 16 - 1


def test_the_tensorflow_form_agrees_with_numpy():
    import tensorflow as tf

    from distrl.distributions.tensorflow_forms import SquashedGaussian as TFSquashed

    params = np.random.default_rng(6).normal(size=(64, 4)).astype(np.float32) * 0.5
    x, logp = (t.numpy() for t in TFSquashed.sample_with_log_prob(tf.constant(params)))
    u = np.arctanh(x.astype(np.float64))
    np.testing.assert_allclose(logp, SquashedGaussian.log_prob_of_presquash(params, u),
                               rtol=1e-3, atol=1e-3)  # fmt: skip
    np.testing.assert_allclose(TFSquashed.mode(tf.constant(params)).numpy(),
                               SquashedGaussian.mode(params), rtol=1e-6)  # fmt: skip


def test_sac_actor_steps_through_the_critics_as_they_were_before_the_step():
    """distrl's SAC takes every gradient from the weights before the step (measured better than
    SB3's order on InvertedPendulum). Checked on Adam's first step, ``-lr g / (|g| + eps')``; a
    log-std clipped near e^-20 makes the sampled action the mean's, so the test can recompute
    the actor's loss."""
    import tensorflow as tf

    lr = 0.5  # one rate for all three optimizers: the critics move far in one step
    learner = learner_of(config(lr=lr, log_std_min=-20.0, log_std_max=-19.99), spec=SPEC)
    rng = np.random.default_rng(6)
    obs = rng.normal(size=(1, 16, 3)).astype(np.float32)
    batch = (obs, rng.uniform(-1, 1, (1, 16, 1)).astype(np.float32),
             np.ones((1, 16), np.float32), rng.normal(size=(1, 16, 3)).astype(np.float32),
             np.zeros((1, 16), np.float32), np.ones((1, 16), np.float32))  # fmt: skip
    alpha = float(np.exp(learner.log_alpha.numpy()))  # the step's alpha is the one before it
    actor_before = learner.actor.get_weights()
    critics_before = [c.get_weights() for c in learner.critics]
    learner._train(*batch)
    critics_after = [c.get_weights() for c in learner.critics]
    moved = [a - b for a, b in zip(learner.actor.get_weights(), actor_before, strict=True)]

    def adam_first_step(critic_weights):
        learner.actor.set_weights(actor_before)
        for critic, weights in zip(learner.critics, critic_weights, strict=True):
            critic.set_weights(weights)
        s = tf.constant(obs[0])
        with tf.GradientTape() as tape:
            pi, logp = learner.policy(s)
            q = [tf.squeeze(c([s, pi]), -1) for c in learner.critics]
            loss = tf.reduce_mean(alpha * logp - tf.minimum(q[0], q[1]))
        grads = tape.gradient(loss, learner.actor.trainable_variables)
        scaled_eps = 1e-7 / np.sqrt(1 - 0.999)  # Keras's Adam, bias corrections folded in
        return [-lr * g.numpy() / (np.abs(g.numpy()) + scaled_eps) for g in grads]

    for got, want in zip(moved, adam_first_step(critics_before), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-3)
    updated = adam_first_step(critics_after)  # SB3's order would give another update
    assert max(np.abs(g - w).max() for g, w in zip(moved, updated, strict=True)) > 0.1
