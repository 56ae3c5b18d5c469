"""Rollout worker death on real Ray: the worker is recreated and training goes on."""

import os
import signal

import pytest

from distrl.config import build_config
from distrl.envs import env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import training_loop
from distrl.runtime.ray_backend import RayBackend, WorkerFailuresExceeded

SPEC = env_spec("CartPole-v1")
KILL_AT = 5  # updates


def worker_pid(ray, actor):
    return ray.get(actor.__ray_call__.remote(lambda self: os.getpid()))


def train_and_kill_worker_0(ray, config, max_steps):
    """Train, SIGKILL worker 0's process after KILL_AT updates; returns what happened."""
    backend = RayBackend(config, SPEC)
    victim = worker_pid(ray, backend.workers[0])
    state, seen = TrainingProgress(), []

    def on_update(s):
        seen.append((s.updates, dict(s.metrics)))
        if s.updates == KILL_AT and len(seen) == KILL_AT:
            os.kill(victim, signal.SIGKILL)

    try:
        reason = training_loop(config)(backend, state, StopRule(None, max_steps, None), on_update)
        replacement = worker_pid(ray, backend.workers[0])
    finally:
        backend.shutdown()
    return reason, state, seen, victim, replacement


@pytest.mark.parametrize("mode", ["sync", "async", "overlap"])
def test_killed_worker_is_recreated_and_training_goes_on(ray_cluster, mode):
    """With overlap the dead worker had two requests queued: it is still restarted once."""
    keys = {"mode": "sync", "overlap": True} if mode == "overlap" else {"mode": mode}
    config = build_config({"workers": 2, "envs_per_worker": 4, "rollout_len": 8, **keys})
    reason, state, seen, victim, replacement = train_and_kill_worker_0(
        ray_cluster, config, max_steps=6_000
    )
    assert reason == "max_steps"  # the run went on to its budget
    assert replacement != victim  # a new process serves worker 0
    assert state.metrics["worker/restarts"] == 1
    restarted_at = next(i for i, (_, m) in enumerate(seen) if m.get("worker/restarts") == 1)
    assert len(seen) - restarted_at > 20  # many updates after the restart


def test_beyond_max_worker_failures_the_run_stops(ray_cluster):
    config = build_config(
        {"workers": 2, "envs_per_worker": 4, "rollout_len": 8, "faults.max_worker_failures": 0}
    )
    with pytest.raises(WorkerFailuresExceeded, match=r"faults\.max_worker_failures=0"):
        train_and_kill_worker_0(ray_cluster, config, max_steps=6_000)
