"""Pong sampling throughput: distrl's rollout workers against ale-py's own vector env.

Both on the same cores, their timed windows alternating (so they see the same machine load):

- ``ale_vector``: ale-py's C++ ``AtariVectorEnv`` with the same preprocessing (frame skip 4
  with max-pool, 30 no-ops, 84x84 gray, 4-frame stack) and ``--envs`` envs on as many threads
  as there are cores, stepped with random actions: no policy, no transfer; the ceiling.
- ``distrl_ale`` / ``distrl_gymnasium``: ``--workers`` Ray rollout workers with ``--envs``
  envs in all (the pong-a2c preset), stepping ale-py's C++ vector env or gymnasium's wrappers
  (``atari.vectorizer``), acting with the Nature CNN and shipping uint8 fragments through the
  object store; each keeps one request in flight, no learner updates. Only one group samples
  at a time.

Prints one JSON document with the median env steps/s of ``--repeats`` windows each and their
ratio.

    python -m benchmarks.atari_throughput --out atari_throughput.json
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import ray

from benchmarks.common import emit, machine, median
from benchmarks.sampling_throughput import measure
from distrl.config import build_config, load_preset
from distrl.envs import env_spec
from distrl.runtime.ray_backend import RayBackend


def ale_vector_rate(envs, seconds: float) -> float:
    rng = np.random.default_rng(0)
    n, steps, start = envs.num_envs, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        envs.step(rng.integers(0, envs.single_action_space.n, n))
        steps += n
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--envs", type=int, default=16, help="envs in total")
    parser.add_argument("--rollout-len", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--vectorizers",
        nargs="+",
        default=["ale", "gymnasium"],
        help="the workers' atari.vectorizer settings to measure, side by side",
    )
    parser.add_argument("--out", help="also write the JSON document to this file")
    args = parser.parse_args()
    from ale_py.vector_env import AtariVectorEnv

    ale = AtariVectorEnv("pong", args.envs, num_threads=os.cpu_count() or 1, frameskip=4,
                         maxpool=True, noop_max=30, img_height=84, img_width=84,
                         grayscale=True, stack_num=4, repeat_action_probability=0.0)  # fmt: skip
    ale.reset(seed=0)
    groups = {}
    ray.init(num_cpus=(args.workers + 1) * len(args.vectorizers), include_dashboard=False,
             logging_level="WARNING")  # fmt: skip
    for vectorizer in args.vectorizers:
        config = build_config(load_preset("pong-a2c"), {"workers": args.workers,
                              "envs_per_worker": args.envs // args.workers,
                              "rollout_len": args.rollout_len,
                              "atari": {"vectorizer": vectorizer}})  # fmt: skip
        backend = RayBackend(config, env_spec(config.env, config.atari))
        weights = backend.weights().payload
        measure(backend, weights, 3.0)  # warm-up: XLA compilation, first resets
        groups[f"distrl_{vectorizer}"] = (backend, weights)
    ale_vector_rate(ale, 1.0)
    rates: dict[str, list[float]] = {"ale_vector": [], **{name: [] for name in groups}}
    try:
        for _ in range(args.repeats):
            rates["ale_vector"].append(ale_vector_rate(ale, args.seconds))
            for name, (backend, weights) in groups.items():
                rates[name].append(measure(backend, weights, args.seconds))
    finally:
        for backend, _ in groups.values():
            backend.shutdown()
        ray.shutdown()
        ale.close()
    medians = {k: round(median(v), 1) for k, v in rates.items()}
    emit({
        "benchmark": "atari_throughput", "machine": machine(), "env": config.env,
        "workers": args.workers, "envs": args.envs, "rollout_len": args.rollout_len,
        "steps_per_s": medians, "windows": rates,
        "ratio_to_ale_vector": {name: round(medians[name] / medians["ale_vector"], 3)
                                for name in groups},
    }, args.out)  # fmt: skip


if __name__ == "__main__":
    main()
