"""Data-parallel learners on a multi-node Ray: learner samples/s against ``resources.learners``.

A ``ray.cluster_utils.Cluster`` on this machine: a head node (the driver) and ``--nodes``
more, each with ``--node-cpus`` logical CPUs, so the learners spread one per node. The rollout
workers run :mod:`benchmarks.sleep_env` (each step sleeps: the workers cost almost no CPU)
and the learner is made CPU-heavy on purpose: PPO with a wide MLP (``--hidden``), several
epochs of small minibatches per update, one TensorFlow thread per learner, and ``overlap`` on
(the workers sample the next batch while the learners learn), so the learners are the
bottleneck. Each learner count in ``--learners`` trains for ``--seconds`` per window, windows
alternating between the counts, ``--repeats`` times; the first update of each window (tracing,
warm-up) is left out.

Per count (medians over windows): ``samples_per_s`` (env steps the learners consumed per
second), ``updates_per_s``, ``speedup`` against the first count, ``minibatch_steps`` per update.

    python -m benchmarks.learner_scale --learners 1 2 4 --out F.json

On a machine with fewer cores than learners the learners share them: the speedup is then capped
by the cores, and what the table shows beyond that is the group's overhead.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import ray
from ray.cluster_utils import Cluster

from benchmarks.common import emit, machine, median
from distrl.config import build_config
from distrl.envs import EnvOptions, env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import LOOPS
from distrl.runtime.ray_backend import RayBackend

ENV = "benchmarks.sleep_env:Sleep-v0"


def window(args: argparse.Namespace, learners: int) -> dict[str, float]:
    """One window of training with ``learners`` learners: its rates after the first update."""
    config = build_config({
        "algo": "ppo", "env": ENV, "env_kwargs": {"step_s": args.step_s},
        "workers": args.workers, "envs_per_worker": args.envs,
        "samples_per_update": args.batch, "overlap": True, "seed": 0,
        "model.hidden": list(args.hidden), "ppo.n_epochs": args.epochs,
        "ppo.minibatch_size": args.minibatch, "ppo.target_kl": None,
        "resources.learners": learners, "resources.learner_threads": 1,
        "resources.worker_cpus": 0.25,
    })  # fmt: skip
    spec = env_spec(ENV, EnvOptions(kwargs={"step_s": args.step_s}))
    backend = RayBackend(config, spec)
    marks: list[tuple[float, int, int]] = []  # (time, env steps, updates) after each update
    state = TrainingProgress()

    def on_update(s: TrainingProgress) -> None:
        marks.append((time.perf_counter(), s.env_steps, s.updates))

    try:
        LOOPS["sync"](backend, state, StopRule(None, None, args.seconds), on_update,
                      overlap=True)  # fmt: skip
        minibatch_steps = state.metrics.get("learner/minibatch_steps", float("nan"))
    finally:
        backend.shutdown()
    (t0, s0, u0), (t1, s1, u1) = marks[0], marks[-1]
    return {
        "samples_per_s": (s1 - s0) / (t1 - t0),
        "updates_per_s": (u1 - u0) / (t1 - t0),
        "minibatch_steps": minibatch_steps,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--nodes", type=int, default=4, help="nodes besides the head")
    parser.add_argument("--node-cpus", type=int, default=2, help="logical CPUs per node")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--envs", type=int, default=8, help="envs per worker")
    parser.add_argument("--step-s", type=float, default=0.0002, help="each env step's sleep")
    parser.add_argument("--batch", type=int, default=4096, help="samples per update")
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 512])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--minibatch", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=40.0, help="per window")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="also write the JSON document to this file")
    args = parser.parse_args(argv)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    for _ in range(args.nodes):
        cluster.add_node(num_cpus=args.node_cpus, object_store_memory=256 * 2**20)
    ray.init(address=cluster.address, logging_level=logging.WARNING)
    runs: dict[int, list[dict[str, float]]] = {n: [] for n in args.learners}
    try:
        for _ in range(args.repeats):
            for n in args.learners:  # alternating: a slow minute hurts every count alike
                runs[n].append(window(args, n))
    finally:
        ray.shutdown()
        cluster.shutdown()
    table: dict[str, Any] = {}
    base = median([w["samples_per_s"] for w in runs[args.learners[0]]])
    for n, windows in runs.items():
        rate = median([w["samples_per_s"] for w in windows])
        table[str(n)] = {
            "samples_per_s": rate,
            "samples_per_s_windows": [w["samples_per_s"] for w in windows],
            "updates_per_s": median([w["updates_per_s"] for w in windows]),
            "minibatch_steps": median([w["minibatch_steps"] for w in windows]),
            "speedup": rate / base,
        }
    emit({"benchmark": "learner_scale", "machine": machine(), "settings": vars(args),
          "learners": table}, args.out)  # fmt: skip


if __name__ == "__main__":
    main()
