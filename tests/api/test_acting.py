"""One acting policy per algorithm: rollout workers, the service's Act, distrl.evaluate's policy
and distrl.Policy choose the same actions for the same weights, observations, seed and flags."""

import dataclasses

import numpy as np
import pytest

import distrl
from distrl.config import ConfigError, build_config
from distrl.envs import env_spec
from distrl.ops.checkpoint import write_checkpoint
from distrl.service.client import Client
from distrl.service.exchange import WeightsBoard
from distrl.service.server import DistrlService, ServeOptions, start_server
from tests.parts import learner_of, policy_of, served_run

SEED = 11
BATCH = 8  # observations per call: the workers' env copies, a client's batch
CASES = {
    "a2c": {"algo": "a2c", "env": "CartPole-v1"},
    "pg": {"algo": "pg", "env": "CartPole-v1"},
    "ddpg": {"algo": "ddpg", "env": "Pendulum-v1", "ddpg.noise": "ou"},
    "ddpg-gaussian": {"algo": "ddpg", "env": "Pendulum-v1", "ddpg.noise": "gaussian"},
}


def trained_weights(config, spec):
    """The learner's weights, perturbed so that no action is a tie, as a trained version
    (DDPG's policy acts uniformly at random at version 0, by design)."""
    weights = learner_of(config, spec=spec, seed=0).weights()
    rng = np.random.default_rng(1)
    arrays = [w + rng.normal(scale=0.3, size=w.shape).astype(w.dtype) for w in weights.weights]
    return dataclasses.replace(weights, version=3, weights=arrays)


def observations(spec, calls):
    rng = np.random.default_rng(2)
    return [rng.normal(size=(BATCH, *spec.observation_shape)).astype(np.float32)
            for _ in range(calls)]  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("deterministic", [False, True])
def test_workers_service_policy_and_checkpoint_act_alike(case, deterministic, tmp_path):
    config = build_config({**CASES[case], "seed": SEED, "envs_per_worker": BATCH})
    spec = env_spec(config.env)
    weights = trained_weights(config, spec)
    batches = observations(spec, 3)  # several calls: noise processes and RNGs advance alike

    worker = policy_of(config, spec=spec, tf_threads=None)  # as a rollout worker
    worker.set_weights(weights)
    rng = np.random.default_rng(SEED)
    expected = [worker.act_greedy(o) if deterministic else worker.act(o, rng)[0] for o in batches]

    policy = distrl.Policy(
        algorithm=config.algo,
        sections=config.algorithm_sections(),
        spec=spec,
        weights=weights,
        seed=SEED,
    )
    got_api = [policy.act(o, deterministic=deterministic) for o in batches]

    board = WeightsBoard()
    board.publish(weights.version, weights)
    options = ServeOptions(listen="127.0.0.1:0")
    service = DistrlService(run=served_run(config), spec=spec, board=board, options=options)
    server, port = start_server(service, options)
    try:
        with Client(f"127.0.0.1:{port}") as client:
            got_service = [client.act(o, deterministic=deterministic)[0] for o in batches]
    finally:
        board.close()
        server.stop(grace=None)

    for want, api, served in zip(expected, got_api, got_service, strict=True):
        np.testing.assert_allclose(api, want, rtol=1e-6)
        np.testing.assert_allclose(served, want, rtol=1e-6)
    if not deterministic:  # exploration really is on: the greedy actions differ somewhere
        greedy = [worker.act_greedy(o) for o in batches]
        assert any(not np.allclose(g, e) for g, e in zip(greedy, expected, strict=True))


@pytest.mark.parametrize("case", ["a2c", "ddpg"])
def test_a_checkpoints_policy_acts_as_the_learners(case, tmp_path):
    """distrl.evaluate and Policy.from_checkpoint read the checkpoint's policy.keras."""
    config = build_config({**CASES[case], "seed": SEED})
    spec = env_spec(config.env)
    learner = learner_of(config, spec=spec, seed=0)
    arrays, scalars = learner.checkpoint()
    path = write_checkpoint(tmp_path, updates=1, arrays=arrays, scalars=scalars, counters={},
                            config=config.to_dict(), policy=learner.policy_bytes())  # fmt: skip
    loaded = distrl.Policy.from_checkpoint(path, seed=SEED)
    weights = dataclasses.replace(learner.weights(), version=1)
    live = distrl.Policy(
        algorithm=config.algo,
        sections=config.algorithm_sections(),
        spec=spec,
        weights=weights,
        seed=SEED,
    )
    for obs in observations(spec, 2):
        np.testing.assert_allclose(loaded.act(obs, deterministic=True),
                                   live.act(obs, deterministic=True), rtol=1e-5)  # fmt: skip
        np.testing.assert_allclose(loaded.act(obs), live.act(obs), rtol=1e-5)


def test_a_keras_policy_for_another_env_is_refused_when_loaded(tmp_path):
    config = build_config({**CASES["a2c"], "seed": SEED})
    learner = learner_of(config, spec=env_spec(config.env), seed=0)
    path = tmp_path / "cartpole.keras"
    path.write_bytes(learner.policy_bytes())
    assert distrl.Policy.from_keras(path, env="CartPole-v1").act(np.zeros(4)).shape == ()
    with pytest.raises(ConfigError, match=r"cartpole.keras: its model does not fit Acrobot-v1"):
        distrl.Policy.from_keras(path, env="Acrobot-v1")


def test_predict_answers_as_stable_baselines3s():
    config = build_config({**CASES["a2c"], "seed": SEED})
    spec = env_spec(config.env)
    learner = learner_of(config, spec=spec, seed=0)
    policy = distrl.Policy(algorithm="a2c", sections=config.algorithm_sections(), spec=spec,
                           weights=learner.weights(), seed=SEED)  # fmt: skip
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    actions, state = policy.predict(obs, state=None, episode_start=np.ones(5), deterministic=True)
    assert state is None
    np.testing.assert_array_equal(actions, policy.act(obs, deterministic=True))
    one, _ = policy.predict(obs[0], deterministic=True)
    assert one.shape == () and one == actions[0]


def test_policy_takes_one_observation_and_names_a_wrong_shape():
    config = build_config({"env": "CartPole-v1"})
    spec = env_spec(config.env)
    policy = distrl.Policy(
        algorithm=config.algo,
        sections=config.algorithm_sections(),
        spec=spec,
        weights=trained_weights(config, spec),
    )
    action = policy.act(np.zeros(4, np.float32), deterministic=True)
    assert np.ndim(action) == 0 and 0 <= int(action) < 2
    with pytest.raises(ValueError, match=r"observations must be \[B, 4\]"):
        policy.act(np.zeros((2, 5), np.float32))


def test_a_file_that_is_not_a_keras_policy_is_one_line(tmp_path):
    bad = tmp_path / "policy.keras"
    bad.write_bytes(b"not a zip archive")
    with pytest.raises(ConfigError, match=r"is not a readable \.keras policy"):
        distrl.Policy.from_keras(bad, env="CartPole-v1")
