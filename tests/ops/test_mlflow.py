"""MLflow tracking (``mlflow``): a real run logs to a local store, read back with MLflow's own
client; a resumed run goes on in the same MLflow run."""

import json

import pytest

import distrl
from distrl.config import ConfigError

mlflow = pytest.importorskip("mlflow")  # in the dev extra; users add distrl[mlflow]


class StopAfter(distrl.Callback):
    def __init__(self, updates):
        self.updates = updates

    def on_update(self, trainer, state):
        if state.updates >= self.updates:
            trainer.stop()


def test_run_logs_params_metrics_and_summary_and_resume_continues_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # "./mlruns", as a user would type it
    config = distrl.make_config("cartpole-a2c", workers=0, envs_per_worker=8,
                                logdir=str(tmp_path / "runs"), run_name="first",
                                progress_interval=1e-9, mlflow="./mlruns",
                                mlflow_experiment="cartpole-sweep")  # fmt: skip
    first = distrl.Trainer(config, callbacks=[StopAfter(15)])
    first.train()
    checkpoint = first.save(tmp_path / "ckpt")
    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    experiment = client.get_experiment_by_name("cartpole-sweep")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "first" and run.info.status == "FINISHED"
    assert run.data.params["a2c.lr"] == str(config.a2c.lr)
    assert run.data.params["env"] == "CartPole-v1" and run.data.tags["distrl.algo"] == "a2c"
    assert run.data.tags["distrl.stop_reason"] == "stopped"
    history = client.get_metric_history(run.info.run_id, "learner/value_loss")
    steps = [m.step for m in history]
    assert len(steps) >= 10 and steps == sorted(steps)  # against env steps, in order
    assert steps[-1] == first.summary.env_steps
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"summary.json", "config.yaml"} <= artifacts
    summary = json.loads((tmp_path / client.download_artifacts(
        run.info.run_id, "summary.json", str(tmp_path))).read_text())  # fmt: skip
    assert summary["learner_updates"] == first.summary.learner_updates == 15

    # Resumed in the same run folder: the same MLflow run goes on, nothing is started anew.
    second = distrl.Trainer.restore(checkpoint, callbacks=[StopAfter(25)])
    second.train()
    (again,) = client.search_runs([experiment.experiment_id])
    assert again.info.run_id == run.info.run_id and again.info.status == "FINISHED"
    longer = [m.step for m in client.get_metric_history(run.info.run_id, "learner/value_loss")]
    assert longer[: len(steps)] == steps and longer[-1] == second.summary.env_steps > steps[-1]


def test_a_store_that_fails_mid_run_loses_no_training(tmp_path, caplog):
    """Tracking that breaks during the run is one warning; training and its own files go on."""
    from distrl.ops.mlflow_log import MLflowLogger

    class BreakTheStore(distrl.Callback):
        def on_update(self, trainer, state):
            if state.updates == 3:
                (logger,) = [c for c in trainer.callbacks if isinstance(c, MLflowLogger)]

                def refuse(*args, **kwargs):
                    raise OSError("disk full")

                logger.client.log_batch = refuse

    config = distrl.make_config("cartpole-a2c", workers=0, envs_per_worker=4,
                                logdir=str(tmp_path / "runs"), mlflow=str(tmp_path / "mlruns"),
                                max_steps=2_000, progress_interval=1e-9)  # fmt: skip
    trainer = distrl.Trainer(config, callbacks=[BreakTheStore()])
    summary = trainer.train()
    assert summary.stop_reason == "max_steps" and summary.env_steps >= 2_000
    (logger,) = [c for c in trainer.callbacks if isinstance(c, MLflowLogger)]
    assert logger.failures > 1
    assert sum("could not log metrics" in r.message for r in caplog.records) == 1
    assert (trainer.run_dir / "progress.jsonl").exists()


def test_a_store_that_cannot_be_made_is_refused_before_the_run(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the store's folder should be")
    config = distrl.make_config(workers=0, logdir=str(tmp_path / "runs"),
                                mlflow=str(blocked / "mlruns"))  # fmt: skip
    with pytest.raises(ConfigError, match=r"mlflow: cannot use .*blocked/mlruns"):
        distrl.Trainer(config).prepare()


def test_a_store_mlflow_cannot_open_is_one_line_exit_2(tmp_path):
    from distrl.launch import main

    code = main(["--workers", "0", "--logdir", str(tmp_path), "--mlflow", "foo://bar"])
    assert code == 2
    assert not any(tmp_path.iterdir())  # refused before the run folder was made


def test_bad_mlflow_settings_are_config_errors():
    with pytest.raises(ConfigError, match=r"logging\.mlflow_experiment must not be empty"):
        distrl.make_config(mlflow="./mlruns", mlflow_experiment="")
    with pytest.raises(ConfigError, match=r"mlflow must not be empty"):
        distrl.make_config(mlflow="")
