"""The commands as users run them: a learner serving in one process, an external actor in
another (here: the test), a trained checkpoint served for inference."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from distrl.actor import run_actor
from distrl.service.client import Client

pytestmark = pytest.mark.slow  # real runs with the service and an external actor


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(address, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        try:
            with Client(address, timeout_s=2) as client:
                return client.spec()
        except Exception:
            time.sleep(0.5)
    raise AssertionError(f"nothing serving on {address}")


def test_an_external_actor_trains_cartpole_through_the_service(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    summary = tmp_path / "summary.json"
    env = {**os.environ, "DISTRL_ADMIN_TOKEN": "adm1n"}
    learner = subprocess.Popen(
        [sys.executable, "-m", "distrl.launch", "--workers", "0", "--serve", address,
         "--envs-per-worker", "8", "--max-seconds", "300", "--logdir", str(tmp_path / "run"),
         "--checkpoint-dir", str(tmp_path / "ckpt"), "--stop-reward", "1000",
         "--json-summary", str(summary)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        spec = wait_until_serving(address, learner)
        assert spec.training and spec.algo == "a2c"
        with Client(address) as client:
            returns = run_actor(client, None, envs=8, max_steps=60_000)
            status = client.status()
        # All of it was accepted (none refused for good) and learned from.
        pushed = -(-60_000 // 128) * 128  # whole fragments of 8 envs x 16 steps
        assert status["external_steps"] == pushed
        first, last = np.mean(returns[:20]), np.mean(returns[-20:])
        # Random play scores about 20 (a mean over 20 episodes rarely passes 30). How fast the
        # actor improves depends on when new weights reach it, which varies from run to run:
        # 3x failed once in about six full runs (18.7 -> 47.9), so the bar is learning, not speed.
        assert last > max(2 * first, 40), (first, last)
        with Client(address, token="adm1n") as admin:
            path = admin.checkpoint()  # written by the training loop, at once
            assert (Path(path) / "meta.json").exists()
            admin.stop()
        learner.wait(timeout=60)
    finally:
        if learner.poll() is None:
            learner.kill()
    assert learner.returncode == 0
    data = json.loads(summary.read_text())
    assert data["stop_reason"] == "stopped"
    assert data["env_steps"] == pushed  # the learner trained on exactly what was pushed


def test_serve_command_acts_like_the_exported_keras_model(tmp_path):
    import keras

    ckpt = tmp_path / "ckpt"
    subprocess.run(
        [sys.executable, "-m", "distrl.launch", "--workers", "0", "--max-steps", "3000",
         "--checkpoint-dir", str(ckpt), "--logdir", str(tmp_path / "run")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    address = f"127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [sys.executable, "-m", "distrl.serve", "--checkpoint", str(ckpt), "--listen", address],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        spec = wait_until_serving(address, server)
        assert not spec.training and spec.weights_version > 0
        (newest,) = sorted(ckpt.iterdir())[-1:]
        model = keras.saving.load_model(newest / "policy.keras")
        obs = np.random.default_rng(1).normal(size=(64, 4)).astype(np.float32)
        with Client(address) as client:
            actions, _, version = client.act(obs, deterministic=True)
            assert version == spec.weights_version
            logits, _ = model(obs)
            np.testing.assert_array_equal(actions, np.argmax(np.asarray(logits), axis=-1))
        server.terminate()
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0


def test_serve_command_bad_input_is_one_line_and_exit_2(tmp_path):
    for args, message in [
        (["--checkpoint", str(tmp_path / "none")], "no checkpoint in"),
        (["--checkpoint", str(tmp_path), "--listen", "0.0.0.0:0"], "refusing to serve"),
        (["--checkpoint", str(tmp_path), "--tls-cert", "/nonexistent.pem"], "TLS needs both"),
    ]:
        proc = subprocess.run([sys.executable, "-m", "distrl.serve", *args],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert (
            len(lines) == 1 and lines[0].startswith("distrl.serve: error: ") and message in lines[0]
        )
