"""PPO on 2 real Ray workers learns CartPole-v1, synchronously and APPO-style (async, V-trace)."""

import pytest

import distrl

# Random play scores about 20; the cartpole-ppo preset (rl-zoo's settings) passes 400 in about
# 35k env steps in-process. The budget leaves room for slower seeds and for async's lag.
TARGET, BUDGET = 400.0, 200_000


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_ppo_with_two_ray_workers_learns_cartpole(ray_cluster, tmp_path, mode):
    config = distrl.make_config("cartpole-ppo", mode=mode, stop_reward=TARGET, max_steps=BUDGET,
                                logdir=str(tmp_path / "runs"), progress_interval=60)  # fmt: skip
    summary = distrl.Trainer(config).train()
    assert summary.solved, summary
    assert summary.workers == 2 and summary.final_mean_return >= TARGET
