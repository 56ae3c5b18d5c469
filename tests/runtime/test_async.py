"""The asynchronous loop on real Ray actors: learning in both A3C forms, and policy lag."""

import pytest

from distrl.config import build_config, make_config
from distrl.envs import env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import LocalBackend, run_async
from distrl.runtime.ray_backend import RayBackend

SPEC = env_spec("CartPole-v1")

# As in test_ray_backend: a random policy returns ~20; 150 within this budget (the async forms
# reach it in 40k-120k env steps with these settings; the budget leaves room for slow seeds).
TARGET_RETURN = 150.0
STEP_BUDGET = 250_000


def run(config, stop, backend_cls=RayBackend):
    """run_async to ``stop``; also returns the metrics and applied-update count after each
    update, as the progress reporter sees them."""
    backend = backend_cls(config, SPEC)
    state, seen = TrainingProgress(), []
    try:
        reason = run_async(
            backend, state, stop, lambda s: seen.append((dict(s.metrics), s.updates))
        )
    finally:
        backend.shutdown()
    return reason, state, seen


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["trajectories", "gradients"])
def test_async_a2c_with_two_ray_workers_learns_cartpole(ray_cluster, unit):
    config = build_config(
        {"workers": 2, "envs_per_worker": 16, "mode": "async", "async_unit": unit}
    )
    reason, state, seen = run(config, StopRule(TARGET_RETURN, STEP_BUDGET, None))
    assert reason == "solved", f"mean return {state.mean_return} after {state.env_steps} steps"
    assert state.updates == state.version  # every request was applied (no lag bound)
    # Two workers acting concurrently: the learner moved on while one was still acting.
    assert max(m["learner/policy_lag_max"] for m, _ in seen) >= 1
    if unit == "trajectories":
        assert "learner/vtrace_rho_mean" in seen[-1][0]  # V-trace is the async default


@pytest.mark.slow
def test_short_fragments_with_nstep_returns_learn_in_process():
    """Seed 004's request: update during the episode, every 5 steps, from n-step returns."""
    config = build_config(
        {"workers": 0, "envs_per_worker": 16, "rollout_len": 5, "mode": "async",
         "a2c": {"advantage": "nstep"}}
    )  # fmt: skip
    reason, state, _ = run(config, StopRule(TARGET_RETURN, STEP_BUDGET, None), LocalBackend)
    assert reason == "solved", f"mean return {state.mean_return} after {state.env_steps} steps"
    assert state.metrics["learner/batch_size"] == 5 * 16


def straggler_config(**overrides):
    """Worker 0 sleeps 30 ms per step: one of its 8-step fragments takes as long as dozens of
    updates on worker 1's fragments, so its lag is far beyond a bound of 2."""
    return make_config(
        workers=2, envs_per_worker=4, rollout_len=8, mode="async", straggler_delay=0.03,
        max_policy_lag=2, **overrides,
    )  # fmt: skip


def test_straggler_lag_beyond_the_bound_is_discarded_and_counted(ray_cluster):
    reason, _, seen = run(straggler_config(), StopRule(None, None, 3.0))
    assert reason == "max_seconds"
    lags = [m["learner/policy_lag_max"] for m, _ in seen]
    assert max(lags) > 2
    assert seen[-1][0]["learner/stale_discarded"] >= 1
    assert seen[-1][0]["learner/stale_corrected"] == 0
    # The bound is enforced: an update whose fragments all lagged <= 2 discarded nothing, and
    # one that made no gradient step had only fragments beyond the bound.
    discarded = applied_count = 0
    for metrics, updates in seen:
        new_discards = metrics["learner/stale_discarded"] - discarded
        discarded = metrics["learner/stale_discarded"]
        if metrics["learner/policy_lag_max"] <= 2:
            assert new_discards == 0
        if updates == applied_count:  # no step this time
            assert new_discards >= 1 and metrics["learner/policy_lag_mean"] > 2
        applied_count = updates


def test_straggler_lag_beyond_the_bound_can_be_corrected(ray_cluster):
    config = straggler_config(stale_data="correct", correction="none")
    reason, state, seen = run(config, StopRule(None, None, 3.0))
    assert reason == "max_seconds"
    assert state.updates == len(seen)  # nothing dropped
    corrected = seen[-1][0]["learner/stale_corrected"]
    assert corrected >= 1 and seen[-1][0]["learner/stale_discarded"] == 0
    for metrics, _ in seen:  # V-trace exactly on the updates that held a stale fragment
        assert ("learner/vtrace_rho_mean" in metrics) == (metrics["learner/policy_lag_max"] > 2)
