"""Checkpoints: atomic writes, validation, exact resume of both learners, the exported policy."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from distrl.config import build_config
from distrl.envs import env_spec
from distrl.launch import main
from distrl.ops.checkpoint import (
    CheckpointError,
    checkpoints,
    read_checkpoint,
    resolve,
    write_checkpoint,
)
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import LocalBackend, run_sync


def tiny(root, updates, value=1.0, keep=3):
    return write_checkpoint(
        root, updates=updates, arrays={"model/000": np.full((2, 3), value, np.float32)},
        scalars={"version": updates}, counters={"updates": updates}, config={"algo": "a2c"},
        keep=keep,
    )  # fmt: skip


def test_roundtrip_and_only_the_newest_k_are_kept(tmp_path):
    for u in (5, 10, 15, 20):
        tiny(tmp_path, u, value=u, keep=3)
    assert [p.name for p in checkpoints(tmp_path)] == [
        "ckpt-000000010", "ckpt-000000015", "ckpt-000000020",
    ]  # fmt: skip
    ckpt = read_checkpoint(tmp_path)  # a directory of checkpoints: the newest
    assert ckpt.path.name == "ckpt-000000020" and ckpt.scalars == {"version": 20}
    np.testing.assert_array_equal(ckpt.arrays["model/000"], np.full((2, 3), 20, np.float32))
    assert not list(tmp_path.glob(".tmp-*"))
    tiny(tmp_path, 20, value=-1)  # the same update count again (the end of a run): replaced
    np.testing.assert_array_equal(read_checkpoint(tmp_path).arrays["model/000"], -1)
    assert len(checkpoints(tmp_path)) == 3 and not list(tmp_path.glob(".*"))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda p: (p / "arrays.npz").write_bytes(b"PK\x03\x04 not a zip"),
            r"arrays\.npz: unreadable",
        ),
        (lambda p: (p / "meta.json").write_text("{"), r"meta\.json: not valid JSON"),
        (lambda p: (p / "meta.json").unlink(), r"meta\.json: missing"),
    ],
)
def test_damaged_checkpoint_is_a_one_line_error_naming_the_file(tmp_path, damage, message):
    path = tiny(tmp_path, 1)
    damage(path)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(path)


def test_truncated_arrays_file_is_detected(tmp_path):
    path = tiny(tmp_path, 1)
    data = (path / "arrays.npz").read_bytes()
    (path / "arrays.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"arrays\.npz"):
        read_checkpoint(path)


def test_cli_resume_from_a_corrupted_checkpoint_exits_2_with_one_line(tmp_path, capsys):
    path = tiny(tmp_path, 1)
    (path / "arrays.npz").write_bytes(b"garbage")
    assert main(["--resume", str(path), "--logdir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "arrays.npz: unreadable" in err[0]
    assert (path / "meta.json").exists()  # nothing was deleted or overwritten


def test_resume_into_a_smaller_replay_buffer_is_a_one_line_error(tmp_path, capsys):
    write_checkpoint(
        tmp_path, updates=1, arrays={}, scalars={"replay": {"size": 5000}}, counters={},
        config={"algo": "ddpg", "env": "Pendulum-v1"},
    )  # fmt: skip
    argv = ["--algo", "ddpg", "--env", "Pendulum-v1", "--set", "ddpg.buffer_size=1000",
            "--resume", str(tmp_path), "--logdir", str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "5000 replay transitions" in err[0] and "buffer_size 1000" in err[0]


WRITER = """
import sys, numpy as np
from distrl.ops.checkpoint import write_checkpoint
big = {"replay/obs": np.ones((4_000_000, 8), np.float32)}  # ~128 MB: slow enough to interrupt
print("ready", flush=True)
for u in range(2, 1000):
    write_checkpoint(sys.argv[1], updates=u, arrays=big, scalars={}, counters={}, config={},
                     keep=2)
