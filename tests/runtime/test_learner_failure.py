"""Learner death on real Ray: restarted from the newest checkpoint, counters continuing."""

import os
import signal

import numpy as np
import pytest

from distrl.config import build_config
from distrl.envs import env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import LOOPS
from distrl.runtime.ray_backend import LearnerFailuresExceeded, RayBackend

SPEC = env_spec("CartPole-v1")
SAVE_AT, KILL_AT = 4, 8  # updates


def learner_pid(ray, backend):
    return ray.get(backend.learner.__ray_call__.remote(lambda self: os.getpid()))


def train_and_kill_the_learner(ray, config, max_steps):
    """Keep the learner's state at update SAVE_AT (as a checkpoint would), SIGKILL the learner at
    KILL_AT; returns what the run saw."""
    saved = {}
    restores = []

    def restore():
        restores.append(1)
        return saved["state"]

    backend = RayBackend(config, SPEC, restore)
    victim = learner_pid(ray, backend)
    state, seen = TrainingProgress(), {}

    def on_update(s):
        if s.updates == SAVE_AT and "state" not in saved:
            saved["state"] = backend.learner_checkpoint(False)
        if s.updates == KILL_AT and "killed" not in seen:
            seen["killed"] = s.env_steps
            os.kill(victim, signal.SIGKILL)
        if s.metrics.get("learner/restarts") == 1 and "restored" not in seen:
            seen["restored"] = backend.fetch(backend.weights())
            seen["steps_at_restore"] = s.env_steps

    try:
        reason = LOOPS[config.mode](backend, state, StopRule(None, max_steps, None), on_update)
        seen["new_pid"] = learner_pid(ray, backend)
    finally:
        backend.shutdown()
    return reason, state, saved, seen, restores, victim


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_killed_learner_restarts_from_the_checkpoint_and_counters_continue(
    ray_cluster, tmp_path, mode
):
    config = build_config(
        {"workers": 2, "envs_per_worker": 4, "rollout_len": 8, "mode": mode,
         "faults.learner_restarts": 1, "checkpoint.dir": str(tmp_path)}
    )  # fmt: skip
    reason, state, saved, seen, restores, victim = train_and_kill_the_learner(
        ray_cluster, config, max_steps=4_000
    )
    assert reason == "max_steps" and restores == [1]
    assert seen["new_pid"] != victim
    assert state.metrics["learner/restarts"] == 1
    arrays, scalars = saved["state"]
    restored = seen["restored"]
    model = [arrays[k] for k in sorted(arrays) if k.startswith("model/")]
    for a, b in zip(model, restored.weights, strict=True):
        np.testing.assert_array_equal(a, b)  # exactly the checkpointed weights
    # The version continues above every one published before, so workers accept it.
    assert restored.version > KILL_AT > scalars["version"]
    assert seen["steps_at_restore"] >= seen["killed"]  # the driver's counters went on
    assert state.env_steps >= 4_000


def test_beyond_learner_restarts_the_run_stops(ray_cluster, tmp_path):
    config = build_config(
        {"workers": 2, "envs_per_worker": 4, "rollout_len": 8, "faults.learner_restarts": 0}
    )
    with pytest.raises(LearnerFailuresExceeded, match=r"faults\.learner_restarts=0"):
        train_and_kill_the_learner(ray_cluster, config, max_steps=4_000)
