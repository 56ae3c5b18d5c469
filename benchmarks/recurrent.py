"""Memory: PPO and A2C with and without an LSTM on CartPole-v1 without its velocities.

Each run is ``python -m distrl.launch --config examples/cartpole-no-velocity-lstm.yaml`` (rl-zoo's
RecurrentPPO settings, 2 Ray workers, 500k env steps at most, stopping at a last-20 mean of
475) with one variant's changes. Reported per run: whether it reached 475, the env steps it
took (or the budget), the best and final last-20 means, and the training wall time. One JSON
line per run goes to ``--results`` as it finishes; the final document holds every run::

    python -m benchmarks.recurrent --results benchmarks/results/recurrent.jsonl
    python -m benchmarks.recurrent --only ppo-lstm-sync --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import ROOT, emit, launch, machine, median

CONFIG = "examples/cartpole-no-velocity-lstm.yaml"
# label -> the arguments that make it from the config (an LSTM PPO in sync mode).
VARIANTS: dict[str, list[str]] = {
    "ppo-lstm-sync": [],
    "ppo-feedforward-sync": ["--set", "model.lstm_size=0"],
    "ppo-lstm-async-vtrace": ["--mode", "async"],
    # A2C on the same network, rollouts and normalization; Adam at 1e-3 (A2C's own RMSprop
    # settings are tuned for the fully observed CartPole), entropy bonus 0.
    "a2c-lstm-sync": [
        "--algo",
        "a2c",
        "--set",
        "a2c.optimizer=adam",
        "--set",
        "a2c.lr=1e-3",
        "--set",
        "a2c.gamma=0.98",
        "--set",
        "a2c.gae_lambda=0.8",
        "--set",
        "a2c.entropy_coef=0.0",
    ],
}
DEFAULT_SEEDS = {"ppo-lstm-sync": [0, 1, 2]}  # the rest: seed 0


def best_mean(run_dir: Path) -> float | None:
    """The best last-20 mean the run's progress lines showed."""
    means = []
    for path in run_dir.glob("*/progress.jsonl"):
        for line in path.read_text().splitlines():
            value = json.loads(line).get("mean_return")
            if value is not None:
                means.append(float(value))
    return max(means) if means else None


def config_for(label: str, tmp: Path) -> str:
    """The example config, without its ppo section for another algorithm's variant."""
    variant = VARIANTS[label]
    if "--algo" not in variant or variant[variant.index("--algo") + 1] == "ppo":
        return CONFIG
    keys = yaml.safe_load((ROOT / CONFIG).read_text())
    keys.pop("ppo", None)
    path = tmp / f"{label}.yaml"
    path.write_text(yaml.safe_dump(keys))
    return str(path)


def run(label: str, seed: int, tmp: Path) -> dict[str, Any]:
    workdir = tmp / f"{label}-{seed}"
    args = ["--config", config_for(label, tmp), "--seed", str(seed), "--progress-interval", "30",
            *VARIANTS[label]]  # fmt: skip
    s = launch(args, workdir)
    return {"label": label, "seed": seed, "solved": bool(s["solved"]),
            "env_steps": s["env_steps"], "final_mean_return": s["final_mean_return"],
            "best_mean_return": best_mean(workdir / "run"), "wall_s": s["wall_s"]}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(VARIANTS), help="these variants")
    parser.add_argument("--seeds", nargs="+", type=int, help="seeds (default: per variant)")
    parser.add_argument("--results", help="append one JSON line per run here")
    parser.add_argument("--out", help="also write the final JSON document here")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="distrl-recurrent-") as tmp:
        for label in args.only or list(VARIANTS):
            for seed in args.seeds or DEFAULT_SEEDS.get(label, [0]):
                row = run(label, seed, Path(tmp))
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.results:
                    with open(ROOT / args.results, "a") as f:
                        f.write(json.dumps(row) + "\n")
    summary = {}
    for label in {r["label"] for r in rows}:
        runs = [r for r in rows if r["label"] == label]
        best = [r["best_mean_return"] or 0.0 for r in runs]
        summary[label] = {"solved": sum(r["solved"] for r in runs), "runs": len(runs),
                          "median_env_steps": median([r["env_steps"] for r in runs]),
                          "median_best_mean": median(best)}  # fmt: skip
    emit({"benchmark": "recurrent", "machine": machine(), "runs": rows, "summary": summary},
         args.out)  # fmt: skip


if __name__ == "__main__":
    main()
