"""distrl runs as Ray Tune trials: a trainable with the resources a run needs, reporting every
update's metrics and the run's checkpoints to Tune.

    from ray import tune
    from distrl.integrations.tune import trainable

    base = distrl.make_config("cartpole-a2c", workers=1, max_steps=100_000)
    tuner = tune.Tuner(
        trainable(base),                                   # learner + workers, one PG per trial
        param_space={"a2c.lr": tune.loguniform(1e-4, 1e-2)},
        tune_config=tune.TuneConfig(metric="mean_return", mode="max", num_samples=4),
    )
    tuner.fit()

Inside a trial the run joins the trial's Ray, and its learner and workers go into the trial's
placement group (one bundle for the trial itself, one for the learner, one per worker), so
Tune never oversubscribes the cluster and a trial Tune stops takes its actors with it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ray import tune

from distrl.callbacks import Callback
from distrl.callbacks import Trainer as RunningTrainer
from distrl.config import Config, build_config, flatten
from distrl.ops.summary import RunSummary
from distrl.ops.tracking import TrainingProgress
from distrl.trainer import Trainer

TRIAL_CPUS = 0.5  # the trial's own process: it only wires and paces the run


def resources(config: Config) -> tune.PlacementGroupFactory:
    """One bundle for the trial process, one per learner (its GPU too), one per worker."""
    learner: dict[str, float] = {"CPU": config.resources.learner_cpus}
    if config.resources.learner_gpus:
        learner["GPU"] = config.resources.learner_gpus
    workers = [{"CPU": config.resources.worker_cpus} for _ in range(config.workers)]
    learners = [dict(learner) for _ in range(config.resources.learners)]
    return tune.PlacementGroupFactory([{"CPU": TRIAL_CPUS}, *learners, *workers])


class TuneReport(Callback):
    """Reports every update to Tune (``env_steps``, ``updates``, ``mean_return`` once episodes
    have finished, and the learner's metrics), with a checkpoint every ``checkpoint_every``
    updates (None: only at the end) and at the end."""

    def __init__(self, checkpoint_every: int | None) -> None:
        self.checkpoint_every = checkpoint_every
        self._last_checkpoint = 0

    def on_update(self, trainer: RunningTrainer, state: TrainingProgress) -> None:
        if state.mean_return is None:
            return  # nothing to rank a trial by yet
        due = self.checkpoint_every is not None and (
            state.updates - self._last_checkpoint >= self.checkpoint_every
        )
        if due:
            self._last_checkpoint = state.updates
        self._report(trainer, state, checkpoint=due)

    def on_end(self, trainer: RunningTrainer, summary: RunSummary) -> None:
        if trainer.progress.mean_return is not None:
            self._report(trainer, trainer.progress, checkpoint=True, done=True)

    def _report(
        self, trainer: RunningTrainer, state: TrainingProgress, checkpoint: bool, done: bool = False
    ) -> None:
        metrics = {
            "env_steps": state.env_steps,
            "updates": state.updates,
            "episodes": state.episodes,
            "mean_return": state.mean_return,
            "steps_per_s": state.steps_per_s,
            "done": done,
            **{k.replace("/", "_"): v for k, v in state.metrics.items()},
        }
        if not checkpoint:
            tune.report(metrics)
            return
        with tempfile.TemporaryDirectory() as folder:
            trainer.save(folder)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))


def trainable(
    base: Config,
    *,
    checkpoint_every: int | None = None,
    callbacks: Callable[[], list[Callback]] | None = None,
) -> Callable[[Mapping[str, Any]], None]:
    """A Tune trainable for runs of ``base`` with each trial's ``param_space`` keys (dotted,
    ``"a2c.lr"``, or nested) on top, with the resources ``base`` needs. A checkpoint goes to
    Tune every ``checkpoint_every`` updates and at the end. The trial's folder holds the run's
    logs; ``callbacks`` makes extra callbacks for each trial."""

    def run(params: Mapping[str, Any]) -> None:
        folder = Path(tune.get_context().get_trial_dir())
        config = build_config(
            base.to_dict(), flatten(dict(params)), {"logdir": str(folder), "run_name": "distrl"}
        )
        extra = callbacks() if callbacks is not None else []
        report = TuneReport(checkpoint_every)
        Trainer(config, callbacks=[report, *extra]).train()

    return tune.with_resources(run, resources(base))


__all__ = ["TuneReport", "resources", "trainable"]
