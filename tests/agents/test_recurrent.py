"""Recurrent (LSTM) policies: the cell against NumPy, the learner's unroll against stepping the
model, the workers' state bookkeeping, and A2C/PPO learning a task only memory solves."""

import json

import numpy as np
import pytest
import tensorflow as tf

import distrl
import tests.envs.memory  # noqa: F401  (registers Recall-v0 and CartPoleNoVelocity-v1)
from distrl.agents import make_learner, recurrent
from distrl.config import ConfigError, build_config
from distrl.envs import EnvOptions, env_spec
from distrl.evaluate import main as evaluate_main
from distrl.models.builders import build_model
from distrl.rollout.worker import RolloutWorker

MEMORY = {"env": "Recall-v0", "env_imports": ["tests.envs.memory"]}


def config_for(algo="ppo", **keys):
    base = {**MEMORY, "algo": algo, "workers": 0, "envs_per_worker": 4, "rollout_len": 10,
            "samples_per_update": None, "model.lstm_size": 8}  # fmt: skip
    return build_config({}, {**base, **keys}, flag_names=True)


def spec_of(config):
    return env_spec(config.env, config.atari, EnvOptions.of(config))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_the_lstm_step_is_the_textbook_cell():
    config = config_for()
    model = build_model(spec_of(config), config.model)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.weights])
    obs = rng.normal(size=(3, 2)).astype(np.float32)
    state = rng.normal(size=(3, 16)).astype(np.float32)
    _, _, next_state = model([obs, state])
    weights = {w.path: w.numpy() for w in model.weights}
    x = obs
    for layer in ("policy_0", "policy_1"):  # model.hidden [64, 64], tanh
        x = np.tanh(x @ weights[f"{layer}/kernel"] + weights[f"{layer}/bias"])
    h, c = state[:, :8], state[:, 8:]
    z = np.concatenate([x, h], axis=1) @ weights["lstm/kernel"] + weights["lstm/bias"]
    i, f, g, o = np.split(z, 4, axis=1)
    c2 = sigmoid(f + 1.0) * c + sigmoid(i) * np.tanh(g)
    h2 = sigmoid(o) * np.tanh(c2)
    np.testing.assert_allclose(next_state.numpy(), np.concatenate([h2, c2], 1), atol=1e-5)


@pytest.mark.parametrize("burn_in", [0, 3])
def test_the_unroll_steps_the_model_and_zeroes_the_state_at_resets(burn_in):
    config = config_for()
    model = build_model(spec_of(config), config.model)
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.weights])
    T, B = 7, 3
    obs = rng.normal(size=(T, B, 2)).astype(np.float32)
    resets = np.zeros((T, B), np.float32)
    resets[2, 0] = resets[5, 2] = 1.0
    state0 = rng.normal(size=(B, 16)).astype(np.float32)
    params, values, after = recurrent.unroll(model, obs, resets, state0, burn_in=burn_in)
    state, want_params, want_values, want_after = state0, [], [], []
    for t in range(T):
        state = state * (1.0 - resets[t])[:, None]
        p, v, state = (x.numpy() for x in model([obs[t], state]))
        want_params.append(p)
        want_values.append(v[:, 0])
        want_after.append(state)
    np.testing.assert_allclose(after.numpy(), np.stack(want_after), atol=1e-5)
    np.testing.assert_allclose(params.numpy(), np.concatenate(want_params[burn_in:]), atol=1e-5)
    np.testing.assert_allclose(values.numpy(), np.concatenate(want_values[burn_in:]), atol=1e-5)


def test_no_gradient_flows_through_the_burn_in():
    config = config_for()
    model = build_model(spec_of(config), config.model)
    obs = tf.constant(np.random.default_rng(2).normal(size=(5, 2, 2)), tf.float32)
    resets = tf.zeros((5, 2))
    state0 = tf.Variable(tf.ones((2, 16)))
    for burn_in, flows in ((0, True), (2, False)):
        with tf.GradientTape() as tape:
            _, values, _ = recurrent.unroll(model, obs, resets, state0, burn_in=burn_in,
                                            training=True)  # fmt: skip
            loss = tf.reduce_sum(values)
        grad = tape.gradient(loss, state0)
        assert (grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0) == flows


def test_workers_record_each_fragments_initial_state_and_zero_it_at_episode_ends():
    config = config_for(rollout_len=7)  # Recall's episodes last 5 steps: some end mid-fragment
    spec = spec_of(config)
    learner = make_learner(algorithm="ppo", sections=config.algorithm_sections(), spec=spec,
                           seed=0)  # fmt: skip
    worker = RolloutWorker(settings=config.rollout_settings(), spec=spec, worker_index=0,
                           seed=np.random.SeedSequence(0), algorithm="ppo")  # fmt: skip
    first = worker.sample(learner.weights())
    np.testing.assert_array_equal(first.initial_state, np.zeros((4, 16), np.float32))
    second = worker.sample()
    # Every copy is mid-episode after 7 steps (episodes of 5): its state carries over, not zero.
    assert np.abs(second.initial_state).sum(axis=1).min() > 0
    # Replaying the fragment from its initial state gives the state the worker now holds.
    model = learner.model
    seq = recurrent.Sequences.of([second], 16)
    _, _, after = recurrent.unroll(model, *seq.tensors())
    expected = after.numpy()[-1] * ~(second.terminated[-1] | second.truncated[-1])[:, None]
    np.testing.assert_allclose(worker.policy.fragment_state(), expected, atol=1e-5)


