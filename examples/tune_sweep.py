"""Sweep A2C's learning rate on CartPole-v1 with Ray Tune: 4 trials, ASHA stops the weak ones.

    python examples/tune_sweep.py                  # about a minute on a 2-core laptop

Each trial is a whole distrl run (a learner and 1 rollout worker, in the trial's placement
group) reporting every update to Tune. Results and each trial's logs and checkpoints go to
runs/tune/ (never to ~/ray_results). The best trial's checkpoint loads with
distrl.Policy.from_checkpoint or continues with distrl.Trainer.restore.
"""

from __future__ import annotations

from pathlib import Path

import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler

import distrl
from distrl.integrations.tune import trainable

TRIALS = 4
STEPS = 150_000  # env steps per trial at most; ASHA stops weak trials much earlier


def main() -> None:
    # Logical CPUs: each trial reserves 2.5 (learner, worker, the trial itself), so 2 trials
    # run side by side; on 2 physical cores they share them.
    ray.init(num_cpus=6, include_dashboard=False)
    base = distrl.make_config(
        "cartpole-a2c", workers=1, envs_per_worker=16, max_steps=STEPS, progress_interval=60
    )  # fmt: skip
    tuner = tune.Tuner(
        trainable(base, checkpoint_every=100),
        param_space={"a2c.lr": tune.loguniform(3e-4, 3e-2)},
        tune_config=tune.TuneConfig(
            metric="mean_return",
            mode="max",
            num_samples=TRIALS,
            scheduler=ASHAScheduler(time_attr="env_steps", max_t=STEPS, grace_period=20_000),
        ),
        run_config=tune.RunConfig(
            name="cartpole-lr", storage_path=str(Path("runs/tune").resolve())
        ),
    )
    results = tuner.fit()
    best = results.get_best_result()
    lr, metrics = best.config["a2c.lr"], best.metrics
    print(f"best a2c.lr {lr:.2e}: mean return {metrics['mean_return']:.1f} after "
          f"{metrics['env_steps']} env steps; checkpoint {best.checkpoint}")  # fmt: skip
    ray.shutdown()


if __name__ == "__main__":
    main()
