"""What a Pong agent step costs with nothing else running: the floor under atari_breakdown.

Trains the pong-a2c preset in one process (``--workers 0``: one worker with the preset's envs
per worker, and the learner, called in turn, no Ray), so each part runs alone on a core with no
other process competing for the cores and caches. The worker's fragments are as long as all the
preset's workers' fragments together, so the learner's batch is the preset's (80 samples for
pong-a2c); their n-step returns are longer, which changes none of the costs measured. Per agent
step, in core-microseconds:

- env: the vector env's steps (ale-py's C++ AtariVectorEnv, frame skip and preprocessing);
- acting: the Nature CNN's forward pass over the worker's envs, and the action sampling;
- weights load, targets, train step: as in atari_breakdown (the train step is the compiled
  forward and backward pass over the 80-sample batch, and RMSprop);
- rest: everything else in the process (fragments, Python).

The process's TensorFlow threads are set by ``learner_threads``. Each setting runs in a child
process of its own (TensorFlow fixes its threads once per process), one after the other:

    python -m benchmarks.atari_floor --threads 1 2 --out atari_floor.json

From these, ``ceiling_2_cores`` is what two cores could give if they did nothing but env,
acting and train steps, at the costs measured here: 2 x 1e6 / (env + acting + train step).
The model's multiply-adds per sample are counted from its layers, so the train step can be set
against the core's arithmetic (``gflops``: 3 x forward FLOPs x samples per second, the usual
estimate for a forward and backward pass).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from benchmarks.atari_breakdown import Deadline
from benchmarks.common import emit, machine, median, python_env

PARTS = ("env", "acting", "weights load", "targets", "train step", "rest")


def forward_macs(model: Any) -> int:
    """Multiply-adds of one sample's forward pass through the Conv2D and Dense layers."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            cin = layer.input.shape[-1]
            _, oh, ow, cout = layer.output.shape
            total += oh * ow * cout * kh * kw * cin
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)


def measure(threads: int, preset: str, warmup: float, seconds: float, repeats: int) -> dict:
    """In this process: train the preset in-process and time its parts over ``repeats``
    windows of ``seconds``."""
    from distrl.config import build_config, load_preset
    from distrl.envs import env_spec
    from distrl.ops.tracking import TrainingProgress
    from distrl.runtime import LocalBackend, run_sync

    # One worker with the preset's envs per worker (the acting batch the workers see), and
    # fragments as long as all the preset's workers' together (the same train batch).
    base = build_config(load_preset(preset))
    overrides = {"workers": 0, "resources.learner_threads": threads,
                 "rollout_len": base.rollout_len * max(1, base.workers)}  # fmt: skip
    config = build_config(load_preset(preset), overrides)
    backend = LocalBackend(config, env_spec(config.env, config.atari))
    worker, state = backend.worker, TrainingProgress()
    learner_cpu = {"targets": 0.0, "train step": 0.0}

    def on_update(state: TrainingProgress) -> None:
        metrics = state.last.metrics if state.last is not None else {}
        learner_cpu["targets"] += metrics.get("timing/targets_cpu_s", 0.0)
        learner_cpu["train step"] += metrics.get("timing/train_step_cpu_s", 0.0)

    def until(seconds: float) -> Deadline:
        return Deadline(time.perf_counter() + seconds)

    windows = []
    try:
        run_sync(backend, state, until(warmup), on_update)
        for _ in range(repeats):
            steps0, w0, cpu0 = state.env_steps, worker.cpu_times(), time.process_time()
            learner0, start = dict(learner_cpu), time.perf_counter()
            run_sync(backend, state, until(seconds), on_update)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
            w1, steps = worker.cpu_times(), state.env_steps - steps0
            part = {
                "env": w1["env"] - w0["env"],
                "acting": w1["act"] - w0["act"],
                "weights load": w1["load"] - w0["load"],
                "targets": learner_cpu["targets"] - learner0["targets"],
                "train step": learner_cpu["train step"] - learner0["train step"],
            }
            part["rest"] = cpu - sum(part.values())
            windows.append({"agent_steps": steps, "wall_s": wall, "cpu_s": cpu, **part})
        macs = forward_macs(backend.learner.model)
    finally:
        backend.shutdown()
    return summarize(threads, windows, macs)


def summarize(threads: int, windows: list[dict[str, float]], macs: int) -> dict[str, Any]:
    """Medians over windows of each part in core-microseconds per agent step, the one-process
    rate, the 2-core ceiling and the train step's arithmetic rate."""
    us = {p: round(median([w[p] / w["agent_steps"] * 1e6 for w in windows]), 1) for p in PARTS}
    needed = us["env"] + us["acting"] + us["train step"]
    return {
        "threads": threads,
        "agent_steps_per_s_one_process": round(
            median([w["agent_steps"] / w["wall_s"] for w in windows]), 1
        ),
        "cores_busy": round(median([w["cpu_s"] / w["wall_s"] for w in windows]), 2),
        "core_us_per_agent_step": us,
        "ceiling_2_cores": round(2e6 / needed, 1),
        "forward_macs_per_sample": macs,
        # 2 FLOPs per multiply-add, forward and backward about 3 forward passes.
        "train_step_gflops": round(3 * 2 * macs / (us["train step"] / 1e6) / 1e9, 1),
        "windows": windows,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="pong-a2c")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="learner_threads settings, one child process each")  # fmt: skip
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before measuring")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per window")
    parser.add_argument("--repeats", type=int, default=3, help="windows per setting")
    parser.add_argument("--out", help="also write the JSON document to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # one setting, in this process; one JSON line on stdout
        (threads,) = args.threads
        result = measure(threads, args.preset, args.warmup, args.seconds, args.repeats)
        print(json.dumps(result))
        return
    results = []
    for threads in args.threads:
        cmd = [sys.executable, "-m", "benchmarks.atari_floor", "--child", "--threads",
               str(threads), "--preset", args.preset, "--warmup", str(args.warmup),
               "--seconds", str(args.seconds), "--repeats", str(args.repeats)]  # fmt: skip
        out = subprocess.run(cmd, env=python_env(), capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.exit(f"atari_floor: threads={threads} failed: {out.stderr.strip()[-2000:]}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    emit({
        "benchmark": "atari_floor", "machine": machine(), "preset": args.preset,
        "cores": os.cpu_count(), "warmup_s": args.warmup, "window_s": args.seconds,
        "results": results,
    }, args.out)  # fmt: skip


if __name__ == "__main__":
    main()
