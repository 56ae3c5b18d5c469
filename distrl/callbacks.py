"""Callbacks: code of yours that runs inside a training run, in the thread that trains.

    class PrintReturns(distrl.Callback):
        def on_update(self, trainer, state):
            if state.mean_return is not None and state.mean_return > 200:
                trainer.stop()          # ends the run like its stop rule (reason "stopped")

    distrl.Trainer(config, callbacks=[PrintReturns()]).train()

Every method has a default that does nothing; override the ones you need.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from distrl.config import Config
    from distrl.ops.summary import RunSummary
    from distrl.ops.tracking import TrainingProgress

log = logging.getLogger(__name__)


class Trainer(Protocol):
    """What a callback sees of the running :class:`distrl.Trainer` (declared here, so that the
    callbacks the trainer calls need not import it)."""

    config: Config
    progress: TrainingProgress
    run_dir: Path  # this run's folder: config.yaml, progress.jsonl, TensorBoard events, ...

    def stop(self) -> None:
        """End the run after the current update, like its stop rule (reason "stopped")."""

    def save(self, directory: str | Path | None = None) -> Path:
        """Write a checkpoint now."""
        ...

    def save_policy(self, path: str | Path) -> Path:
        """Write the current policy as a ``.keras`` file."""
        ...

    def policy(self, seed: int = 0) -> Any:
        """The current policy as a :class:`distrl.Policy`."""


class Callback:
    """Hooks of one run. ``trainer`` is the running :class:`distrl.Trainer`: call its ``stop()``
    to end the run, ``save()`` to write a checkpoint, ``save_policy()`` or ``policy()``."""

    def on_start(self, trainer: Trainer) -> None:
        """Workers and learner are up; training is about to start."""

    def on_update(self, trainer: Trainer, state: TrainingProgress) -> None:
        """After every learner update (``state``: counters, recent returns, ``state.metrics``)."""

    def on_episode(self, trainer: Trainer, episode_return: float, length: int) -> None:
        """For every training episode that finished, in the order the learner received them."""

    def on_evaluation(self, trainer: Trainer, returns: np.ndarray) -> None:
        """After each evaluation (``eval_every``): the returns of its episodes."""

    def on_stopping(self, trainer: Trainer) -> None:
        """Training has ended; the final checkpoint and summary are about to be written."""

    def on_end(self, trainer: Trainer, summary: RunSummary) -> None:
        """The run is over and everything it started has been shut down."""


class SaveBestPolicy(Callback):
    """Keeps the policy with the best mean evaluation return so far as a ``.keras`` file.

    Needs ``eval_every`` in the config (evaluation is what it ranks by).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.best: float | None = None
        self.saves = 0

    def on_evaluation(self, trainer: Trainer, returns: np.ndarray) -> None:
        """Save the policy when this evaluation's mean return is the best so far."""
        mean = float(np.mean(returns))
        if self.best is None or mean > self.best:
            self.best = mean
            trainer.save_policy(self.path)
            self.saves += 1
            log.info("best policy so far (mean evaluation return %.1f) saved to %s", mean,
                     self.path)  # fmt: skip
