"""DDPG on real Ray actors: Pendulum-v1 improves in both collection modes."""

import pytest

import distrl
from distrl.config import build_config, load_preset
from distrl.envs import env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import LOOPS
from distrl.runtime.ray_backend import RayBackend

SPEC = env_spec("Pendulum-v1")

# A random Pendulum policy returns about -1200 per 200-step episode; the bar is -600 (mean of
# the last 20 episodes) within this budget. The seed-003 preset passes -200 in ~8k env steps.
TARGET_RETURN = -600.0
STEP_BUDGET = 12_000


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_ddpg_with_two_ray_workers_learns_pendulum(ray_cluster, mode):
    config = build_config(load_preset("pendulum-ddpg"), {"mode": mode})
    backend = RayBackend(config, SPEC)
    state, first_returns = TrainingProgress(), []

    def watch(s):
        if not first_returns and len(s.recent_returns) >= 4:
            first_returns.extend(s.recent_returns)  # while still acting at random

    try:
        reason = LOOPS[mode](backend, state, StopRule(TARGET_RETURN, STEP_BUDGET, None), watch)
    finally:
        backend.shutdown()
    assert sum(first_returns) / len(first_returns) < -900  # the random start
    assert reason == "solved", f"mean return {state.mean_return} after {state.env_steps} steps"
    assert state.metrics["learner/gradient_steps"] > 0


def test_td3_with_two_ray_workers_learns_pendulum(ray_cluster, tmp_path):
    """The pendulum-td3 preset with small networks and 1,000 random steps: random play scores
    about -1,200; -400 comes within about 8k env steps."""
    config = distrl.make_config(
        "pendulum-td3", rollout_len=50, max_steps=20_000, stop_reward=-400,
        td3={"learning_starts": 1000, "actor_hidden": [64, 64], "critic_hidden": [64, 64],
             "batch_size": 128},
        logdir=str(tmp_path / "runs"), progress_interval=60,
    )  # fmt: skip
    summary = distrl.Trainer(config).train()
    assert summary.solved, summary
    assert summary.workers == 2
