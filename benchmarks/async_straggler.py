"""Training throughput, sync vs async A2C, when one of the workers is a straggler.

Worker 0's env is made ``--slowdown`` times slower per step than the others (a sleep added to
each of its vector-env steps, sized from the measured cost of a normal step). The synchronous
loop waits for every worker on each update; the asynchronous one learns from whoever is done.
Both worker groups are started in one Ray and their timed windows alternate, so they see the
same machine load. Learning runs throughout (env steps/s includes the learner's updates).
Prints one JSON document with the median of ``--repeats`` windows per mode and their ratio.

    python -m benchmarks.async_straggler --workers 4 --slowdown 5
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import ray

from benchmarks.common import learner_for, machine, median
from distrl.config import Config, build_config
from distrl.envs import EnvSpec, env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.rollout import RolloutWorker
from distrl.runtime import LOOPS
from distrl.runtime.ray_backend import RayBackend


def normal_step_seconds(config: Config, spec: EnvSpec, fragments: int = 100) -> float:
    """Seconds per vector-env step of an unslowed worker (acting, stepping, fragment assembly),
    measured in this process."""
    worker = RolloutWorker(
        settings=config.rollout_settings(),
        algorithm=config.algo,
        spec=spec,
        worker_index=1,
        seed=np.random.SeedSequence(0),
    )
    worker.sample(learner_for(config, spec).weights())
    start = time.perf_counter()
    for _ in range(fragments):
        worker.sample()
    return (time.perf_counter() - start) / (fragments * config.rollout_len)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--envs-per-worker", type=int, default=16)
    parser.add_argument("--rollout-len", type=int, default=16)
    parser.add_argument("--slowdown", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    spec = env_spec("CartPole-v1")
    base = {
        "workers": args.workers,
        "envs_per_worker": args.envs_per_worker,
        "rollout_len": args.rollout_len,
    }
    step_s = normal_step_seconds(build_config(base), spec)
    delay = (args.slowdown - 1.0) * step_s
    ray.init(num_cpus=2 * (args.workers + 1), include_dashboard=False, logging_level="WARNING")
    modes = ("sync", "async")
    backends = {
        mode: RayBackend(
            build_config({**base, "mode": mode, "faults.straggler_delay": delay}), spec
        )
        for mode in modes
    }
    windows: dict[str, list[float]] = {mode: [] for mode in modes}
    lags: dict[str, list[float]] = {mode: [] for mode in modes}
    try:
        for _ in range(args.repeats):
            for mode in modes:
                state = TrainingProgress()
                LOOPS[mode](backends[mode], state, StopRule(None, None, args.seconds))
                windows[mode].append(state.env_steps / state.elapsed)
                lags[mode].append(state.metrics["learner/policy_lag_max"])
    finally:
        for backend in backends.values():
            backend.shutdown()
        ray.shutdown()
    sync_sps, async_sps = median(windows["sync"]), median(windows["async"])
    print(
        json.dumps(
            {
                "benchmark": "async_straggler_throughput",
                "machine": machine(),
                **base,
                "slowdown": args.slowdown,
                "normal_step_s": step_s,
                "straggler_delay_s": delay,
                "window_s": args.seconds,
                "median_steps_per_s": {"sync": sync_sps, "async": async_sps},
                "async_over_sync": async_sps / sync_sps,
                "windows_steps_per_s": windows,
                "last_policy_lag_max": lags,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
