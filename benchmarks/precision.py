"""The learner's update on Pong batches in float32 and in mixed bfloat16 (``model.precision``),
measured side by side in one process: CPU seconds per update (all threads, so waiting for a
core does not count), alternating rounds between the precisions.

    python -m benchmarks.precision --preset pong-a2c --rounds 5
    python -m benchmarks.precision --preset pong-ppo --rounds 3

One fragment per update of the preset's shape (``envs_per_worker`` x ``rollout_len``) from a real
Atari worker, reused for every update, so only the learner's arithmetic is timed. One JSON
document on stdout.
"""

from __future__ import annotations

import argparse
import json
import time
from statistics import median

import numpy as np

import distrl
from benchmarks.common import machine
from distrl.agents import make_learner
from distrl.envs import EnvOptions, env_spec
from distrl.rollout import RolloutWorker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="pong-a2c")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--updates", type=int, default=5, help="updates per round and precision")
    args = parser.parse_args()
    learners = {}
    fragment = None
    for precision in ("float32", "mixed_bfloat16"):
        config = distrl.make_config(args.preset, workers=0, model={"precision": precision})
        spec = env_spec(config.env, config.atari, EnvOptions.of(config))
        learner = make_learner(algorithm=config.algo, sections=config.algorithm_sections(),
                               spec=spec, seed=0)  # fmt: skip
        if fragment is None:
            worker = RolloutWorker(settings=config.rollout_settings(), algorithm=config.algo,
                                   spec=spec, worker_index=0,
                                   seed=np.random.SeedSequence(0))  # fmt: skip
            fragment = worker.sample(learner.weights())
        learner.update([fragment])  # traces
        learners[precision] = learner
    assert fragment is not None
    seconds: dict[str, list[float]] = {p: [] for p in learners}
    for _ in range(args.rounds):
        for precision, learner in learners.items():
            start = time.process_time()
            for _ in range(args.updates):
                learner.update([fragment])
            seconds[precision].append((time.process_time() - start) / args.updates)
    medians = {p: median(s) for p, s in seconds.items()}
    print(json.dumps({
        "benchmark": "precision", "machine": machine(), "preset": args.preset,
        "samples_per_update": fragment.env_steps, "rounds": args.rounds,
        "cpu_s_per_update": {p: [round(x, 4) for x in s] for p, s in seconds.items()},
        "median_cpu_s_per_update": {p: round(m, 4) for p, m in medians.items()},
        "float32_over_bfloat16": round(medians["float32"] / medians["mixed_bfloat16"], 2),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
