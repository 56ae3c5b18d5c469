"""DQN in-process (real TensorFlow) and on 2 real Ray workers: n-step transitions in the replay,
the TD targets against NumPy (plain, double, dueling), the exploration schedule carried with the
weights, Ape-X's per-worker rates, target updates, prioritized replay and checkpoints."""

import numpy as np
import pytest

from distrl.agents.dqn.acting import EPSILON
from distrl.agents.dqn.config import DQNConfig, apex_epsilon
from distrl.config import build_config
from distrl.envs import env_spec
from distrl.types import Rollout
from tests.parts import learner_of, policy_of

SPEC = env_spec("CartPole-v1")


def config(**dqn):
    return build_config({"algo": "dqn", "envs_per_worker": 2, "rollout_len": 6,
                         "model.hidden": [16], "model.activation": "relu",
                         **{f"dqn.{k}": v for k, v in dqn.items()}})  # fmt: skip


def fragment(rng, T=6, B=2, version=0, terminated_at=((2, 0),)):
    terminated = np.zeros((T, B), bool)
    for t, b in terminated_at:
        terminated[t, b] = True
    truncated = np.zeros((T, B), bool)
    obs = rng.normal(size=(T, B, 4)).astype(np.float32)
    return Rollout(
        observations=obs, actions=rng.integers(0, 2, size=(T, B)),
        rewards=rng.normal(size=(T, B)).astype(np.float32), terminated=terminated,
        truncated=truncated, behaviour_logp=np.zeros((T, B), np.float32),
        last_observations=rng.normal(size=(B, 4)).astype(np.float32),
        final_observations=rng.normal(size=(int(terminated.sum()), 4)).astype(np.float32),
        policy_version=version, worker_index=0,
    )  # fmt: skip


def test_the_replay_holds_n_step_transitions_that_stop_at_episode_ends():
    learner = learner_of(config(n_step=3, gamma=0.5, learning_starts=10_000), spec=SPEC)
    r = fragment(np.random.default_rng(0))
    learner.update([r])
    assert learner.replay.size == 12 and learner.gradient_steps == 0  # not started yet
    rows = learner.replay.rows(np.arange(12)).rewards.reshape(6, 2)
    steps = learner.replay.steps[:12].reshape(6, 2)
    # env 0 terminates at t = 2: t = 0 sums 3 steps, t = 1 two, t = 2 one; env 1 runs on
    np.testing.assert_array_equal(steps[:, 0], [3, 2, 1, 3, 2, 1])
    np.testing.assert_array_equal(steps[:, 1], [3, 3, 3, 3, 2, 1])
    want = r.rewards[0, 0] + 0.5 * r.rewards[1, 0] + 0.25 * r.rewards[2, 0]
    assert rows[0, 0] == pytest.approx(want)
    terminated = learner.replay.terminated[:12].reshape(6, 2)
    np.testing.assert_array_equal(terminated[:3, 0], 1.0)  # all three end at the termination
    next_obs = learner.replay.next_obs[:12].reshape(6, 2, 4)
    np.testing.assert_array_equal(next_obs[1, 1], r.observations[4, 1])  # t=1 + 3 steps


