"""Time-to-solve through the real launch command, several seeds (CartPole-v1 by default).

Runs ``python -m distrl.launch`` in a subprocess per seed (so startup is measured as users see
it) and prints one JSON document: every run's summary plus medians.

    python -m benchmarks.time_to_solve --workers 2 --envs-per-worker 16 --seeds 0 1 2
    python -m benchmarks.time_to_solve --workers 16 --seeds 0 1 2
    python -m benchmarks.time_to_solve --workers 2 --envs-per-worker 16 --mode async
    python -m benchmarks.time_to_solve --workers 2 --preset pendulum-ddpg

Options it does not know itself (``--mode async``, ``--preset NAME``, ``--set K=V``) are passed
to the launch command unchanged.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchmarks.common import launch, machine, median


def run_once(args: argparse.Namespace, seed: int, tmp: Path) -> dict:
    launch_args = [
        "--workers",
        str(args.workers),
        "--seed",
        str(seed),
        "--max-seconds",
        str(args.max_seconds),
        "--progress-interval",
        "1000",
    ]
    if args.envs_per_worker is not None:
        launch_args += ["--envs-per-worker", str(args.envs_per_worker)]
    return launch([*launch_args, *args.launch_args], tmp / f"seed-{seed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--envs-per-worker", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args, args.launch_args = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run_once(args, seed, Path(tmp)) for seed in args.seeds]
    solved = [r for r in runs if r["solved"]]
    print(
        json.dumps(
            {
                "benchmark": "time_to_solve",
                "env": runs[0]["env"],
                "algo": runs[0]["algo"],
                "machine": machine(),
                "workers": args.workers,
                "envs_per_worker": runs[0]["envs_per_worker"],
                "mode": runs[0]["mode"],
                "launch_args": args.launch_args,
                "solved_runs": f"{len(solved)}/{len(runs)}",
                "median_wall_s": median([r["wall_s"] for r in runs]),
                "median_env_steps": median([r["env_steps"] for r in runs]),
                "median_startup_s": median([r["startup_s"] for r in runs]),
                "median_steps_per_s": median([r["steps_per_s"] for r in runs]),
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
