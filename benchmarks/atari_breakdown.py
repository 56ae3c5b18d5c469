"""Where each agent step's time goes while a Pong preset trains, in core-microseconds.

Trains the preset through the real sync loop (Ray workers, learner actor, the driver's loop)
and, over a timed window after a warm-up, counts the CPU every process used:

- each rollout worker's own counters (``RolloutWorker.cpu_times``): the vector env's steps, the
  policy's forward pass (acting), loading new weights, and the rest of the worker process
  (assembling fragments, Ray: serialising them into the object store, receiving calls);
- the learner's (its update's metrics ``timing/targets_cpu_s`` and ``timing/train_step_cpu_s``,
  reported by A2C and PPO): the targets (NumPy and any forward pass they need), the compiled
  gradient step (PPO: all its epochs' minibatch steps), and the rest
  of its process (receiving fragments from the object store, publishing weights, Ray);
- the driver process, and everything else the machine ran (Ray's raylet and GCS, any other
  process) from ``/proc/stat``; idle is what no process used.

Each row is divided by the agent steps of the window, so the rows add up to
``cores x 1e6 / (agent steps/s)``. Variants (``--variant NAME KEY=VALUE ...``) run side by side:
one backend each, their windows alternating so that they see the same machine.

    python -m benchmarks.atari_breakdown --out atari_breakdown.json
    python -m benchmarks.atari_breakdown --variant full-forward a2c.advantage=gae a2c.gae_lambda=1

The second compares the preset with the same returns computed by GAE with lambda 1, which
evaluates V(s_t) for every row before the step (what n-step returns did before they took the
baseline from the step's own forward pass).

With ``overlap=true`` a window ends with one round still queued on its variant's workers; they
sample it at the start of the next variant's window (one fragment per worker, about 0.1 s of
their CPU, counted in that window's "Ray daemons and other processes"), and it is dropped.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import ray

from benchmarks.common import emit, machine, median
from distrl.config import build_config, load_preset
from distrl.config.loading import keys_of_flags, parse_override
from distrl.envs import env_spec
from distrl.ops.tracking import TrainingProgress
from distrl.runtime.ray_backend import RayBackend
from distrl.runtime.sync_loop import run_sync

TICKS = os.sysconf("SC_CLK_TCK")
ROWS = (
    "env", "acting", "worker: weights load", "worker: rest (fragments, Ray)",
    "learner: targets", "learner: train step", "learner: rest (fragments in, weights out, Ray)",
    "driver", "Ray daemons and other processes", "idle",
)  # fmt: skip


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_cpu() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS, idle / TICKS


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs, read as ``--set`` reads them (a section key also by its flag's
    name: ``jit_acting=false``), as a layer for build_config."""
    return keys_of_flags(dict(parse_override(pair) for pair in pairs))


class Variant:
    """One backend training the preset (with overrides), resumable window by window."""

    def __init__(self, name: str, preset: str, overrides: dict[str, Any]) -> None:
        self.name = name
        self.config = build_config(load_preset(preset), overrides)
        self.backend = RayBackend(self.config, env_spec(self.config.env, self.config.atari))
        pid = lambda self: os.getpid()  # noqa: E731 (run inside each actor)
        self.worker_pids = ray.get([w.__ray_call__.remote(pid) for w in self.backend.workers])
        self.learner_pid = ray.get(self.backend.learner.__ray_call__.remote(pid))
        self.progress = TrainingProgress()

    def train(self, seconds: float) -> dict[str, float]:
        """Train for ``seconds``; returns the window's totals (CPU seconds, steps, wall)."""
        learner = {"targets": 0.0, "train_step": 0.0, "update_wall": 0.0}

        def on_update(state: TrainingProgress) -> None:
            metrics = state.last.metrics if state.last is not None else {}
            learner["targets"] += metrics.get("timing/targets_cpu_s", 0.0)
            learner["train_step"] += metrics.get("timing/train_step_cpu_s", 0.0)
            learner["update_wall"] += metrics.get("timing/update_s", 0.0)

        workers = self.backend.workers
        steps, updates = self.progress.env_steps, self.progress.updates
        before = self._cpu(), ray.get([w.cpu_times.remote() for w in workers]), machine_cpu()
        start = time.perf_counter()
        deadline = Deadline(start + seconds)
        run_sync(self.backend, self.progress, deadline, on_update, overlap=self.config.overlap)
        wall = time.perf_counter() - start
        after = self._cpu(), ray.get([w.cpu_times.remote() for w in workers]), machine_cpu()
        (procs0, work0, (busy0, idle0)), (procs1, work1, (busy1, idle1)) = before, after
        part = {k: sum(w1[k] - w0[k] for w0, w1 in zip(work0, work1, strict=True))
                for k in ("sample", "env", "act", "load")}  # fmt: skip
        workers_cpu = sum(procs1["workers"]) - sum(procs0["workers"])
        learner_cpu = procs1["learner"] - procs0["learner"]
        driver_cpu = procs1["driver"] - procs0["driver"]
        return {
            "wall_s": wall,
            "agent_steps": self.progress.env_steps - steps,
            "updates": self.progress.updates - updates,
            "env": part["env"],
            "acting": part["act"],
            "worker: weights load": part["load"],
            "worker: rest (fragments, Ray)": workers_cpu - part["env"] - part["act"] - part["load"],
            "learner: targets": learner["targets"],
            "learner: train step": learner["train_step"],
            "learner: rest (fragments in, weights out, Ray)": learner_cpu
            - learner["targets"]
            - learner["train_step"],
            "driver": driver_cpu,
            "Ray daemons and other processes": (busy1 - busy0)
            - workers_cpu
            - learner_cpu
            - driver_cpu,
            "idle": idle1 - idle0,
            "learner_update_wall_s": learner["update_wall"],
        }

    def _cpu(self) -> dict[str, Any]:
        return {
            "workers": [process_cpu(p) for p in self.worker_pids],
            "learner": process_cpu(self.learner_pid),
            "driver": process_cpu(os.getpid()),
        }


