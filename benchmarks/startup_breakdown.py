"""Where a run's start goes: each phase from the command to the first update, timed in one
process the way ``python -m distrl.launch`` runs them.

    python -m benchmarks.startup_breakdown --workers 2 --repeats 5
    python -m benchmarks.startup_breakdown --workers 16 --repeats 5

Phases (seconds, medians over ``--repeats`` fresh processes):

- ``imports``: importing distrl and its config (the driver never imports TensorFlow);
- ``prepare``: the config, the env spec, the run folder (``Trainer.prepare``);
- ``ray_start``: the embedded Ray (``ray.init``);
- ``learner_ready``: from creating the actors until the learner is up (its process, TensorFlow's
  import, the model and optimizer, the compiled train step's trace);
- ``workers_ready``: until every rollout worker is up as well (they start beside the learner);
- ``first_update``: the first round: sampling, the learner's first update, the weights back;
- ``total``: from the process's start (its interpreter included) to the first update's end.

One JSON document on stdout. Each repeat is its own process (``--one``), so imports count.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import ROOT, machine, median, python_env

PHASES = ["imports", "prepare", "ray_start", "learner_ready", "workers_ready", "first_update"]


def one(workers: int, process_start: float) -> dict[str, float]:
    """The phases of one start, in this process."""
    t = {"start": time.time()}
    import tempfile

    import distrl
    from distrl.runtime.cluster import start_ray, stop_ray

    t["imports"] = time.time()
    config = distrl.make_config(env="CartPole-v1", workers=workers, max_steps=10_000,
                                logdir=tempfile.mkdtemp())  # fmt: skip
    trainer = distrl.Trainer(config)
    trainer.prepare()
    t["prepare"] = time.time()
    start_ray(trainer.config)
    t["ray_start"] = time.time()
    import ray

    from distrl.runtime import ray_backend

    ready_at: dict[str, float] = {}
    original = ray_backend.started

    def timed(value: Any) -> Any:  # the backend checks the learner's ready() first
        ready_at.setdefault("learner_ready", time.time())
        return original(value)

    ray_backend.started = timed
    backend = ray_backend.RayBackend(trainer.config, trainer.spec)
    t["learner_ready"] = ready_at["learner_ready"]
    t["workers_ready"] = time.time()
    weights = backend.weights()
    backend.update([backend.submit(i, weights) for i in backend.active_workers()])
    t["first_update"] = time.time()
    backend.shutdown()
    stop_ray()
    del ray
    phases, last = {}, t["start"]
    for name in PHASES:
        phases[name] = round(t[name] - last, 3)
        last = t[name]
    phases["total"] = round(t["first_update"] - process_start, 3)
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--one", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:  # a child: its own process start time was passed in
        print(json.dumps(one(args.workers, args.one)))
        return
    runs = []
    for _ in range(args.repeats):
        cmd = [sys.executable, "-c", "import time,sys; s=time.time(); sys.argv=['x', "
               f"'--workers', '{args.workers}', '--one', str(s)]; "
               "import runpy; runpy.run_module('benchmarks.startup_breakdown', "
               "run_name='__main__')"]  # fmt: skip
        done = subprocess.run(cmd, cwd=ROOT, env=python_env(), capture_output=True, text=True,
                              timeout=600)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    medians = {k: round(median([r[k] for r in runs]), 2) for k in [*PHASES, "total"]}
    print(
        json.dumps(
            {
                "benchmark": "startup_breakdown",
                "workers": args.workers,
                "machine": machine(),
                "medians_s": medians,
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