@pytest.mark.parametrize(("double_q", "dueling"), [(False, False), (True, False), (True, True)])
def test_td_errors_match_a_numpy_reference(double_q, dueling):
    learner = learner_of(config(double_q=double_q, dueling=dueling, gamma=0.9), spec=SPEC)
    rng = np.random.default_rng(1)
    learner.target.set_weights([w + rng.normal(scale=0.1, size=w.shape).astype(np.float32)
                                for w in learner.target.get_weights()])  # fmt: skip
    obs, next_obs = rng.normal(size=(2, 1, 8, 4)).astype(np.float32)
    actions = rng.integers(0, 2, size=(1, 8))
    returns = rng.normal(size=(1, 8)).astype(np.float32)
    terminated = (rng.random((1, 8)) < 0.3).astype(np.float32)
    discounts = np.full((1, 8), 0.9**2, np.float32)

    def q(model, x):
        adv, value = (np.asarray(o) for o in model(x))
        return value + adv - adv.mean(-1, keepdims=True) if dueling else adv

    q_next_target = q(learner.target, next_obs[0])
    pick = q(learner.q, next_obs[0]).argmax(-1) if double_q else q_next_target.argmax(-1)
    y = returns[0] + discounts[0] * (1 - terminated[0]) * q_next_target[np.arange(8), pick]
    want = y - q(learner.q, obs[0])[np.arange(8), actions[0]]
    stats = learner._train(obs, actions, returns, next_obs, terminated, discounts,
                           np.ones((1, 8), np.float32))  # fmt: skip
    np.testing.assert_allclose(stats["td_errors"].numpy()[0], want, rtol=1e-4, atol=1e-5)


def test_exploration_falls_linearly_and_travels_with_the_weights():
    c = config(exploration_steps=100, exploration_final_eps=0.1, learning_starts=0, batch_size=4)
    learner, policy = learner_of(c, spec=SPEC), policy_of(c, spec=SPEC)
    rng = np.random.default_rng(2)
    message = learner.weights()
    assert message.names[-1] == EPSILON and float(message.weights[-1]) == 1.0
    for _ in range(4):  # 4 x 12 = 48 env steps
        learner.update([fragment(rng)])
    assert learner.epsilon == pytest.approx(1.0 - 0.9 * 48 / 100)
    policy.set_weights(learner.weights())
    assert policy.epsilon == pytest.approx(learner.epsilon) and policy.trained
    obs = rng.normal(size=(4000, 4)).astype(np.float32)
    greedy = policy.act_greedy(obs)
    actions, logp = policy.act(obs, rng)
    # a random action differs from the greedy one half the time (2 actions)
    assert np.mean(actions != greedy) == pytest.approx(policy.epsilon / 2, abs=0.03)
    np.testing.assert_array_equal(logp, 0.0)


def test_apex_workers_explore_at_their_own_fixed_rates():
    c = DQNConfig()
    rates = [apex_epsilon(c, i, 8) for i in range(8)]
    np.testing.assert_allclose(rates, [0.4 ** (1 + 7 * i / 7) for i in range(8)])
    policy = policy_of(config(), spec=SPEC)
    policy.place(3, 8, "async")
    assert policy.fixed == pytest.approx(0.4 ** (1 + 3))
    synced = policy_of(config(), spec=SPEC)
    synced.place(3, 8, "sync")
    assert synced.fixed is None  # sync mode follows the learner's schedule


