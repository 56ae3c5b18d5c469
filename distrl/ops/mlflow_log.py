"""Experiment tracking with MLflow (``--mlflow URI``): the run's config as parameters, its
metrics against env steps, and its summary, curve and config as artifacts.

The only module that imports MLflow, and only when a run asks for it. Any tracking URI MLflow
takes works: a folder (``./mlruns``: MLflow's file store, no server), ``sqlite:///mlflow.db``
(with the full ``mlflow`` package), or a tracking server's ``http(s)://`` address. MLflow keeps
its file store in maintenance mode and refuses it unless ``MLFLOW_ALLOW_FILE_STORE`` is set:
for a folder, distrl sets it in this process (read the store with the same variable set).

A resumed run (``--resume``) logs into the MLflow run it started, found through the
``mlflow_run.json`` it left in the run folder.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from distrl.callbacks import Callback, Trainer
from distrl.config import ConfigError

if TYPE_CHECKING:
    from distrl.ops.summary import RunSummary
    from distrl.ops.tracking import TrainingProgress

log = logging.getLogger(__name__)

RUN_FILE = "mlflow_run.json"  # in the run folder: which MLflow run this run logs to
ARTIFACTS = ("learning_curve.png", "config.yaml")  # from the run folder, where they exist
FAILED = {"worker_failures", "learner_failures", "nonfinite", "error"}
MAX_PARAM = 6000  # MLflow's limit on a parameter value's length


def tracking_uri(uri: str) -> str:
    """A folder (no scheme) as an absolute ``file:`` URI; anything else unchanged."""
    scheme = urlparse(uri).scheme
    if scheme and scheme != "file" and len(scheme) > 1:  # one letter: a Windows drive
        return uri
    path = Path(uri[len("file:") :] if scheme == "file" else uri).expanduser().resolve()
    return path.as_uri()


def allow_file_store(uri: str) -> None:
    """MLflow 3 refuses its file store unless told; a folder given to ``--mlflow`` tells it."""
    if urlparse(uri).scheme == "file":
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")


class MLflowLogger(Callback):
    """Logs one distrl run to one MLflow run. Scalars at most every ``interval`` seconds, like
    the TensorBoard files; evaluations and the end of the run always."""

    def __init__(self, uri: str, experiment: str, *, interval: float) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as e:
            raise ConfigError(
                "mlflow is set but MLflow is not installed: pip install 'distrl[mlflow]'"
            ) from e
        self.uri = tracking_uri(uri)
        allow_file_store(self.uri)
        if urlparse(self.uri).scheme == "file":  # a folder that cannot be made: refuse now
            try:
                Path(urlparse(self.uri).path).mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ConfigError(f"mlflow: cannot use {uri!r} as a tracking store: {e}") from e
        self.experiment = experiment
        self.interval = interval
        try:
            self.client = MlflowClient(tracking_uri=self.uri)
        except Exception as e:  # an unknown scheme, or a store this install cannot open
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(f"mlflow: cannot use {uri!r} as a tracking store: {first}") from None
        self.run_id: str | None = None
        self.failures = 0  # metric batches the store refused
        self._last = 0.0

    def on_start(self, trainer: Trainer) -> None:
        run_file = Path(trainer.run_dir) / RUN_FILE
        previous = json.loads(run_file.read_text()) if run_file.exists() else {}
        if previous.get("tracking_uri") == self.uri:  # a resumed run: go on in its MLflow run
            self.run_id = previous["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            return
        config = trainer.config
        found = self.client.get_experiment_by_name(self.experiment)
        experiment_id = (
            found.experiment_id if found else self.client.create_experiment(self.experiment)
        )
        run = self.client.create_run(
            experiment_id,
            run_name=config.run_name,
            tags={"distrl.algo": config.algo, "distrl.env": config.env, "distrl.mode": config.mode},
        )
        self.run_id = run.info.run_id
        from mlflow.entities import Param

        params = [Param(k, _param(v)) for k, v in sorted(_flatten(config.section_dicts()).items())]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[i : i + 100])
        run_file.write_text(json.dumps({"tracking_uri": self.uri, "run_id": self.run_id}))
        log.info("MLflow: logging to run %s of experiment %r at %s", self.run_id,
                 self.experiment, self.uri)  # fmt: skip

    def on_update(self, trainer: Trainer, state: TrainingProgress) -> None:
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self._log_state(state)

    def on_evaluation(self, trainer: Trainer, returns: np.ndarray) -> None:
        step = trainer.progress.env_steps
        self._log({"eval/mean_return": float(returns.mean()),
                   "eval/std_return": float(returns.std())}, step)  # fmt: skip

    def on_end(self, trainer: Trainer, summary: RunSummary) -> None:
        if self.run_id is None:
            return  # the run failed before it started
        self._log_state(trainer.progress)
        status = "FAILED" if summary.stop_reason in FAILED else "FINISHED"
        if summary.stop_reason == "interrupted":
            status = "KILLED"
        try:
            self.client.set_tag(self.run_id, "distrl.stop_reason", summary.stop_reason)
            self.client.set_tag(self.run_id, "distrl.solved", str(summary.solved).lower())
            self.client.log_dict(self.run_id, dataclasses.asdict(summary), "summary.json")
            for name in ARTIFACTS:
                path = Path(trainer.run_dir) / name
                if path.exists():
                    self.client.log_artifact(self.run_id, str(path))
            self.client.set_terminated(self.run_id, status=status)
        except Exception as e:  # the run's own files are written already: only tracking lost
            log.warning("MLflow: could not record the end of the run: %s", e)

    def _log_state(self, state: TrainingProgress) -> None:
        metrics = {
            "charts/steps_per_s": state.steps_per_s,
            "charts/updates": state.updates,
            "charts/episodes": state.episodes,
            "charts/weights_version": state.version,
            **state.metrics,
        }
        if state.mean_return is not None:
            metrics["charts/mean_return_20"] = state.mean_return
        self._log(metrics, state.env_steps)

    def _log(self, values: dict[str, Any], step: int) -> None:
        from mlflow.entities import Metric

        assert self.run_id is not None
        stamp = int(time.time() * 1000)
        metrics = [Metric(k, float(v), stamp, step) for k, v in values.items()
                   if np.isfinite(v)]  # fmt: skip
        try:
            for i in range(0, len(metrics), 1000):  # MLflow's batch limit
                self.client.log_batch(self.run_id, metrics=metrics[i : i + 1000])
        except Exception as e:  # a tracking store that fails must not end the training
            self.failures += 1
            if self.failures == 1:
                log.warning("MLflow: could not log metrics (training goes on): %s", e)


def _flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _param(value: Any) -> str:
    text = (
        json.dumps(value) if isinstance(value, list | dict | bool) or value is None else str(value)
    )
    return text[:MAX_PARAM]
