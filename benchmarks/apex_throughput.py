"""Ape-X throughput against the number of workers: the replay shards' inserts/s and the learner's
samples/s, through the real launch command (``--preset cartpole-apex``: DQN in mode async,
prioritized replay in replay shards).

    python -m benchmarks.apex_throughput --workers 2 4 8 16 --seconds 60
    python -m benchmarks.apex_throughput --workers 4 --shards 1 2 4 --seconds 60

Each run trains for ``--seconds`` and reads its last progress line:

- ``inserts_per_s``: transitions stored in the shards per second of training (every env step is
  one transition), and ``shard_busy``: the fraction of that time the shards spent storing;
- ``learner_samples_per_s``: transitions the learner trained on per second (gradient steps x
  batch size); ``replay_ratio`` ties it to the inserts (``samples = ratio x batch x inserts``).

One JSON document on stdout. The stop reward is off so that every run lasts the same time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchmarks.common import launch, machine


def last_progress(run_dir: str) -> dict:
    lines = (Path(run_dir) / "progress.jsonl").read_text().splitlines()
    return json.loads(lines[-1])


def measure(workers: int, shards: int, seconds: float, seed: int, tmp: Path) -> dict:
    args = ["--preset", "cartpole-apex", "--workers", str(workers), "--seed", str(seed),
            "--max-seconds", str(seconds), "--max-steps", "100000000", "--stop-reward", "1e9",
            "--progress-interval", "5", "--set", f"dqn.replay_shards={shards}"]  # fmt: skip
    summary = launch(args, tmp / f"w{workers}-s{shards}")
    last = last_progress(summary["run_dir"])
    wall = last["time_s"]
    batch = 64  # cartpole-apex's dqn.batch_size
    return {
        "workers": workers,
        "replay_shards": shards,
        "train_s": wall,
        "startup_s": summary["startup_s"],
        "env_steps": last["env_steps"],
        "inserts_per_s": round(last["replay/added"] / wall, 1),
        "shard_busy": round(last["replay/insert_s"] / (wall * shards), 4),
        "gradient_steps": last["learner/gradient_steps"],
        "learner_samples_per_s": round(last["learner/gradient_steps"] * batch / wall, 1),
        "updates": last["updates"],
        "worker_restarts": summary["worker_restarts"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--shards", type=int, nargs="+", default=[2])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [measure(w, s, args.seconds, args.seed, Path(tmp))
                for w in args.workers for s in args.shards]  # fmt: skip
    print(json.dumps({"benchmark": "apex_throughput", "preset": "cartpole-apex",
                      "machine": machine(), "runs": runs}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
