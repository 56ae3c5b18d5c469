"""Recovery from a rollout worker's or the learner's death: detection and replacement time,
throughput dip, and the final score against an undisturbed run with the same seed.

Two runs of sync A2C on CartPole-v1 to the same env-step budget in one Ray: one undisturbed,
one where worker 0's process (``--kill worker``) or the learner's (``--kill learner``) is
SIGKILLed after ``--kill-at`` updates. With ``--kill learner`` both runs keep the learner's state
every ``--save-every`` updates, as ``--checkpoint-every-updates`` would, and the restarted
learner loads the newest. Prints one JSON document.

    python -m benchmarks.worker_failure --workers 2 --envs-per-worker 16 --out result.json

Ray prints its own notice of the killed worker on standard output, so ``--out`` writes the
JSON document to a file as well.
"""

from __future__ import annotations

import argparse
import os
import signal
import time

import ray

from benchmarks.common import emit, machine
from distrl.config import build_config
from distrl.envs import env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import run_sync
from distrl.runtime.ray_backend import RayBackend


def run(config, spec, budget: int, kill_at: int | None, target: str, save_every: int) -> dict:
    saved: dict[str, tuple] = {}
    backend = RayBackend(config, spec, restore=lambda: saved.get("state"))
    marks: list[tuple[float, int]] = []  # (time, env steps) after every update
    events: dict[str, float] = {}
    actor = backend.workers[0] if target == "worker" else backend.learner
    victim = ray.get(actor.__ray_call__.remote(lambda self: os.getpid()))
    counter = "worker/restarts" if target == "worker" else "learner/restarts"

    def on_update(s: TrainingProgress) -> None:
        now = time.perf_counter()
        marks.append((now, s.env_steps))
        if target == "learner" and s.updates % save_every == 0:
            saved["state"] = backend.learner_checkpoint(False)  # what a checkpoint holds
        if kill_at is not None and s.updates == kill_at and "kill" not in events:
            os.kill(victim, signal.SIGKILL)
            events["kill"] = time.perf_counter()
        if "kill" in events and "detected" not in events and s.metrics.get(counter):
            events["detected"] = now
            if target == "worker":
                ray.get(backend.workers[0].ready.remote())  # the replacement is up
            events["replaced"] = time.perf_counter()  # a learner is restored within update

    state = TrainingProgress()
    try:
        run_sync(backend, state, StopRule(None, budget, None), on_update)
    finally:
        backend.shutdown()
    out = {
        "wall_s": state.elapsed,
        "env_steps": state.env_steps,
        "final_mean_return": state.mean_return,
        "steps_per_s": state.env_steps / state.elapsed,
        "worker_restarts": state.metrics.get("worker/restarts", 0.0),
        "learner_restarts": state.metrics.get("learner/restarts", 0.0),
    }
    if "kill" in events:
        out["detect_s"] = events["detected"] - events["kill"]
        out["replace_s"] = events["replaced"] - events["kill"]
        out["steps_per_s_2s_before_kill"] = window_rate(marks, events["kill"] - 2, events["kill"])
        out["steps_per_s_2s_after_kill"] = window_rate(marks, events["kill"], events["kill"] + 2)
    return out


def window_rate(marks: list[tuple[float, int]], start: float, end: float) -> float:
    inside = [(t, n) for t, n in marks if start <= t <= end]
    if len(inside) < 2:
        return float("nan")
    (t0, n0), (t1, n1) = inside[0], inside[-1]
    return (n1 - n0) / (t1 - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--envs-per-worker", type=int, default=16)
    parser.add_argument("--budget", type=int, default=150_000, help="env steps per run")
    parser.add_argument("--kill-at", type=int, default=60, help="updates before the kill")
    parser.add_argument("--kill", choices=["worker", "learner"], default="worker")
    parser.add_argument("--save-every", type=int, default=20, help="--kill learner: updates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the JSON document to this file")
    args = parser.parse_args()
    spec = env_spec("CartPole-v1")
    config = build_config(
        {"workers": args.workers, "envs_per_worker": args.envs_per_worker, "seed": args.seed,
         "faults.learner_restarts": 1, "checkpoint.dir": "unused"}
    )  # fmt: skip
    ray.init(num_cpus=args.workers + 2, include_dashboard=False, logging_level="WARNING")
    try:
        undisturbed = run(config, spec, args.budget, None, args.kill, args.save_every)
        disturbed = run(config, spec, args.budget, args.kill_at, args.kill, args.save_every)
    finally:
        ray.shutdown()
    emit(
        {
            "benchmark": "worker_failure",
            "machine": machine(),
            "workers": args.workers,
            "envs_per_worker": args.envs_per_worker,
            "budget_env_steps": args.budget,
            "kill_at_update": args.kill_at,
            "killed": args.kill,
            "save_every_updates": args.save_every if args.kill == "learner" else None,
            "undisturbed": undisturbed,
            "killed_worker_0" if args.kill == "worker" else "killed_learner": disturbed,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
