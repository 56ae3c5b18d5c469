"""The stop rule and run counters (pure logic)."""

import numpy as np

from distrl.ops.tracking import RETURN_WINDOW, StopRule, TrainingProgress
from distrl.types import UpdateResult


def result(returns, steps=100, version=1):
    return UpdateResult(
        version=version,
        env_steps=steps,
        episode_returns=np.asarray(returns, dtype=float),
        episode_lengths=np.ones(len(returns), dtype=np.int64),
        metrics={"learner/entropy": 0.5},
    )


def test_solved_needs_a_full_window_of_episodes():
    rule, state = StopRule(100.0, None, None), TrainingProgress()
    state.record(result([500.0] * (RETURN_WINDOW - 1)))
    assert rule.check(state) is None  # 19 great episodes are not yet 20
    state.record(result([100.0]))
    assert rule.check(state) == "solved"


def test_window_keeps_only_the_last_episodes():
    state = TrainingProgress()
    state.record(result([0.0] * 50))
    state.record(result([10.0] * RETURN_WINDOW))
    assert state.mean_return == 10.0 and state.episodes == 50 + RETURN_WINDOW


def test_step_and_time_budgets():
    state = TrainingProgress()
    state.record(result([], steps=999, version=1))
    assert StopRule(None, 1000, None).check(state) is None
    state.record(result([], steps=1, version=2))
    assert StopRule(None, 1000, None).check(state) == "max_steps"
    assert (state.updates, state.version, state.env_steps) == (2, 2, 1000)
    state.started -= 5.0  # pretend training began 5 s earlier
    assert StopRule(None, None, 4.0).check(state) == "max_seconds"


def test_no_episodes_means_no_mean_return():
    state = TrainingProgress()
    state.record(result([]))
    assert state.mean_return is None
    assert StopRule(1.0, None, None).check(state) is None
