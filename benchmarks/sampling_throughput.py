"""Sampling throughput: env steps/s of Ray rollout workers acting with a fixed policy.

No learner updates: each worker keeps one ``sample`` request in flight, so this measures
acting + env stepping + fragment transfer. With several ``--acting`` modes, one worker group per
mode is started and their timed windows alternate, so the modes see the same machine load and
their ratio is fair. Prints one JSON document with the median of ``--repeats`` windows per mode.

    python -m benchmarks.sampling_throughput --workers 2 --envs-per-worker 16
"""

from __future__ import annotations

import argparse
import json
import time

import ray

from benchmarks.common import machine, median
from distrl.config import build_config
from distrl.envs import env_spec
from distrl.runtime.ray_backend import RayBackend


def measure(backend: RayBackend, weights: ray.ObjectRef, seconds: float) -> float:
    """Env steps per second over a window of about ``seconds``."""
    in_flight = {w.sample.remote(weights): w for w in backend.workers}
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        (done,), _ = ray.wait(list(in_flight), num_returns=1)
        worker = in_flight.pop(done)
        steps += ray.get(done).env_steps
        in_flight[worker.sample.remote(weights)] = worker
    elapsed = time.perf_counter() - start
    ray.get(list(in_flight))
    return steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--envs-per-worker", type=int, default=16)
    parser.add_argument("--rollout-len", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--acting", nargs="+", default=["numpy", "tensorflow"])
    args = parser.parse_args()
    spec = env_spec(args.env)
    # Each group reserves its CPUs; only one group samples at a time.
    ray.init(
        num_cpus=(args.workers + 1) * len(args.acting),
        include_dashboard=False,
        logging_level="WARNING",
    )
    groups = {}
    for mode in args.acting:
        config = build_config(
            {
                "env": args.env,
                "workers": args.workers,
                "envs_per_worker": args.envs_per_worker,
                "rollout_len": args.rollout_len,
                "acting.backend": mode,
            }
        )
        backend = RayBackend(config, spec)
        weights = backend.weights().payload
        measure(backend, weights, 1.0)  # warm-up: XLA compilation, first env resets
        groups[mode] = (backend, weights)
    rates: dict[str, list[float]] = {mode: [] for mode in args.acting}
    for _ in range(args.repeats):
        for mode, (backend, weights) in groups.items():
            rates[mode].append(measure(backend, weights, args.seconds))
    for backend, _ in groups.values():
        backend.shutdown()
    ray.shutdown()
    medians = {mode: round(median(r), 1) for mode, r in rates.items()}
    print(
        json.dumps(
            {
                "benchmark": "sampling_throughput",
                "machine": machine(),
                "env": args.env,
                "workers": args.workers,
                "envs_per_worker": args.envs_per_worker,
                "rollout_len": args.rollout_len,
                "median_steps_per_s": medians,
                "steps_per_s_runs": {m: [round(x, 1) for x in r] for m, r in rates.items()},
                "ratio_numpy_over_tensorflow": (
                    round(medians["numpy"] / medians["tensorflow"], 2)
                    if {"numpy", "tensorflow"} <= set(medians)
                    else None
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
