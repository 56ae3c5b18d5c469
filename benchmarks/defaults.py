"""Defaults on envs no preset covers: distrl and Stable-Baselines3, each with its own defaults.

For each (algorithm, env, env-step budget) of the matrix and each seed, one process trains
``python -m distrl.launch --algo A --env E --workers 2`` with nothing else set (no preset, no
early stop), and one trains Stable-Baselines3's same algorithm with its own defaults
(``ALGO("MlpPolicy", env)``, one env, ``learn(budget)``). Both report the mean return of the last
20 finished training episodes at the end of the budget (equal env steps) and the training wall
time. One JSON line per run goes to ``--results`` as it finishes (a stopped benchmark keeps what
it measured); the final document holds every run and the medians per cell::

    python -m benchmarks.defaults --seeds 0 1 2 --results benchmarks/results/defaults.jsonl
    python -m benchmarks.defaults --only ppo:Acrobot-v1 --seeds 0      # one cell
    python -m benchmarks.defaults --table benchmarks/results/defaults.jsonl   # Markdown table

An ablation changes one thing of distrl's run and labels it (``--variant``), to measure the
cause of a gap; its rows stay out of the defaults' medians and get a table of their own::

    python -m benchmarks.defaults --only dqn:Acrobot-v1 --libraries distrl \
        --variant relu --distrl-args "--set model.activation=relu" --results ...

An ablation may instead change Stable-Baselines3's run toward distrl's (``--sb3-kwargs``, a JSON
object of keyword arguments for the SB3 algorithm's constructor)::

    python -m benchmarks.defaults --only ddpg:InvertedPendulum-v5 --libraries sb3 \
        --variant sb3-starts-256 --sb3-kwargs '{"learning_starts": 256}' --results ...

Needs the peers extra (``pip install -e .[peers]``) and gymnasium's ``box2d`` and ``mujoco``
extras; a cell whose env or peer cannot be made is reported as skipped, never faked.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, launch, machine, median, python_env

WINDOW = 20  # episodes in the reported mean, as distrl's summary and stop rule
WORKERS = 2
# (algorithm, env, env steps): classic control, Box2D and MuJoCo; none has a preset.
MATRIX: list[tuple[str, str, int]] = [
    ("a2c", "Acrobot-v1", 100_000),
    ("ppo", "Acrobot-v1", 100_000),
    ("a2c", "LunarLander-v3", 150_000),
    ("ppo", "LunarLander-v3", 150_000),
    ("a2c", "InvertedPendulum-v5", 50_000),
    ("ppo", "InvertedPendulum-v5", 50_000),
    ("ddpg", "InvertedPendulum-v5", 10_000),
    ("td3", "InvertedPendulum-v5", 10_000),
    ("td3", "Reacher-v5", 10_000),
    ("dqn", "Acrobot-v1", 50_000),
    ("sac", "InvertedPendulum-v5", 10_000),
]
SB3_CLASSES = {"a2c": "A2C", "ppo": "PPO", "ddpg": "DDPG", "td3": "TD3", "dqn": "DQN", "sac": "SAC"}


def run_distrl(
    algo: str, env: str, steps: int, seed: int, tmp: Path, extra: list[str] = ()
) -> dict[str, Any]:
    args = ["--algo", algo, "--env", env, "--workers", str(WORKERS), "--seed", str(seed),
            "--max-steps", str(steps), "--stop-reward", "1e12",
            "--progress-interval", "1000", *extra]  # fmt: skip
    s = launch(args, tmp / f"{algo}-{env}-{seed}")
    return {"env_steps": s["env_steps"], "wall_s": s["wall_s"], "startup_s": s["startup_s"],
            "final_mean_return": s["final_mean_return"], "episodes": s["episodes"]}  # fmt: skip


def run_sb3(
    algo: str, env: str, steps: int, seed: int, kwargs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One SB3 run in this process (called through ``--sb3`` in a process of its own);
    ``kwargs`` go to the algorithm's constructor (an ablation's changes)."""
    import stable_baselines3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    returns: list[float] = []

    class Episodes(BaseCallback):
        def _on_step(self) -> bool:
            returns.extend(float(i["episode"]["r"]) for i in self.locals["infos"] if "episode" in i)
            return True

    model = getattr(stable_baselines3, SB3_CLASSES[algo])(
        "MlpPolicy",
        make_vec_env(env, n_envs=1, seed=seed),
        seed=seed,
        device="cpu",
        **(kwargs or {}),
    )
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=Episodes())
    last = returns[-WINDOW:]
    return {"env_steps": int(model.num_timesteps), "wall_s": round(time.perf_counter() - start, 2),
            "final_mean_return": sum(last) / len(last) if last else None,
            "episodes": len(returns), "version": stable_baselines3.__version__}  # fmt: skip