class Deadline:
    """A stop rule for run_sync: stop after the update that passes ``until``."""

    def __init__(self, until: float) -> None:
        self.until = until

    def check(self, state: TrainingProgress) -> str | None:
        return "max_seconds" if time.perf_counter() >= self.until else None


def table(windows: list[dict[str, float]]) -> dict[str, Any]:
    """Medians over windows: agent steps/s, each row in core-microseconds per agent step."""
    rows = {r: round(median([w[r] / w["agent_steps"] * 1e6 for w in windows]), 1) for r in ROWS}
    return {
        "agent_steps_per_s": round(median([w["agent_steps"] / w["wall_s"] for w in windows]), 1),
        "updates_per_s": round(median([w["updates"] / w["wall_s"] for w in windows]), 2),
        "learner_busy_share": round(
            median([w["learner_update_wall_s"] / w["wall_s"] for w in windows]), 3
        ),
        "core_us_per_agent_step": rows,
        "core_us_total": round(sum(rows.values()), 1),
    }


def markdown(results: dict[str, Any]) -> str:
    names = list(results)
    lines = ["| core-µs per agent step | " + " | ".join(names) + " |",
             "| --- |" + " --- |" * len(names)]  # fmt: skip
    for row in ROWS:
        cells = [f"{results[n]['core_us_per_agent_step'][row]:,.0f}" for n in names]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    totals = [f"{results[n]['core_us_total']:,.0f}" for n in names]
    rates = [f"**{results[n]['agent_steps_per_s']:,.0f}**" for n in names]
    lines.append("| total (cores x 1e6 / rate) | " + " | ".join(totals) + " |")
    lines.append("| agent steps/s | " + " | ".join(rates) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="pong-a2c")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="overrides for every variant, e.g. overlap=true")  # fmt: skip
    parser.add_argument("--variant", nargs="+", action="append", default=[],
                        metavar=("NAME", "KEY=VALUE"),
                        help="a variant beside the preset: a name and its overrides")  # fmt: skip
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before measuring")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds per window")
    parser.add_argument("--repeats", type=int, default=3, help="windows per variant")
    parser.add_argument("--out", help="also write the JSON document to this file")
    args = parser.parse_args(argv)
    common = args.set
    specs = [("preset", common)] + [(v[0], common + v[1:]) for v in args.variant]
    workers = build_config(load_preset(args.preset), parse_overrides(common)).workers
    ray.init(num_cpus=(workers + 1) * len(specs), include_dashboard=False,
             logging_level="WARNING")  # fmt: skip
    try:
        variants = [Variant(name, args.preset, parse_overrides(o)) for name, o in specs]
        for v in variants:
            v.train(args.warmup)  # compilation, first resets, the machine settling
        windows: dict[str, list[dict[str, float]]] = {v.name: [] for v in variants}
        for _ in range(args.repeats):
            for v in variants:
                windows[v.name].append(v.train(args.seconds))
        for v in variants:
            v.backend.shutdown()
    finally:
        ray.shutdown()
    results = {name: table(w) for name, w in windows.items()}
    emit({
        "benchmark": "atari_breakdown", "machine": machine(), "preset": args.preset,
        "cores": os.cpu_count(), "variants": dict(specs), "warmup_s": args.warmup,
        "window_s": args.seconds, "results": results, "windows": windows,
        "markdown": markdown(results),
    }, args.out)  # fmt: skip


if __name__ == "__main__":
    main()
