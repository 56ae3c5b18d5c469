"""Many workers on a multi-node Ray: distrl's own costs per fragment, per update and per broadcast.

A ``ray.cluster_utils.Cluster`` on this machine: a head node (the driver; the learner) and
``--nodes`` more, each with its own raylet and object store. The rollout workers run
:mod:`benchmarks.sleep_env` (each step sleeps, so a worker costs almost no CPU and the numbers
show distrl's overhead rather than this machine's cores). The largest worker group is started
once; each count ``k`` of ``--workers`` then trains A2C (small MLP, learning on) with the first
``k`` workers only, in sync and in async mode, for ``--seconds`` per window, windows alternating
between the modes. Per mode and ``k`` (medians over ``--repeats`` windows):

- ``driver_cpu_ms_per_update`` / ``driver_cpu_us_per_fragment``: CPU time of the driver process
  (its Python and Ray's threads in it) per learner update and per fragment ingested, less what
  the driver's Ray threads use when it is idle (``driver_idle_cpu_share``, measured first);
- ``version_reach_ms``: from the learner publishing a version (its ``ray.put``) until every one
  of the ``k`` workers has loaded that version or a newer one, median (and p90) over versions.
  Sync hands the version out with the next round's requests at once; async only with each
  worker's next request, so there it includes the rest of the fragment the worker is acting;
- ``push_ms``: the broadcast alone, on idle workers: ``ray.put`` of a new version, then
  ``set_weights`` on all ``k``, until all have loaded it; ``push_by_value_ms`` the same with the
  message inside each call rather than one object-store reference;
- ``samples_per_s`` / ``fragments_per_s`` consumed by the learner, ``updates_per_s``;
- ``object_store_peak_mib`` / ``objects_peak``: plasma usage across nodes, sampled every 0.5 s;
  ``in_flight_bytes``: fragments outstanding times a fragment's size, plus the weights;
- ``worker_pss_mib`` (median over workers), ``learner_pss_mib``, ``driver_pss_mib``.

The ``straggler`` part: ``--straggler-workers`` workers, worker 0's steps ``--slowdown`` times
slower (sleep, so cores are not the limit), sync against async env steps/s, windows alternating.

    python -m benchmarks.cluster_scale --nodes 4 --workers 1 8 32 64 128 --out F.json
    python -m benchmarks.cluster_scale --report F.json --plot F.png   # table and curves
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import threading
import time
from typing import Any

import numpy as np
import ray
from ray.cluster_utils import Cluster

from benchmarks.common import emit, machine, median
from benchmarks.scaling import pid_of, pss_mib
from distrl.config import build_config
from distrl.envs import EnvOptions, env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import LOOPS
from distrl.runtime.ray_backend import RayBackend

ENV = "benchmarks.sleep_env:Sleep-v0"
MODES = ("sync", "async")


class FirstWorkers:
    """A backend seen through its first ``k`` workers: the loops use only those."""

    def __init__(self, backend: RayBackend, k: int) -> None:
        self._backend, self._k = backend, k

    def active_workers(self) -> list[int]:
        return [i for i in self._backend.active_workers() if i < self._k]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


class PlasmaSampler(threading.Thread):
    """Samples the object store's usage across all nodes every ``every`` seconds."""

    PATTERN = re.compile(r"Plasma memory usage (\d+) MiB, (\d+) objects")

    def __init__(self, gcs_address: str, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.gcs_address, self.every = gcs_address, every
        self.peak_mib, self.peak_objects = 0, 0
        self.cpu_s = 0.0  # this thread's own CPU time, not to be counted as the driver's
        self._done = threading.Event()

    def run(self) -> None:
        from ray._private.internal_api import memory_summary

        while not self._done.wait(self.every):
            begin = time.thread_time()
            found = self.PATTERN.search(memory_summary(self.gcs_address, stats_only=True))
            if found:
                self.peak_mib = max(self.peak_mib, int(found.group(1)))
                self.peak_objects = max(self.peak_objects, int(found.group(2)))
            self.cpu_s += time.thread_time() - begin

    def stop(self) -> None:
        self._done.set()
        self.join()


def config_for(args: argparse.Namespace, workers: int, **more: Any) -> Any:
    return build_config(
        {
            "algo": "a2c",
            "env": ENV,
            "env_kwargs": {"step_s": args.step_s, "length": 200},
            "workers": workers,
            "envs_per_worker": 1,
            "rollout_len": args.rollout_len,
            "acting.backend": "numpy",
            "resources.worker_cpus": 1,
            "resources.learner_cpus": 1,
            "lag.max_policy_lag": 10_000,  # async at 128 workers: learn from all of it
            **more,
        }
    )


def settle(backend: RayBackend) -> None:
    """Wait for every request still in flight (an async window leaves one per worker)."""
    pending = list(backend._owner)
    if pending:
        ray.wait(pending, num_returns=len(pending))
    backend._owner.clear()


def reach_times(backend: RayBackend, k: int, since: float) -> list[float]:
    """Per version published after ``since``: seconds until all of the first ``k`` workers had
    loaded it or a newer one."""
    published = [(v, t) for v, t in ray.get(backend.learner.publications.remote()) if t >= since]
    loads = ray.get([w.weight_loads.remote() for w in backend.workers[:k]])
    return version_reach(published, loads)


def version_reach(
    published: list[tuple[int, float]], loads: list[list[tuple[int, float]]]
) -> list[float]:
    """For each ``(version, time)`` published: the time until every worker's log of ``(version,
    time)`` loads shows that version or a newer one; versions some worker never reached are
    left out."""
    times = []
    for version, at in published:
        firsts = [min((t for v, t in log if v >= version), default=None) for log in loads]
        reached = [first for first in firsts if first is not None]
        if len(reached) == len(loads):
            times.append(max(reached) - at)
    return times


def push_times(backend: RayBackend, k: int, repeats: int, *, by_value: bool) -> list[float]:
    """The broadcast alone: a new version loaded by all ``k`` idle workers, put in the object
    store once and handed out by reference (distrl's way above INLINE_WEIGHTS_BYTES), or with
    ``by_value`` sent inside each call (distrl's way below it: Ray inlines arguments under
    100 KiB, no object store, no owner to ask)."""
    message = backend.fetch(backend.weights())
    version = 10**9 + int(time.time() * 1000) % 10**6  # above any training version
    times = []
    for _ in range(repeats):
        version += 1
        start = time.perf_counter()
        new = type(message)(version, message.names, message.weights)
        arg = new if by_value else ray.put(new)
        assert all(ray.get([w.set_weights.remote(arg) for w in backend.workers[:k]]))
        times.append(time.perf_counter() - start)
    return times


def idle_cpu_share(seconds: float = 5.0) -> float:
    """The driver's CPU use while it does nothing (Ray's own threads in it), per second."""
    cpu = time.process_time()
    time.sleep(seconds)
    return (time.process_time() - cpu) / seconds


def window(
    backend: RayBackend,
    mode: str,
    k: int,
    seconds: float,
    gcs: str,
    fragment_steps: int,
    idle_share: float,
) -> dict[str, float]:
    view = FirstWorkers(backend, k)
    state = TrainingProgress()
    sampler = PlasmaSampler(gcs)
    sampler.start()
    since, cpu = time.time(), time.process_time()
    LOOPS[mode](view, state, StopRule(None, None, seconds))
    wall = state.elapsed
    sampler.stop()
    # Less the sampler's own CPU and what the driver's Ray threads use when it is idle.
    cpu = time.process_time() - cpu - sampler.cpu_s - idle_share * wall
    settle(backend)
    reach = reach_times(backend, k, since)
    fragments = state.env_steps / fragment_steps
    return {
        "driver_cpu_ms_per_update": 1e3 * cpu / max(state.updates, 1),
        "driver_cpu_us_per_fragment": 1e6 * cpu / max(fragments, 1),
        "driver_cpu_share": cpu / wall,
        "samples_per_s": state.env_steps / wall,
        "fragments_per_s": fragments / wall,
        "updates_per_s": state.updates / wall,
        "version_reach_ms": 1e3 * median(reach),
        "version_reach_p90_ms": 1e3 * float(np.percentile(reach, 90)) if reach else float("nan"),
        "versions_reached": len(reach),
        "object_store_peak_mib": sampler.peak_mib,
        "objects_peak": sampler.peak_objects,
        "policy_lag_max": state.metrics.get("learner/policy_lag_max", float("nan")),
    }


def scale(args: argparse.Namespace, gcs: str) -> dict[str, Any]:
    biggest = max(args.workers)
    config = config_for(args, biggest)
    spec = env_spec(config.env, options=EnvOptions.of(config))
    begin = time.perf_counter()
    backend = RayBackend(config, spec)
    started_s = time.perf_counter() - begin
    print(f"{biggest} workers up on {backend.worker_nodes} nodes in {started_s:.0f} s",
          file=sys.stderr)  # fmt: skip
    fragment_steps = config.rollout_len * config.envs_per_worker
    rows = []
    try:
        weights = backend.fetch(backend.weights())
        fragment = ray.get(backend.workers[0].sample.remote(weights))
        fragment_bytes = sum(v.nbytes for v in vars(fragment).values() if isinstance(v, np.ndarray))
        weights_bytes = sum(w.nbytes for w in weights.weights)
        idle = idle_cpu_share()
        for k in sorted(args.workers):
            windows: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
            LOOPS["sync"](FirstWorkers(backend, k), TrainingProgress(), StopRule(None, None, 2.0))
            for _ in range(args.repeats):
                for mode in MODES:
                    windows[mode].append(
                        window(backend, mode, k, args.seconds, gcs, fragment_steps, idle)
                    )
            for mode in MODES:
                row: dict[str, Any] = {"mode": mode, "workers": k}
                for key in windows[mode][0]:
                    row[key] = round(median([w[key] for w in windows[mode]]), 3)
                row["in_flight_bytes"] = k * fragment_bytes + weights_bytes
                rows.append(row)
                print(f"{mode} k={k}: {row}", file=sys.stderr)
        # Last: the pushed versions are above any training version, so workers would refuse
        # the training ones after them.
        for k in sorted(args.workers):
            for key, by_value in (("push_ms", False), ("push_by_value_ms", True)):
                push = median(push_times(backend, k, 2 * args.repeats + 1, by_value=by_value))
                for row in rows:
                    if row["workers"] == k:
                        row[key] = round(1e3 * push, 2)
        memory = {
            "worker_pss_mib": round(median([pss_mib(pid_of(w)) for w in backend.workers]), 1),
            "learner_pss_mib": round(pss_mib(pid_of(backend.learner)), 1),
            "driver_pss_mib": round(pss_mib(os.getpid()), 1),
        }
    finally:
        backend.shutdown()
    return {
        "group_start_s": round(started_s, 1),
        "worker_nodes": backend.worker_nodes,
        "driver_idle_cpu_share": round(idle, 4),
        "fragment_bytes": fragment_bytes,
        "weights_bytes": weights_bytes,
        "rows": rows,
        **memory,
    }


def straggler(args: argparse.Namespace) -> dict[str, Any]:
    delay = (args.slowdown - 1.0) * args.step_s  # worker 0: slowdown x the others' step time
    config = config_for(args, args.straggler_workers, **{"faults.straggler_delay": delay})
    spec = env_spec(config.env, options=EnvOptions.of(config))
    backend = RayBackend(config, spec)
    rates: dict[str, list[float]] = {mode: [] for mode in MODES}
    try:
        for _ in range(args.repeats):
            for mode in MODES:
                state = TrainingProgress()
                LOOPS[mode](backend, state, StopRule(None, None, args.seconds))
                settle(backend)
                rates[mode].append(state.env_steps / state.elapsed)
    finally:
        backend.shutdown()
    sync, async_ = median(rates["sync"]), median(rates["async"])
    return {
        "workers": args.straggler_workers,
        "slowdown": args.slowdown,
        "steps_per_s": {"sync": sync, "async": async_},
        "windows": rates,
        "async_over_sync": round(async_ / sync, 2),
    }


COLUMNS = [
    ("driver_cpu_us_per_fragment", "driver CPU / fragment (µs)", "{:,.0f}"),
    ("driver_cpu_ms_per_update", "driver CPU / update (ms)", "{:.1f}"),
    ("version_reach_ms", "version reaches all (ms, median)", "{:.0f}"),
    ("push_ms", "push to all, by ref (ms)", "{:.0f}"),
    ("push_by_value_ms", "push to all, by value (ms)", "{:.0f}"),
    ("samples_per_s", "learner samples/s", "{:,.0f}"),
    ("fragments_per_s", "fragments/s", "{:,.0f}"),
    ("object_store_peak_mib", "object store peak (MiB)", "{:.0f}"),
    ("objects_peak", "objects peak", "{:.0f}"),
]


def report(document: dict[str, Any], plot: str | None) -> str:
    """A markdown table of the scale part (one row per mode and worker count); with ``plot``,
    a PNG of the main columns against workers."""
    rows = document["scale"]["rows"]
    columns = [c for c in COLUMNS if c[0] in rows[0]]
    lines = [
        "| mode | workers | " + " | ".join(title for _, title, _ in columns) + " |",
        "| --- | --- | " + " | ".join("---" for _ in columns) + " |",
    ]
    for row in rows:
        cells = [fmt.format(row[key]) for key, _, fmt in columns]
        lines.append(f"| {row['mode']} | {row['workers']} | " + " | ".join(cells) + " |")
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        shown = [c for c in columns if c[0] != "objects_peak"][:6]
        fig, axes = plt.subplots(2, 3, figsize=(13, 7))
        for ax, (key, title, _) in zip(axes.flat, shown, strict=False):
            for mode in MODES:
                mine = [r for r in rows if r["mode"] == mode]
                ax.plot([r["workers"] for r in mine], [r[key] for r in mine], "o-", label=mode)
            ax.set_xscale("log", base=2)
            ax.set_xlabel("rollout workers")
            ax.set_title(title, fontsize=10)
            ax.legend(fontsize=8)
        fig.suptitle(
            f"distrl on a {document['nodes']}-node Ray on one machine "
            f"({document['machine']['cpus']} cores), env steps sleeping {document['step_s']} s"
        )
        fig.tight_layout()
        fig.savefig(plot, dpi=90)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=["scale", "straggler"],
                        default=["scale", "straggler"])  # fmt: skip
    parser.add_argument("--nodes", type=int, default=4, help="worker nodes besides the head")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 32, 64, 128])
    parser.add_argument("--step-s", type=float, default=0.01, help="each env step's sleep")
    parser.add_argument("--rollout-len", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=8.0, help="per window")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--straggler-workers", type=int, default=8)
    parser.add_argument("--slowdown", type=float, default=5.0)
    parser.add_argument("--out", help="also write the JSON document to this file")
    parser.add_argument("--report", metavar="JSON", help="run nothing: print the markdown "
                        "table of a result file written by --out (and --plot it)")  # fmt: skip
    parser.add_argument("--plot", metavar="PNG", help="with --report: draw the curves here")
    args = parser.parse_args(argv)
    if args.report:
        with open(args.report) as f:
            print(report(json.load(f), args.plot))
        return
    biggest = max([*args.workers, args.straggler_workers])
    per_node = -(-biggest // args.nodes)  # logical CPUs: one per worker
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": 256 * 2**20},
    )
    for _ in range(args.nodes):
        cluster.add_node(num_cpus=per_node, object_store_memory=256 * 2**20)
    ray.init(address=cluster.address, logging_level=logging.WARNING)
    document: dict[str, Any] = {
        "benchmark": "cluster_scale",
        "machine": machine(),
        "nodes": 1 + args.nodes,
        "step_s": args.step_s,
        "rollout_len": args.rollout_len,
        "window_s": args.seconds,
        "repeats": args.repeats,
    }
    try:
        if "scale" in args.parts:
            document["scale"] = scale(args, cluster.gcs_address)
        if "straggler" in args.parts:
            document["straggler"] = straggler(args)
    finally:
        ray.shutdown()
        cluster.shutdown()
    emit(document, args.out)


if __name__ == "__main__":
    main()
