"""One error contract for every failure class, whatever the worker count: the launch command
with ``--workers 0`` (in process) and ``--workers 2`` (an embedded Ray) gives the same exit
status and the same error line, at most 3 lines on stderr (the workers' own warnings and the
error), no traceback, and loses nothing: a run that had started writes its summary and a
final checkpoint, and its ``error.txt`` holds the traceback. (``distrl.evaluate`` and
``distrl.export`` on damaged files and missing packages: tests/ops/test_checkpoint.py.)"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # the real command, some cases with Ray

SPACES = ["--env-imports", "tests.envs.spaces"]
BROKEN_STEP = "tests.rollout.test_env_errors:distrl-test/BrokenCartPole-v0"
BAD_MODEL = "tests.models.test_builders:one_output"

# (case, arguments, exit status, the error line after "distrl.launch: error: ")
BAD_INPUT = [
    ("config", ["--envs-per-worker", "0"], "envs_per_worker must be >= 1; got 0"),
    ("env make", ["--env", "CartPole-v1", "--env-kwargs", "{nope: 1}"],
     "env 'CartPole-v1' with env_kwargs {'nope': 1}: CartPoleEnv.__init__() got an unexpected"),
    ("env spaces", ["--env", "TupleActionsDemo-v0", *SPACES],
     "env 'TupleActionsDemo-v0': action space Tuple(Discrete(2), Discrete(2)) is not supported"),
    ("missing env package", ["--env", "no_such_pkg_xyz:Thing-v0"],
     "env module 'no_such_pkg_xyz' cannot be imported"),
    ("model builder", ["--set", f"model.name={BAD_MODEL}"],
     f"model builder '{BAD_MODEL}' must return a keras.Model with outputs [logits, value]"),
    ("CNN shape", ["--env", "SmallImage-v0", *SPACES, "--set", "model.name=nature_cnn"],
     "model nature_cnn needs observations of N x 84 x 84 frames; SmallImage-v0 has shape"),
]  # fmt: skip
ENV_RAISES = [
    ("env raising in step", ["--env", BROKEN_STEP],
     f"env {BROKEN_STEP} raised in step 11 times in a row: RuntimeError: simulator crashed"),
    ("env raising in reset", ["--env", "ResetCrash-v0", *SPACES],
     "env ResetCrash-v0 raised in reset 11 times in a row: RuntimeError: simulator cannot start"),
]  # fmt: skip


def launch(tmp_path, workers, *args):
    cmd = [sys.executable, "-m", "distrl.launch", *args, "--workers", workers,
           "--logdir", str(tmp_path / "runs"), "--run-name", "r", "--max-steps", "3000",
           "--json-summary", str(tmp_path / "summary.json"),
           "--checkpoint-dir", str(tmp_path / "ck")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and 1 <= len(lines) <= 3, proc.stderr[-3000:]
    assert lines[-1].startswith("distrl.launch: error: "), lines
    return proc.returncode, lines[-1].removeprefix("distrl.launch: error: ")


@pytest.mark.parametrize("workers", ["0", "2"])
@pytest.mark.parametrize(("case", "args", "message"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_exit_2_one_line_and_leaves_no_run_folder(tmp_path, workers, case, args,
                                                               message):  # fmt: skip
    status, line = launch(tmp_path, workers, *args)
    assert status == 2 and line.startswith(message), (case, line)
    assert not (tmp_path / "runs" / "r").exists()  # a start that failed leaves nothing


@pytest.mark.parametrize("workers", ["0", "2"])
@pytest.mark.parametrize(("case", "args", "message"), ENV_RAISES, ids=[c[0] for c in ENV_RAISES])
def test_an_env_that_keeps_raising_is_exit_1_one_line_and_loses_nothing(tmp_path, workers, case,
                                                                        args, message):  # fmt: skip
    status, line = launch(tmp_path, workers, *args)
    error_file = tmp_path / "runs" / "r" / "error.txt"
    assert status == 1 and line == f"{message} (traceback: {error_file})", (case, line)
    assert message.rsplit(": ", 1)[1] in error_file.read_text()  # the env's own traceback
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stop_reason"] == "error"
    assert list((tmp_path / "ck").glob("ckpt-*/meta.json"))  # a final checkpoint


def test_a_damaged_checkpoint_to_resume_is_exit_2_one_line(tmp_path):
    ck = tmp_path / "ck" / "ckpt-000000001"
    ck.mkdir(parents=True)
    (ck / "meta.json").write_text("{not json")
    for workers in ("0", "2"):
        status, line = launch(tmp_path / workers, workers, "--resume", str(ck))
        assert status == 2 and "meta.json: not valid JSON" in line, line
