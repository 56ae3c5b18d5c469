"""Real multi-node Ray on this machine: ``launch --address`` across 3 nodes, and a run
submitted as a Ray job to a head started with ``ray start``."""

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

BIN = Path(sys.executable).parent


def test_launch_address_trains_across_three_nodes(multinode_cluster, tmp_path):
    cluster = multinode_cluster  # a head with 1 CPU (the learner's), plus two nodes
    for _ in range(2):
        cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    summary = tmp_path / "summary.json"
    proc = subprocess.run(
        [sys.executable, "-m", "distrl.launch", "--address", cluster.address,
         "--workers", "4", "--envs-per-worker", "8", "--max-steps", "60000",
         "--logdir", str(tmp_path / "run"), "--json-summary", str(summary)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(summary.read_text())
    assert data["worker_nodes"] >= 2  # SPREAD put rollout workers on several nodes
    rows = [json.loads(line) for line in (Path(data["run_dir"]) / "episodes.jsonl").open()]
    returns = [row["return"] for row in rows]
    first, last = np.mean(returns[:20]), np.mean(returns[-20:])
    assert last > 3 * first, (first, last)  # it learned (random CartPole play scores ~20)
    assert {row["worker"] for row in rows} == {0, 1, 2, 3}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.system  # `ray stop` stops every Ray process of the machine, a user's own too
def test_ray_job_submit_runs_a_short_training(tmp_path, _ray_session):
    import ray

    ray.shutdown()  # `ray stop` below stops every Ray process of this machine
    port, dashboard = free_port(), free_port()
    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    temp_dir = tempfile.mkdtemp(prefix="rj", dir="/tmp")  # short: Ray's socket paths are limited
    # Ray's token authentication, as a shared cluster should run: the head and the client
    # read the same token file.
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    summary = tmp_path / "summary.json"
    try:
        subprocess.run(
            [BIN / "ray", "start", "--head", f"--port={port}", "--num-cpus=3",
             "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}",
             "--include-dashboard=true", f"--temp-dir={temp_dir}"],
            env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        job = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the job API comes up a little after the GCS
            job = subprocess.run(
                [BIN / "ray", "job", "submit", "--address", f"http://127.0.0.1:{dashboard}",
                 "--", sys.executable, "-m", "distrl.launch", "--address", "auto",
                 "--workers", "2", "--max-steps", "3000", "--logdir", str(tmp_path / "run"),
                 "--json-summary", str(summary)],
                env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            if "Failed to connect" not in job.stderr + job.stdout:
                break
            time.sleep(2)
        assert job is not None and job.returncode == 0, (job.stdout + job.stderr)[-3000:]
        assert "succeeded" in job.stdout + job.stderr
    finally:
        subprocess.run([BIN / "ray", "stop"], env=env, capture_output=True, timeout=120)
    data = json.loads(summary.read_text())
    assert data["stop_reason"] == "max_steps" and data["env_steps"] >= 3000
