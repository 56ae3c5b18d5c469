"""LSTM policies on 2 real Ray workers: PPO in sync mode and A2C in async mode (V-trace on
lagged fragments) learn Recall, a task only memory solves (a feed-forward policy scores 0)."""

import pytest

import distrl

MEMORY = {"env": "Recall-v0", "env_imports": ["tests.envs.memory"], "workers": 2,
          "envs_per_worker": 8, "rollout_len": 20, "samples_per_update": None,
          "max_steps": 100_000, "stop_reward": 0.9}  # fmt: skip


@pytest.mark.parametrize(
    ("algo", "mode", "keys"),
    [("ppo", "sync", {}),
     ("a2c", "async", {"a2c.lr": 3e-3, "a2c.optimizer": "adam", "a2c.entropy_coef": 0.01})],
)  # fmt: skip
def test_recurrent_policies_learn_recall_on_two_ray_workers(ray_cluster, tmp_path, algo, mode,
                                                            keys):  # fmt: skip
    config = distrl.make_config(None, {**MEMORY, **keys, "algo": algo, "mode": mode,
                                       "model.lstm_size": 16, "logdir": str(tmp_path)},
                                progress_interval=60)  # fmt: skip
    summary = distrl.Trainer(config).train()
    assert summary.solved and summary.workers == 2, summary
    assert summary.final_mean_return >= 0.9
