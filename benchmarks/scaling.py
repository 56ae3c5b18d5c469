"""Throughput against workers, weight-broadcast time, memory (PSS) and startup.

Parts, each a function returning a JSON-ready dict (``python -m benchmarks.scaling PART``):

- ``throughput``: env steps/s of ``--workers`` counts (default 1 2 4 8 16) sampling with a
  fixed policy (no learner updates; one request in flight per worker), on CartPole-v1 (MLP,
  NumPy acting) and Pong (the pong-a2c preset: Nature CNN, TensorFlow acting). Each count gets
  its own worker group; the median of ``--repeats`` windows is kept. After the windows, the
  proportional set size (PSS) of every worker, of the learner and of the whole process tree
  (driver, Ray's own processes, learner, workers) is read from /proc.
- ``broadcast``: time from ``ray.put`` of a weights message to every one of k workers having
  loaded it into its policy, for MLPs of growing size and k in 1 2 4 8 16.
- ``startup``: ``python -m distrl.launch --workers 16`` run to its first update; its
  ``startup_s`` (process start until Ray, the learner and all workers are up), several times.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ray

from benchmarks.common import emit, launch, machine, median
from benchmarks.sampling_throughput import measure
from distrl.config import build_config, load_preset
from distrl.envs import env_spec
from distrl.runtime.ray_backend import RayBackend

WORKER_COUNTS = [1, 2, 4, 8, 16]
SCENARIOS: dict[str, dict[str, Any]] = {
    "CartPole-v1": {
        "env": "CartPole-v1",
        "envs_per_worker": 16,
        "rollout_len": 64,
        "acting.backend": "numpy",
    },
    "Pong": {**load_preset("pong-a2c"), "envs_per_worker": 4, "rollout_len": 32},
}


def pss_mib(pid: int) -> float:
    """Proportional set size of one process: shared pages divided among their users."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    raise ValueError(f"no Pss line for pid {pid}")


def descendants(root: int) -> list[int]:
    """``root`` and every process below it (Ray's raylet, GCS, workers, ...)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # exited meanwhile
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def tree_pss_mib(root: int) -> float:
    total = 0.0
    for pid in descendants(root):
        with contextlib.suppress(OSError, ValueError):  # exited meanwhile, or no smaps
            total += pss_mib(pid)
    return total


def pid_of(actor: Any) -> int:
    return int(ray.get(actor.__ray_call__.remote(lambda self: os.getpid())))


def _init_ray(num_cpus: int) -> bool:
    """Start a local Ray with ``num_cpus`` logical CPUs unless one is up; True if started."""
    if ray.is_initialized():
        return False
    ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level="WARNING")
    return True


def throughput(
    counts: list[int], seconds: float, repeats: int, scenarios: list[str] | None = None
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    owned = _init_ray(max(counts) + 1)
    try:
        for name in scenarios or list(SCENARIOS):
            overrides, rows = SCENARIOS[name], []
            for k in counts:
                config = build_config(overrides, {"workers": k})
                begin = time.perf_counter()
                backend = RayBackend(config, env_spec(config.env, config.atari))
                started = time.perf_counter() - begin
                weights = backend.weights().payload
                measure(backend, weights, 2.0)  # warm-up: compilation, first resets
                rates = [measure(backend, weights, seconds) for _ in range(repeats)]
                workers = [pss_mib(pid_of(w)) for w in backend.workers]
                rows.append(
                    {
                        "workers": k,
                        "envs_per_worker": config.envs_per_worker,
                        "steps_per_s": round(median(rates), 1),
                        "windows": rates,
                        "group_start_s": round(started, 2),
                        "worker_pss_mib": round(median(workers), 1),
                        "learner_pss_mib": round(pss_mib(pid_of(backend.learner)), 1),
                        "total_pss_mib": round(tree_pss_mib(os.getpid()), 1),
                    }
                )
                backend.shutdown()
                print(
                    f"throughput {name} workers={k}: {rows[-1]['steps_per_s']} steps/s",
                    file=sys.stderr,
                )
            results[name] = rows
    finally:
        if owned:
            ray.shutdown()
    return {"part": "throughput", "seconds": seconds, "repeats": repeats, "scenarios": results}


def broadcast(counts: list[int], hidden: list[int], repeats: int) -> dict[str, Any]:
    rows = []
    owned = _init_ray(max(counts) + 1)
    try:
        for size in hidden:
            config = build_config(
                {
                    "env": "CartPole-v1",
                    "workers": max(counts),
                    "envs_per_worker": 1,
                    "model": {"hidden": [size, size]},
                }
            )
            backend = RayBackend(config, env_spec(config.env))
            message = backend.fetch(backend.weights())
            nbytes = sum(w.nbytes for w in message.weights)
            version = message.version
            for k in counts:
                times = []
                for _ in range(repeats):
                    version += 1
                    start = time.perf_counter()
                    ref = ray.put(dataclasses.replace(message, version=version))
                    loaded = ray.get([w.set_weights.remote(ref) for w in backend.workers[:k]])
                    times.append(time.perf_counter() - start)
                    assert all(loaded), "a worker refused a newer version"
                rows.append(
                    {
                        "hidden": size,
                        "weights_mib": round(nbytes / 2**20, 3),
                        "workers": k,
                        "median_ms": round(1000 * median(times), 2),
                        "runs_ms": [round(1000 * t, 2) for t in times],
                    }
                )
                print(
                    f"broadcast {nbytes / 2**20:.2f} MiB to {k}: {rows[-1]['median_ms']} ms",
                    file=sys.stderr,
                )
            backend.shutdown()
    finally:
        if owned:
            ray.shutdown()
    return {"part": "broadcast", "repeats": repeats, "rows": rows}


def startup(workers: int, repeats: int) -> dict[str, Any]:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            begin = time.perf_counter()
            summary = launch(["--workers", str(workers), "--max-steps", "1"], Path(tmp) / str(i))
            total = time.perf_counter() - begin
            runs.append({"startup_s": summary["startup_s"], "process_s": round(total, 2)})
    return {
        "part": "startup",
        "workers": workers,
        "median_startup_s": median([r["startup_s"] for r in runs]),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["throughput", "broadcast", "startup"])
    parser.add_argument("--workers", type=int, nargs="+", default=WORKER_COUNTS)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="windows / broadcasts / launches per point (default 3 / 5 / 3)",
    )
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 512, 2048])
    parser.add_argument("--out", help="also write the JSON document to this file")
    args = parser.parse_args(argv)
    if args.part == "throughput":
        document = throughput(args.workers, args.seconds, args.repeats or 3)
    elif args.part == "broadcast":
        document = broadcast(args.workers, args.hidden, args.repeats or 5)
    else:
        document = startup(max(args.workers), args.repeats or 3)
    emit({"benchmark": "scaling", "machine": machine(), **document}, args.out)


if __name__ == "__main__":
    main()