"""


def test_kill_9_during_a_write_leaves_the_previous_checkpoint_loadable(tmp_path):
    tiny(tmp_path, 1)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # inside a write: each takes well over a second here
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    # The interrupted write left at most a hidden temporary directory, never a listed one.
    for path in checkpoints(tmp_path):
        read_checkpoint(path)  # every listed checkpoint is complete
    assert resolve(tmp_path).name.startswith("ckpt-")


def small(algo):
    if algo == "ddpg":
        return build_config(
            {"algo": "ddpg", "env": "Pendulum-v1", "workers": 0, "envs_per_worker": 2,
             "rollout_len": 50, "ddpg": {"learning_starts": 100, "batch_size": 16}}
        )  # fmt: skip
    return build_config({"workers": 0, "envs_per_worker": 4, "rollout_len": 8})


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["a2c", "ddpg"])
def test_resume_restores_weights_optimizer_counters_exactly(tmp_path, algo):
    config = small(algo)
    spec = env_spec(config.env)
    first = LocalBackend(config, spec)
    state = TrainingProgress()
    run_sync(first, state, StopRule(None, 400, None))
    arrays, scalars = first.learner_checkpoint(include_replay=True)
    write_checkpoint(
        tmp_path, updates=state.updates, arrays=arrays, scalars=scalars,
        counters=state.counters(), config=config.to_dict(),
    )  # fmt: skip
    ckpt = read_checkpoint(tmp_path)
    second = LocalBackend(build_config(config.to_dict(), {"seed": 99}), spec)
    fresh, _ = second.learner_checkpoint(include_replay=True)
    assert any(not np.array_equal(fresh[k], arrays[k]) for k in fresh)  # other init
    second.restore_learner(ckpt.arrays, ckpt.scalars)
    restored, restored_scalars = second.learner_checkpoint(include_replay=True)
    assert restored.keys() == arrays.keys()
    for key in arrays:  # weights, targets, optimizer slots and iteration counts, replay
        np.testing.assert_array_equal(restored[key], arrays[key], err_msg=key)
    assert restored_scalars == scalars
    assert any("optimizer" in k for k in arrays)
    resumed = TrainingProgress.restore(ckpt.counters)
    assert (resumed.env_steps, resumed.updates, resumed.version, resumed.episodes) == (
        state.env_steps, state.updates, state.version, state.episodes,
    )  # fmt: skip
    assert list(resumed.recent_returns) == list(state.recent_returns)
    assert second.weights().version == first.learner.version  # workers get it next
    # Both continue identically: the same next update from the same data.
    data = first.submit(0, first.weights())
    a, _ = first.update([data])
    b, _ = second.update([data])
    assert a.version == b.version
    for x, y in zip(
        first.learner_checkpoint(True)[0].values(),
        second.learner_checkpoint(True)[0].values(),
        strict=True,
    ):
        np.testing.assert_allclose(x, y, rtol=1e-6)


LOAD_WITHOUT_DISTRL = """
import sys
sys.modules["distrl"] = None  # any import of distrl now fails
import keras, numpy as np
model = keras.models.load_model(sys.argv[1])
obs = np.load(sys.argv[2])
out = model(obs)
out = out if isinstance(out, (list, tuple)) else [out]
np.savez(sys.argv[3], *[np.asarray(o) for o in out])
"""


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["a2c", "ddpg"])
def test_exported_policy_loads_without_distrl_and_gives_the_same_outputs(tmp_path, algo):
    config = small(algo)
    backend = LocalBackend(config, env_spec(config.env))
    run_sync(backend, TrainingProgress(), StopRule(None, 300, None))
    (tmp_path / "policy.keras").write_bytes(backend.policy_bytes())
    obs = np.random.default_rng(0).normal(size=(5, *env_spec(config.env).observation_shape))
    np.save(tmp_path / "obs.npy", obs.astype(np.float32))
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_DISTRL, str(tmp_path / "policy.keras"),
         str(tmp_path / "obs.npy"), str(tmp_path / "out.npz")],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    learner = backend.learner
    model = learner.model if algo == "a2c" else learner.actor
    expected = model(obs.astype(np.float32))
    expected = expected if isinstance(expected, list | tuple) else [expected]
    with np.load(tmp_path / "out.npz") as got:
        for i, e in enumerate(expected):
            np.testing.assert_allclose(got[f"arr_{i}"], np.asarray(e), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_launch_checkpoints_and_resumes_with_other_workers(tmp_path):
    ckpt_dir, summary = tmp_path / "ckpt", tmp_path / "summary.json"
    common = ["--logdir", str(tmp_path / "run"), "--progress-interval", "100",
              "--checkpoint-dir", str(ckpt_dir), "--envs-per-worker", "4"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.run(
        [sys.executable, "-m", "distrl.launch", "--workers", "0", "--max-steps", "640",
         "--checkpoint-every-updates", "4", *common],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    names = [p.name for p in checkpoints(ckpt_dir)]
    assert names[-1] == "ckpt-000000010" and len(names) == 3  # every 4 updates + the end; keep 3
    second = subprocess.run(
        [sys.executable, "-m", "distrl.launch", "--workers", "1", "--max-steps", "1280",
         "--resume", str(ckpt_dir), "--json-summary", str(summary), *common],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr[-2000:]
    data = json.loads(summary.read_text())
    assert data["env_steps"] == 1280 and data["learner_updates"] == 20  # continued from 10
    # ... in the folder of the run it resumed: one run, one folder.
    (folder,) = (tmp_path / "run").iterdir()
    assert data["run_dir"] == str(folder)
    steps = [json.loads(line)["env_steps"] for line in (folder / "progress.jsonl").open()]
    assert steps == sorted(steps) and steps[-1] == 1280
    assert read_checkpoint(ckpt_dir).scalars["version"] == 20


@pytest.mark.slow
def test_resume_alone_continues_a_ppo_run_started_from_a_preset(tmp_path):
    """``--resume PATH`` with no preset, algo or env takes the checkpoint's own config."""
    ckpt_dir, summary = tmp_path / "ckpt", tmp_path / "summary.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.run(
        [sys.executable, "-m", "distrl.launch", "--preset", "cartpole-ppo", "--workers", "0",
         "--max-steps", "1024", "--samples-per-update", "512", "--checkpoint-dir",
         str(ckpt_dir), "--logdir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    second = subprocess.run(
        [sys.executable, "-m", "distrl.launch", "--resume", str(ckpt_dir), "--max-steps", "2048",
         "--json-summary", str(summary)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr[-2000:]
    data = json.loads(summary.read_text())
    assert (data["algo"], data["env"], data["workers"]) == ("ppo", "CartPole-v1", 0)
    assert data["env_steps"] == 2048 and data["learner_updates"] == 4  # continued from 2
    (folder,) = (tmp_path / "run").iterdir()  # the checkpoint's run folder, continued
    assert data["run_dir"] == str(folder)


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["a2c", "ddpg"])
def test_evaluate_command_plays_records_and_reports(tmp_path, algo):
    config = small(algo)
    backend = LocalBackend(config, env_spec(config.env))
    arrays, scalars = backend.learner_checkpoint(False)
    write_checkpoint(
        tmp_path / "ckpt", updates=0, arrays=arrays, scalars=scalars, counters={},
        config=config.to_dict(), policy=backend.policy_bytes(),
    )  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "distrl.evaluate", "--checkpoint", str(tmp_path / "ckpt"),
         "--episodes", "2", "--deterministic", "--video", str(tmp_path / "video"),
         "--json", str(tmp_path / "eval.json")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "mean return" in out.stdout and out.stdout.count("episode ") == 2
    result = json.loads((tmp_path / "eval.json").read_text())
    low, high = (-2000, 0) if algo == "ddpg" else (8, 500)  # Pendulum / CartPole return ranges
    assert len(result["returns"]) == 2 and all(low <= r <= high for r in result["returns"])
    videos = sorted((tmp_path / "video").glob("*.mp4"))
    assert len(videos) == 2 and all(v.stat().st_size > 1000 for v in videos)


def test_evaluate_command_with_a_damaged_checkpoint_exits_2(tmp_path):
    path = tiny(tmp_path, 1)
    (path / "meta.json").write_text("not json")
    out = subprocess.run(
        [sys.executable, "-m", "distrl.evaluate", "--checkpoint", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "meta.json: not valid JSON" in out.stderr


def policy_checkpoint(root, config=None):
    """A real A2C checkpoint (policy.keras included) of ``config``."""
    config = config or small("a2c")
    backend = LocalBackend(config, env_spec(config.env))
    arrays, scalars = backend.learner_checkpoint(False)
    return write_checkpoint(
        root, updates=0, arrays=arrays, scalars=scalars, counters={},
        config=config.to_dict(), policy=backend.policy_bytes(),
    )  # fmt: skip


def one_line_error(argv, prog):
    """Run ``python -m prog argv``: exit 2 and its one stderr line (no traceback)."""
    out = subprocess.run([sys.executable, "-m", prog, *argv], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert out.returncode == 2, out.stderr[-2000:]
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith(f"{prog}: error: ")
    return line


@pytest.mark.slow
def test_evaluate_and_export_refuse_bad_input_in_one_line(tmp_path):
    good = policy_checkpoint(tmp_path / "good")
    truncated = policy_checkpoint(tmp_path / "truncated")
    keras_file = truncated / "policy.keras"
    keras_file.write_bytes(keras_file.read_bytes()[:-200])  # a copy cut short
    for prog in ("distrl.evaluate", "distrl.export"):
        extra = ["--keras", str(tmp_path / f"{prog}.keras")] if prog == "distrl.export" else []
        line = one_line_error(["--checkpoint", str(truncated), *extra], prog)
        assert f"{keras_file}: damaged" in line
    assert not (tmp_path / "distrl.export.keras").exists()  # nothing copied
    # A damaged meta.json or arrays.npz: the same, and no output for any format.
    for damaged, name in ((policy_checkpoint(tmp_path / "meta"), "meta.json"),
                          (policy_checkpoint(tmp_path / "arrays"), "arrays.npz")):  # fmt: skip
        file = damaged / name
        file.write_bytes(file.read_bytes()[: len(file.read_bytes()) // 2])
        outs = [tmp_path / f"{name}.keras", tmp_path / f"{name}-sm", tmp_path / f"{name}.onnx"]
        line = one_line_error(["--checkpoint", str(damaged), "--keras", str(outs[0]),
                               "--savedmodel", str(outs[1]), "--onnx", str(outs[2])],
                              "distrl.export")  # fmt: skip
        assert str(file) in line and not any(out.exists() for out in outs)
    line = one_line_error(["--checkpoint", str(good), "--keras", str(tmp_path / "p.h5")],
                          "distrl.export")  # fmt: skip
    assert line.endswith("the file name must end in .keras")
    line = one_line_error(["--checkpoint", str(good), "--video", "/proc/no/videos"],
                          "distrl.evaluate")  # fmt: skip
    assert "--video '/proc/no/videos'" in line
    line = one_line_error(["--checkpoint", str(good), "--json", "no/such/dir/r.json"],
                          "distrl.evaluate")  # fmt: skip
    assert line.endswith("--json no/such/dir/r.json: its folder does not exist")
    # A checkpoint whose env package is not importable here: one line, not a traceback.
    elsewhere = policy_checkpoint(tmp_path / "elsewhere")
    meta = json.loads((elsewhere / "meta.json").read_text())
    meta["config"]["env"] = "notinstalled_pkg:Corridor-v0"
    (elsewhere / "meta.json").write_text(json.dumps(meta))
    line = one_line_error(["--checkpoint", str(elsewhere), "--episodes", "1"], "distrl.evaluate")
    assert "notinstalled_pkg" in line
