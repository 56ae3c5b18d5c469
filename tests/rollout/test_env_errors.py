"""An env that raises: the worker recreates it, discards the partial fragment and counts it."""

import pickle
import time

import gymnasium as gym
import numpy as np
import pytest

from distrl.config import make_config
from distrl.envs import env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.rollout.worker import EnvBroken
from distrl.runtime import LocalBackend, run_sync
from tests.parts import learner_of, worker_of

FLAKY_ENV = "distrl-test/FlakyCartPole-v0"
BROKEN_ENV = "distrl-test/BrokenCartPole-v0"


class FlakyCartPole(gym.Wrapper):
    """CartPole whose every 50th ``step`` (per copy) raises, as a crashing simulator would."""

    def __init__(self, every: int = 50):
        super().__init__(gym.make("CartPole-v1"))
        self.every, self.calls = every, 0

    def step(self, action):
        self.calls += 1
        if self.calls % self.every == 0:
            raise RuntimeError("simulator crashed")
        return self.env.step(action)


class HangingCartPole(FlakyCartPole):
    """CartPole whose every 30th ``step`` hangs (a simulator that stopped answering)."""

    def step(self, action):
        self.calls += 1
        if self.calls % self.every == 0:
            time.sleep(3600)
        return self.env.step(action)


HANGING_ENV = "distrl-test/HangingCartPole-v0"
gym.register(HANGING_ENV, entry_point=HangingCartPole, kwargs={"every": 30})
gym.register(FLAKY_ENV, entry_point=FlakyCartPole)
gym.register(BROKEN_ENV, entry_point=FlakyCartPole, kwargs={"every": 1})


def make(env_id, **overrides):
    config = make_config(env=env_id, envs_per_worker=2, rollout_len=8, **overrides)
    return config, env_spec(env_id)


def test_worker_recovers_from_env_exceptions_and_counts_them():
    config, spec = make(FLAKY_ENV)
    worker = worker_of(config, spec=spec, seed=0)
    weights = learner_of(config, spec=spec, seed=0).weights()
    fragments = [worker.sample(weights) for _ in range(20)]  # 160 steps a copy: > 3 crashes
    errors = sum(f.env_errors for f in fragments)
    assert errors >= 3
    for f in fragments:  # every fragment returned is whole and consistent
        assert f.observations.shape == (8, 2, 4) and np.isfinite(f.observations).all()
        assert f.final_observations.shape[0] == int((f.terminated | f.truncated).sum())


def test_training_completes_with_env_errors_reported():
    config, spec = make(FLAKY_ENV, workers=0)
    backend = LocalBackend(config, spec)
    state = TrainingProgress()
    assert run_sync(backend, state, StopRule(None, 3_000, None)) == "max_steps"
    assert state.metrics["worker/env_errors"] >= 5


def test_an_env_that_always_fails_is_an_error_not_a_loop():
    config, spec = make(BROKEN_ENV)
    worker = worker_of(config, spec=spec, seed=0)
    with pytest.raises(EnvBroken) as caught:
        worker.sample(learner_of(config, spec=spec, seed=0).weights())
    assert str(caught.value) == (f"env {BROKEN_ENV} raised in step 11 times in a row: "
                                 "RuntimeError: simulator crashed")  # fmt: skip
    assert "Traceback" in caught.value.details and "simulator crashed" in caught.value.details
    again = pickle.loads(pickle.dumps(caught.value))  # as Ray carries it to the driver
    assert (str(again), again.details) == (str(caught.value), caught.value.details)


def test_a_hung_env_step_times_out_and_counts_as_an_env_error():
    config, spec = make(HANGING_ENV, env_step_timeout=0.2)
    worker = worker_of(config, spec=spec, seed=0)
    weights = learner_of(config, spec=spec, seed=0).weights()
    start = time.perf_counter()
    fragments = [worker.sample(weights) for _ in range(10)]  # 80 steps a copy: 2 hangs
    elapsed = time.perf_counter() - start
    assert sum(f.env_errors for f in fragments) >= 2
    assert elapsed < 10  # each hang cost about 0.2 s, not an hour
    for f in fragments:
        assert f.observations.shape == (8, 2, 4) and np.isfinite(f.observations).all()