def sb3_process(
    algo: str, env: str, steps: int, seed: int, kwargs: dict[str, Any] | None = None
) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.defaults", "--sb3", algo, env, str(steps), str(seed),
           "--sb3-kwargs", json.dumps(kwargs or {})]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=python_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"SB3 {algo} {env} exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cells(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians per (algorithm, env, library), distrl beside SB3."""
    out = []
    for algo, env, steps in MATRIX:
        cell: dict[str, Any] = {"algo": algo, "env": env, "env_steps": steps}
        for lib in ("distrl", "sb3"):
            runs = [r for r in rows if (r["algo"], r["env"], r["library"]) == (algo, env, lib)
                    and r.get("variant") is None]  # fmt: skip
            done = [r for r in runs if r.get("final_mean_return") is not None]
            if done:
                returns = [r["final_mean_return"] for r in done]
                walls = [r["wall_s"] for r in done]
                cell[lib] = {"median_return": round(median(returns), 1),
                             "returns": [round(r, 1) for r in returns],
                             "median_wall_s": round(median(walls), 1)}  # fmt: skip
        if "distrl" in cell and "sb3" in cell:
            cell["met"] = cell["distrl"]["median_return"] >= cell["sb3"]["median_return"]
        out.append(cell)
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| algo | env | env steps | distrl median (seeds) | SB3 median (seeds) | "
             "distrl / SB3 training wall | at least SB3 |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for c in cells(rows):
        d, s = c.get("distrl"), c.get("sb3")
        if d is None or s is None:
            lines.append(f"| {c['algo']} | {c['env']} | {c['env_steps']:,} | not run | | | |")
            continue
        met = "yes" if c["met"] else "**NOT MET**"
        lines.append(
            f"| {c['algo']} | {c['env']} | {c['env_steps']:,} | {d['median_return']} "
            f"({', '.join(map(str, d['returns']))}) | {s['median_return']} "
            f"({', '.join(map(str, s['returns']))}) | {d['median_wall_s']} s / "
            f"{s['median_wall_s']} s | {met} |"
        )
    return "\n".join(lines)


def ablations(rows: list[dict[str, Any]]) -> str:
    """The labelled variants' medians, beside the defaults' cell."""
    lines = ["| algo | env | variant | changed | median (seeds) |",
             "| --- | --- | --- | --- | --- |"]  # fmt: skip
    seen: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("variant") is not None and r.get("final_mean_return") is not None:
            key = (r["algo"], r["env"], r["variant"], r["library"])
            seen.setdefault(key, []).append(r)
    for (algo, env, variant, library), runs in seen.items():
        returns = [round(r["final_mean_return"], 1) for r in runs]
        changed = (f"distrl: `{runs[0]['distrl_args']}`" if library == "distrl"
                   else f"SB3: `{json.dumps(runs[0].get('sb3_kwargs', {}))}`")  # fmt: skip
        lines.append(f"| {algo} | {env} | {variant} | {changed} | "
                     f"{round(median(returns), 1)} ({', '.join(map(str, returns))}) |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", default=None, help="cells as ALGO:ENV")
    parser.add_argument("--libraries", nargs="+", default=["distrl", "sb3"])
    parser.add_argument("--results", default=None, help="append one JSON line per run here")
    parser.add_argument("--sb3", nargs=4, metavar=("ALGO", "ENV", "STEPS", "SEED"), default=None)
    parser.add_argument("--table", default=None, help="print the Markdown table of a results file")
    parser.add_argument("--variant", default=None, help="label of an ablation of distrl's runs")
    parser.add_argument("--distrl-args", default="", help="launch arguments the variant adds")
    parser.add_argument(
        "--sb3-kwargs", default="{}", help="JSON object of SB3 arguments the variant changes"
    )
    args = parser.parse_args(argv)
    extra = shlex.split(args.distrl_args)
    try:
        sb3_kwargs = json.loads(args.sb3_kwargs)
    except json.JSONDecodeError as e:
        parser.error(f"--sb3-kwargs is not JSON: {e}")
    if not isinstance(sb3_kwargs, dict):
        parser.error("--sb3-kwargs must be a JSON object")
    if (extra or sb3_kwargs) and not (args.variant or args.sb3):  # out of the defaults' cells
        parser.error("--distrl-args and --sb3-kwargs change a run: label it with --variant")
    if args.sb3:
        algo, env, steps, seed = args.sb3
        print(json.dumps(run_sb3(algo, env, int(steps), int(seed), sb3_kwargs)))
        return
    if args.table:
        rows = [json.loads(line) for line in Path(args.table).read_text().splitlines() if line]
        print(markdown(rows))
        if any(r.get("variant") for r in rows):
            print("\n" + ablations(rows))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for algo, env, steps in MATRIX:
            if args.only and f"{algo}:{env}" not in args.only:
                continue
            for seed in args.seeds:
                for lib in args.libraries:
                    row = {"algo": algo, "env": env, "seed": seed, "library": lib}
                    if args.variant and lib == "distrl":
                        row.update(variant=args.variant, distrl_args=args.distrl_args)
                    if args.variant and lib == "sb3":
                        row.update(variant=args.variant, sb3_kwargs=sb3_kwargs)
                    try:
                        run = run_distrl(algo, env, steps, seed, Path(tmp), extra) \
                            if lib == "distrl" \
                            else sb3_process(algo, env, steps, seed, sb3_kwargs)  # fmt: skip
                    except RuntimeError as e:
                        said = [line for line in str(e).splitlines() if line.strip()]
                        run = {"skipped": (said[-1] if said else type(e).__name__)[:300]}
                    rows.append({**row, **run})
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
                    if args.results:
                        with open(args.results, "a") as f:
                            f.write(json.dumps(rows[-1]) + "\n")
    print(json.dumps({"benchmark": "defaults", "machine": machine(), "workers": WORKERS,
                      "runs": rows, "cells": cells(rows)}))  # fmt: skip


if __name__ == "__main__":
    main()