@pytest.mark.parametrize("algo", ["a2c", "ppo"])
def test_a_recurrent_policy_learns_what_a_feed_forward_one_cannot(tmp_path, algo):
    """Recall: the cue is seen only at the first of 5 steps. With the LSTM the policy names it
    (mean return near +1); without, it is a coin flip (mean near 0)."""
    results, evaluated = {}, {}
    for size in (16, 0):
        keys = {"model.lstm_size": size, "rollout_len": 20, "envs_per_worker": 8,
                "max_steps": 60_000, "stop_reward": 0.9, "seed": 3,
                "logdir": str(tmp_path / f"{algo}{size}"), "progress_interval": 60}  # fmt: skip
        if algo == "a2c":
            keys.update({"a2c.lr": 3e-3, "a2c.optimizer": "adam", "a2c.entropy_coef": 0.01})
        trainer = distrl.Trainer(config_for(algo, **keys))
        results[size] = trainer.train().final_mean_return
        # Greedy evaluation of the checkpoint carries the state through each episode.
        path, out = trainer.save(tmp_path / f"ck{size}"), tmp_path / f"eval{size}.json"
        assert evaluate_main(["--checkpoint", str(path), "--episodes", "20", "--deterministic",
                              "--json", str(out)]) == 0  # fmt: skip
        evaluated[size] = json.loads(out.read_text())["mean"]
    assert results[16] >= 0.9 and evaluated[16] >= 0.9, (results, evaluated)
    assert abs(results[0]) < 0.5 and abs(evaluated[0]) < 0.7, (results, evaluated)


def test_a_recurrent_policy_acts_from_the_state_it_is_given(tmp_path):
    trainer = distrl.Trainer(config_for(max_steps=4_000, logdir=str(tmp_path)))
    trainer.train()
    policy = trainer.policy()
    assert policy.recurrent and policy.state_size == 16
    cue = np.array([1.0, 0.0], np.float32)
    _, state = policy.act(cue, deterministic=True)
    assert state.shape == (16,) and np.abs(state).sum() > 0
    _, states = policy.act(np.stack([cue, cue]), state=np.stack([state, state]))
    assert states.shape == (2, 16)
    # SB3's predict: episode_start zeroes the state given, so it equals starting from None.
    from_zero = policy.predict(cue, state=None, deterministic=True)[1]
    restarted = policy.predict(cue, state=state, episode_start=True, deterministic=True)[1]
    np.testing.assert_allclose(restarted, from_zero, atol=1e-6)
    with pytest.raises(ValueError, match=r"state must have shape \(16,\)"):
        policy.act(cue, state=np.zeros(3))


def test_recurrent_config_errors_are_one_line():
    with pytest.raises(ConfigError, match="algo dqn has no recurrent policies"):
        build_config({}, {"env": "CartPole-v1", "algo": "dqn", "model.lstm_size": 8},
                     flag_names=True)  # fmt: skip
    with pytest.raises(ConfigError, match="needs async_unit trajectories"):
        config_for("a2c", mode="async", async_unit="gradients")
    with pytest.raises(ConfigError, match="lstm_burn_in 10 must be below rollout_len 10"):
        config_for(**{"model.lstm_burn_in": 10})
    with pytest.raises(ConfigError, match=r"needs model\.lstm_size > 0"):
        config_for(**{"model.lstm_size": 0, "model.lstm_burn_in": 2})
    with pytest.raises(ConfigError, match="is a user builder"):
        config_for(**{"model.name": "mymodels:build"})


@pytest.mark.parametrize("algo", ["a2c", "ppo"])
def test_a_cnn_torso_takes_the_lstm_too(algo):
    """Images: the conv stack and its dense layer, then the LSTM; workers act through
    TensorFlow, the learner unrolls fragments of images and its weights change."""
    config = config_for(algo, env="RecallImage-v0", **{"model.name": "cnn", "rollout_len": 6})
    spec = spec_of(config)
    learner = make_learner(algorithm=algo, sections=config.algorithm_sections(), spec=spec,
                           seed=0)  # fmt: skip
    assert [i.name for i in learner.model.inputs] == ["obs", "state"]
    worker = RolloutWorker(settings=config.rollout_settings(), spec=spec, worker_index=0,
                           seed=np.random.SeedSequence(0), algorithm=algo)  # fmt: skip
    before = [w.copy() for w in learner.weights().weights]
    rollout = worker.sample(learner.weights())
    assert rollout.initial_state.shape == (4, 16)
    result = learner.update([rollout, worker.sample()])
    assert result.applied
    after = learner.weights().weights
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    with pytest.raises(
        ConfigError, match="needs a built-in MLP model with a NumPy activation and no"
    ):
        config_for(**{"acting.backend": "numpy"})
