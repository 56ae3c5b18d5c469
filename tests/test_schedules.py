"""Schedules: the linear ramp behind DQN's epsilon and prioritized replay's beta, and the
hyperparameter schedules over the step budget (``lin_X`` and the mapping form) from the config
to the learner's variables."""

import math

import numpy as np
import pytest

from distrl.config import ConfigError, build_config
from distrl.envs import env_spec
from distrl.replay.settings import PriorityKeys
from distrl.schedules import Schedule, linear, parse_schedule
from tests.parts import learner_of, worker_of


def test_linear_moves_from_start_to_end_then_holds():
    assert linear(1.0, 0.1, 100, 0) == 1.0
    assert linear(1.0, 0.1, 100, 50) == pytest.approx(0.55)
    assert linear(1.0, 0.1, 100, 100) == pytest.approx(0.1)
    assert linear(1.0, 0.1, 100, 10_000) == pytest.approx(0.1)
    assert linear(1.0, 0.1, 0, 0) == 0.1  # no steps: the end at once


def test_beta_rises_from_priority_beta_to_one():
    keys = PriorityKeys(priority_beta=0.4, priority_beta_steps=1000)
    assert keys.beta(0) == pytest.approx(0.4)
    assert keys.beta(500) == pytest.approx(0.7)
    assert keys.beta(5000) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("value", "expected"),  # at 0%, 50% and 100% of the budget
    [
        ("lin_0.001", (1e-3, 5e-4, 0.0)),  # rl-zoo: X * progress_remaining
        ({"schedule": "linear", "start": 0.3, "end": 0.1}, (0.3, 0.2, 0.1)),
        ({"schedule": "cosine", "start": 1.0, "end": 0.0}, (1.0, 0.5, 0.0)),
        (2.5e-4, (2.5e-4, 2.5e-4, 2.5e-4)),
    ],
)
def test_schedules_match_their_closed_forms(value, expected):
    schedule = parse_schedule(value, "a2c.lr")
    at = [schedule.at(p) if isinstance(schedule, Schedule) else schedule for p in (0, 0.5, 1)]
    np.testing.assert_allclose(at, expected, atol=1e-12)
    if isinstance(schedule, Schedule) and schedule.schedule == "cosine":
        p = 0.25  # half a cosine: end + (start - end) (1 + cos(pi p)) / 2
        assert schedule.at(p) == pytest.approx((1 + math.cos(math.pi * p)) / 2)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lin_x", "ppo.lr must be a number, lin_X"),
        ({"schedule": "step", "start": 1.0}, "ppo.lr must be a number, lin_X"),
        ({"schedule": "linear", "start": -1.0}, "ppo.lr must be > 0"),
    ],
)
def test_bad_schedules_are_one_line(value, message):
    with pytest.raises(ConfigError, match=message):
        build_config({"algo": "ppo", "max_steps": 1000, "ppo": {"lr": value}})


def test_a_schedule_needs_a_step_budget_and_round_trips_through_the_saved_config():
    with pytest.raises(ConfigError, match=r"ppo\.clip_range is a schedule over max_steps"):
        build_config({"algo": "ppo", "ppo": {"clip_range": "lin_0.2"}})
    config = build_config({"algo": "ppo", "max_steps": 1000, "ppo": {"lr": "lin_3e-4"}})
    again = build_config({"algo": "ppo", "max_steps": 1000, "ppo": config.to_dict()["ppo"]})
    assert again.ppo.lr == config.ppo.lr == Schedule("linear", 3e-4, 0.0)


def test_the_learner_follows_its_schedules_over_the_budget_and_a_checkpoint_keeps_the_clock():
    """PPO's learning rate, clip range and entropy coefficient at the env steps received."""
    config = build_config({
        "algo": "ppo", "max_steps": 4 * 64, "envs_per_worker": 2, "rollout_len": 32,
        "ppo": {"lr": "lin_1e-3", "clip_range": {"schedule": "linear", "start": 0.3, "end": 0.1},
                "entropy_coef": {"schedule": "cosine", "start": 0.02}, "n_epochs": 1},
    })  # fmt: skip
    spec = env_spec("CartPole-v1")
    learner = learner_of(config, spec=spec)
    worker = worker_of(config, spec=spec)
    seen = []
    for _ in range(2):  # 64 env steps each: progress 1/4, then 1/2
        result = learner.update([worker.sample(learner.weights())])
        seen.append(result.metrics)
    half = seen[-1]
    assert half["learner/learning_rate"] == pytest.approx(5e-4)
    assert half["learner/clip_range"] == pytest.approx(0.2)
    assert half["learner/entropy_coef"] == pytest.approx(0.01, abs=1e-9)
    assert seen[0]["learner/learning_rate"] == pytest.approx(7.5e-4)
    arrays, scalars = learner.checkpoint()
    other = learner_of(config, spec=spec, seed=1)
    other.restore(arrays, scalars)
    assert float(other.clip_range.numpy()) == pytest.approx(0.2)
    assert float(np.asarray(other.optimizer.learning_rate)) == pytest.approx(5e-4)
