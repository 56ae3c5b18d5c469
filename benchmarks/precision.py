"""The learner's update on Pong batches in float32 and in mixed bfloat16 (``model.precision``),
measured side by side in one process: CPU seconds per update (all threads, so waiting for a
core does not count), alternating rounds between the precisions.

    python -m benchmarks.precision --preset pong-a2c --rounds 5
    python -m benchmarks.precision --preset pong-ppo --rounds 3

One fragment per update of the preset's shape (``envs_per_worker`` x ``rollout_len``) from a real
Atari worker, reused for every update, so only the learner's arithmetic is timed. One JSON
document on stdout.

``--fidelity N`` measures instead how far bfloat16 moves a PPO update: a float32
learner trains on fresh batches from two workers for N updates; every 10th, a bfloat16 learner
given the same weights, optimizer state, batch and minibatch shuffles takes the same update,
and its weight change is compared with float32's, beside float32's own change with only the
shuffles redrawn and on a second batch (the noise each update has anyway)::

    python -m benchmarks.precision --preset pong-ppo --fidelity 60
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from statistics import median
from typing import Any

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
    parser.add_argument(
        "--fidelity", type=int, default=None, metavar="N",
        help="PPO: bfloat16's updates against float32's over N updates",
    )  # fmt: skip
    args = parser.parse_args()
    if args.fidelity is not None:
        if distrl.make_config(args.preset).algo != "ppo":
            parser.error("--fidelity compares PPO's updates: give a PPO preset")
        print(json.dumps(fidelity(args.preset, args.fidelity), indent=1))
        return
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


def _flat(variables: list) -> np.ndarray:
    return np.concatenate([np.ravel(v.numpy()) for v in variables]).astype(np.float64)


def _snapshot(learner: Any) -> list[np.ndarray]:
    return [v.numpy().copy() for v in [*learner.model.weights, *learner.optimizer.variables]]


def _restore(learner: Any, state: list[np.ndarray]) -> None:
    for v, x in zip([*learner.model.weights, *learner.optimizer.variables], state, strict=True):
        v.assign(x)


def _change(learner: Any, state: list[np.ndarray], batch: list, rng_state: dict) -> np.ndarray:
    """The weight change of one update of ``learner`` from ``state`` with these shuffles."""
    _restore(learner, state)
    learner.rng.bit_generator.state = copy.deepcopy(rng_state)
    before = _flat(learner.model.weights)
    learner.update(batch)
    return _flat(learner.model.weights) - before


def fidelity(preset: str, updates: int) -> dict[str, Any]:
    """bfloat16's update against float32's from the same state (see the module's docstring)."""
    made = {}
    for precision in ("float32", "mixed_bfloat16"):
        config = distrl.make_config(preset, workers=0, model={"precision": precision})
        spec = env_spec(config.env, config.atari, EnvOptions.of(config))
        made[precision] = make_learner(algorithm=config.algo, sections=config.algorithm_sections(),
                                       spec=spec, seed=0)  # fmt: skip
    f32, bf16 = made["float32"], made["mixed_bfloat16"]
    workers = [RolloutWorker(settings=config.rollout_settings(), algorithm=config.algo, spec=spec,
                             worker_index=i, seed=np.random.SeedSequence(i + 1))
               for i in range(2)]  # fmt: skip

    def batch() -> list:
        weights = f32.weights()
        return [w.sample(weights) for w in workers]

    def rel(a: np.ndarray, b: np.ndarray) -> float:
        return round(float(np.linalg.norm(a - b) / np.linalg.norm(a)), 4)

    rows = []
    for i in range(updates + 1):
        if i % 10:
            f32.update(batch())
            continue
        state, first, second = _snapshot(f32), batch(), batch()
        shuffles = copy.deepcopy(f32.rng.bit_generator.state)
        base = _change(f32, state, first, shuffles)
        low = _change(bf16, state, first, shuffles)
        reshuffled = _change(f32, state, first, copy.deepcopy(f32.rng.bit_generator.state))
        other = _change(f32, state, second, shuffles)
        rows.append({"updates_before": i, "bfloat16": rel(base, low),
                     "float32_reshuffled": rel(base, reshuffled),
                     "float32_other_batch": rel(base, other),
                     "bfloat16_norm_over_float32": round(float(
                         np.linalg.norm(low) / np.linalg.norm(base)), 4)})  # fmt: skip
        _change(f32, state, first, shuffles)  # go on from float32's update of the first batch
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return {"benchmark": "precision_fidelity", "machine": machine(), "preset": preset,
            "samples_per_update": sum(b.env_steps for b in batch()),
            "relative_difference_of_the_weight_change": rows}  # fmt: skip


if __name__ == "__main__":
    main()