def test_the_target_follows_every_interval_of_env_steps():
    c = config(target_update_interval=24, learning_starts=0, batch_size=4, replay_ratio=1.0)
    learner = learner_of(c, spec=SPEC)
    rng = np.random.default_rng(3)
    learner.update([fragment(rng)])  # 12 steps: trained, target not yet moved
    assert learner.target_updates == 0
    pairs = zip(learner.q.get_weights(), learner.target.get_weights(), strict=True)
    assert not all(np.allclose(a, b) for a, b in pairs)
    learner.update([fragment(rng)])  # 24: the target copies the online network
    assert learner.target_updates == 1
    for a, b in zip(learner.q.get_weights(), learner.target.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_prioritized_replay_updates_priorities_and_round_trips_in_a_checkpoint():
    c = config(prioritized=True, learning_starts=0, batch_size=8, replay_ratio=1.0)
    learner = learner_of(c, spec=SPEC)
    rng = np.random.default_rng(4)
    for _ in range(3):
        learner.update([fragment(rng)])
    values = learner.replay.tree.values(np.arange(learner.replay.size))
    assert len(np.unique(values)) > 3  # TD errors replaced the initial priority
    arrays, scalars = learner.checkpoint(include_replay=True)
    other = learner_of(c, spec=SPEC, seed=9)
    other.restore(arrays, scalars)
    np.testing.assert_array_equal(other.replay.tree.nodes, learner.replay.tree.nodes)
    assert (other.env_steps, other.gradient_steps) == (learner.env_steps, learner.gradient_steps)
    for a, b in zip(other.q.get_weights(), learner.q.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_dqn_trains_on_two_ray_workers(ray_cluster, tmp_path, mode):
    """Sync, and Ape-X mode (async: each worker at its own rate, prioritized replay in two
    replay shards); the learner trains and publishes new versions."""
    import distrl

    apex = {"prioritized": True, "replay_shards": 2} if mode == "async" else {}
    c = distrl.make_config("cartpole-dqn", mode=mode, max_steps=2000, logdir=str(tmp_path),
                           rollout_len=50, dqn={"learning_starts": 500, **apex})  # fmt: skip
    trainer = distrl.Trainer(c)
    summary = trainer.train()
    assert summary.env_steps >= 2000 and summary.episodes > 10
    assert summary.learner_updates >= (2000 - 500) // 100  # every round once it has started
    policy = trainer.policy()
    assert policy.act(np.zeros((3, 4), np.float32), deterministic=True).shape == (3,)


def test_ape_x_workers_send_initial_priorities_that_the_replay_keeps():
    """In mode async with prioritized replay, a worker's policy computes each step's |n-step TD
    error| with its own copy of the network; the learner stores the steps at those priorities."""
    from dataclasses import replace

    from distrl.types import WeightsMessage

    c = config(prioritized=True, n_step=2, gamma=0.9, learning_starts=10_000, priority_alpha=0.5)
    c = replace(c, mode="async")
    learner, policy = learner_of(c, spec=SPEC), policy_of(c, spec=SPEC)
    r = fragment(np.random.default_rng(5))
    w = learner.weights()
    policy.set_weights(WeightsMessage(1, w.names, w.weights))
    assert policy.initial_priorities(r) is None  # not placed: not an Ape-X worker
    policy.place(1, 2, "async")
    priorities = policy.initial_priorities(r)
    q = np.asarray(learner.q(r.observations.reshape(12, 4))[0]).reshape(6, 2, 2)
    following = r.next_observations()
    want = np.zeros((6, 2))
    for t in range(6):
        for b in range(2):
            m = 1 if t == 5 or (b == 0 and t == 2) else 2  # 2 steps unless the end comes first
            ret = r.rewards[t, b] + (0.9 * r.rewards[t + 1, b] if m == 2 else 0.0)
            last = t + m - 1
            q_next = np.asarray(learner.q(following[last, b][None])[0]).max()
            boot = 0.9**m * (1 - r.terminated[last, b]) * q_next
            want[t, b] = abs(ret + boot - q[t, b, r.actions[t, b]])
    np.testing.assert_allclose(priorities, want, rtol=1e-4, atol=1e-5)
    learner.update([replace(r, priorities=priorities)])
    stored = learner.replay.tree.values(np.arange(12))
    np.testing.assert_allclose(stored, (want.reshape(12) + 1e-6) ** 0.5, rtol=1e-4)


def test_exploration_defaults_to_a_tenth_of_the_step_budget_as_in_sb3():
    from distrl.agents.dqn.config import NO_BUDGET_EXPLORATION

    def steps(max_steps=None, **dqn):
        c = build_config({"algo": "dqn", "env": "CartPole-v1", "max_steps": max_steps,
                          "dqn": dqn})  # fmt: skip
        return c.algorithm_sections().own.exploration_steps

    assert steps(50_000) == 5_000
    assert steps(50_000, exploration_fraction=0.25) == 12_500
    assert steps(50_000, exploration_steps=700) == 700  # set: kept
    assert steps() == NO_BUDGET_EXPLORATION  # no budget to take a share of
