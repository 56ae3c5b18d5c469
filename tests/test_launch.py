"""The launch command as users run it: a subprocess with an embedded Ray."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.scaling import descendants  # read from /proc: Linux, as Ray is

pytestmark = pytest.mark.slow  # every test runs the real command, most of them training

SUMMARY_KEYS = {
    "algo", "env", "mode", "workers", "envs_per_worker", "seed", "solved", "stop_reason",
    "env_steps", "learner_updates", "episodes", "startup_s", "wall_s", "steps_per_s",
    "final_mean_return", "worker_restarts", "learner_restarts", "worker_nodes", "run_dir",
}  # fmt: skip


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except OSError:
        return False


def first_progress_line(proc):
    """Read stdout (the header comes first) until the first progress line: training is under
    way; the line, or what ended the process."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if "steps/s" in line:
            return line
    return proc.stderr.read() if proc.stderr else ""


def launch(*args, tmp_path):
    summary = tmp_path / "summary.json"
    cmd = [
        sys.executable, "-m", "distrl.launch", *args,
        "--logdir", str(tmp_path / "run"), "--run-name", "r", "--json-summary", str(summary),
        "--progress-interval", "0.5",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return cmd, env, summary


def test_launch_writes_a_valid_summary(tmp_path):
    cmd, env, summary = launch(
        "--workers", "1", "--envs-per-worker", "4", "--max-steps", "3000",
        "--eval-every", "20", "--eval-episodes", "2", tmp_path=tmp_path,
    )  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(summary.read_text())
    assert set(data) == SUMMARY_KEYS
    assert (data["algo"], data["env"], data["mode"]) == ("a2c", "CartPole-v1", "sync")
    assert (data["workers"], data["envs_per_worker"]) == (1, 4)
    assert data["stop_reason"] == "max_steps" and data["solved"] is False
    # 4 envs x 16 steps = 64 steps per update: the first multiple of 64 at or past 3000
    assert data["env_steps"] == 3008 and data["learner_updates"] == 47
    assert data["episodes"] > 0 and 0 < data["final_mean_return"] < 500
    assert data["wall_s"] > 0 and data["startup_s"] > 0 and data["steps_per_s"] > 0
    run = tmp_path / "run" / "r"  # <logdir>/<run-name>
    assert data["run_dir"] == str(run)
    rows = [json.loads(line) for line in (run / "progress.jsonl").open()]
    assert rows[-1]["env_steps"] == 3008
    assert (run / "config.yaml").exists()
    # not a terminal: plain progress lines on stdout
    assert "steps/s" in proc.stdout
    check_metrics(run, data)
    # --eval-every 20 over 47 updates: evaluations after updates 20 and 40, logged apart.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run))
    events.Reload()
    evals = events.Scalars("eval/mean_return")
    assert [e.step for e in evals] == [20 * 64, 40 * 64]
    assert all(8 <= e.value <= 500 for e in evals)
    assert proc.stdout.count("eval at ") == 2
    # ... and in progress.jsonl, as rows of their own
    logged = [r for r in rows if "eval/mean_return" in r]
    assert [(r["env_steps"], r["eval/episodes"]) for r in logged] == [(1280, 2), (2560, 2)]
    assert [r["eval/mean_return"] for r in logged] == pytest.approx([e.value for e in evals])


def check_metrics(logdir, summary):
    """TensorBoard's own reader finds the tags; one row per episode; the curve exists."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(logdir))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"charts/episode_return", "charts/mean_return_20", "charts/steps_per_s",
            "learner/policy_loss", "learner/grad_norm", "learner/entropy",
            "learner/policy_lag_max", "charts/weights_version"} <= tags  # fmt: skip
    last = events.Scalars("charts/weights_version")[-1]
    assert (last.step, last.value) == (summary["env_steps"], summary["learner_updates"])
    rows = [json.loads(line) for line in (logdir / "episodes.jsonl").open()]
    assert len(rows) == summary["episodes"] == len(events.Scalars("charts/episode_return"))
    assert {"time_s", "env_step", "worker", "return", "length"} == set(rows[0])
    assert all(r["return"] == r["length"] for r in rows)  # CartPole: +1 per step, raw
    assert (logdir / "learning_curve.png").stat().st_size > 10_000
    # The plot command redraws it; an empty logdir is exit 2.
    out = subprocess.run([sys.executable, "-m", "distrl.plot", str(logdir)], capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip().endswith("learning_curve.png")
    empty = logdir.parent / "empty"
    empty.mkdir()
    out = subprocess.run([sys.executable, "-m", "distrl.plot", str(empty)], capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert out.returncode == 2 and "no episode log" in out.stderr


def test_launch_async_gradients_writes_a_valid_summary(tmp_path):
    cmd, env, summary = launch(
        "--workers", "2", "--envs-per-worker", "4", "--mode", "async",
        "--async-unit", "gradients", "--max-steps", "2000", tmp_path=tmp_path,
    )  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "async (gradients) a2c" in proc.stdout
    data = json.loads(summary.read_text())
    assert (data["mode"], data["stop_reason"]) == ("async", "max_steps")
    # One 64-step request per update: the first multiple of 64 at or past 2000.
    assert data["env_steps"] == 2048 and data["learner_updates"] == 32
    rows = [json.loads(line) for line in (tmp_path / "run" / "r" / "progress.jsonl").open()]
    assert {"learner/policy_lag_mean", "learner/stale_discarded"} <= set(rows[-1])


def test_sigint_stops_cleanly_and_still_writes_the_summary(tmp_path):
    # A return no CartPole run reaches: the run cannot end on its own before the signal.
    cmd, env, summary = launch("--workers", "1", "--max-seconds", "600", "--stop-reward", "1e9",
                               tmp_path=tmp_path)  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = first_progress_line(proc)
        assert "steps/s" in line, line
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    data = json.loads(summary.read_text())
    assert data["stop_reason"] == "interrupted" and data["env_steps"] > 0


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    cmd, env, summary = launch(
        "--workers", "0", "--max-seconds", "600", "--stop-reward", "1e9",
        "--checkpoint-dir", str(tmp_path / "ckpt"), tmp_path=tmp_path,
    )  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert "steps/s" in first_progress_line(proc)
        time.sleep(0.5)
        proc.terminate()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    data = json.loads(summary.read_text())
    assert data["stop_reason"] == "interrupted"
    # A last checkpoint was written on the way out, at the update count the run stopped at.
    from distrl.ops.checkpoint import read_checkpoint

    checkpoint = read_checkpoint(tmp_path / "ckpt")
    assert checkpoint.counters["updates"] == data["learner_updates"] > 0


def test_sigterm_leaves_no_ray_or_distrl_process_behind(tmp_path):
    cmd, env, summary = launch(
        "--workers", "2", "--envs-per-worker", "2", "--max-seconds", "600",
        "--stop-reward", "1e9", tmp_path=tmp_path,
    )  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert "steps/s" in first_progress_line(proc)  # training
        tree = descendants(proc.pid)  # itself, Ray's GCS, raylet, workers, learner, ...
        assert len(tree) >= 6, tree  # the launcher and at least 5 below it
        proc.terminate()
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert json.loads(summary.read_text())["stop_reason"] == "interrupted"
    deadline = time.monotonic() + 30
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = [p for p in tree if alive(p)]
    assert not left, [Path(f"/proc/{p}/cmdline").read_bytes()[:100] for p in left]


def test_signals_during_shutdown_lose_neither_checkpoint_nor_summary(tmp_path):
    """A SIGTERM ends training; more SIGTERMs and SIGINTs keep arriving all through the
    shutdown (service closing, final checkpoint, summary), as from an impatient orchestrator."""
    cmd, env, summary = launch(
        "--workers", "0", "--max-seconds", "600", "--stop-reward", "1e9",
        "--serve", "127.0.0.1:0", "--checkpoint-dir", str(tmp_path / "ckpt"), tmp_path=tmp_path,
    )  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "steps/s" in first_progress_line(proc)
        proc.terminate()
        sent = 1
        while proc.poll() is None and sent < 2000:
            proc.send_signal(signal.SIGTERM if sent % 2 else signal.SIGINT)
            sent += 1
            time.sleep(0.01)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-3000:]
    # Signals really did arrive during the shutdown: each one after the first is noted, not
    # obeyed. (How many arrive depends on how fast the shutdown is, so only "some" is asserted.)
    assert sent >= 2
    assert "finishing the final checkpoint and summary first" in err
    data = json.loads(summary.read_text())
    assert data["stop_reason"] == "interrupted"
    from distrl.ops.checkpoint import read_checkpoint

    assert read_checkpoint(tmp_path / "ckpt").counters["updates"] == data["learner_updates"]


def test_two_runs_in_one_logdir_get_a_folder_each(tmp_path):
    """The second run neither appends to the first's logs nor adds to its TensorBoard files."""
    summaries = []
    for i in range(2):
        summary = tmp_path / f"summary-{i}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "distrl.launch", "--workers", "0", "--envs-per-worker", "4",
             "--max-steps", "1280", "--logdir", str(tmp_path / "runs"), "--json-summary",
             str(summary)], capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        summaries.append(json.loads(summary.read_text()))
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2 and {s["run_dir"] for s in summaries} == {str(f) for f in folders}
    for data in summaries:
        run = Path(data["run_dir"])
        assert run.name.startswith("a2c-CartPole-v1-")
        rows = [json.loads(line) for line in (run / "episodes.jsonl").open()]
        assert len(rows) == data["episodes"]  # this run's episodes only
        steps = [json.loads(line)["env_steps"] for line in (run / "progress.jsonl").open()]
        assert steps == sorted(steps) and steps[-1] == data["env_steps"] == 1280
        assert len(list(run.glob("events.out.tfevents.*"))) == 1
    # A chosen name that is taken is refused before anything starts.
    proc = subprocess.run(
        [sys.executable, "-m", "distrl.launch", "--logdir", str(tmp_path / "runs"),
         "--run-name", folders[0].name], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "exists already" in proc.stderr
