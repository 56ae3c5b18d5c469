"""Every benchmark in one command: runs, prints a table, writes JSON, regenerates BENCHMARKS.md.

    python -m benchmarks.run                         # everything (17 min on the 2-core machine)
    python -m benchmarks.run --parts solve peers     # some parts only
    python -m benchmarks.run --report-only           # re-render from the JSON already written
    python -m benchmarks.run --quick                 # 1 seed, few workers: checks the plumbing
    python -m benchmarks.run --parts solve peers --match ppo td3 --results DIR --markdown -

Parts (each writes ``<results>/<part>.json``):

- ``solve``: distrl time-to-solve through ``python -m distrl.launch``, one process per seed;
- ``peers``: Stable-Baselines3 A2C, DDPG, PPO and TD3 and RLlib PPO under the same stop rule
  (``benchmarks.peers``; a peer that is not installed is reported as skipped);
- ``throughput``, ``broadcast``, ``startup``: ``benchmarks.scaling``.

The report is the block between the two ``benchmarks.run`` markers in BENCHMARKS.md; the rest
of that file is left as written. Plots go next to the JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, launch, machine, median, python_env

BEGIN = "<!-- benchmarks.run: begin (generated; edit benchmarks/run.py, not this block) -->"
END = "<!-- benchmarks.run: end -->"
PARTS = ["solve", "peers", "throughput", "broadcast", "startup"]

# Name, env, launch arguments, training-time cap (s). Thresholds are the launch command's own
# (the env's reward_threshold, or the preset's stop_reward).
DISTRL_SCENARIOS: list[tuple[str, str, list[str], float]] = [
    ("distrl A2C sync", "CartPole-v1", ["--workers", "2", "--envs-per-worker", "16"], 120),
    (
        "distrl A2C sync overlap",
        "CartPole-v1",
        ["--workers", "2", "--envs-per-worker", "16", "--overlap", "true"],
        120,
    ),
    (
        "distrl A2C async",
        "CartPole-v1",
        ["--workers", "2", "--envs-per-worker", "16", "--mode", "async"],
        120,
    ),
    ("distrl DDPG sync", "Pendulum-v1", ["--workers", "2", "--preset", "pendulum-ddpg"], 120),
    ("distrl PPO sync", "CartPole-v1", ["--preset", "cartpole-ppo"], 120),
    ("distrl TD3 sync", "Pendulum-v1", ["--preset", "pendulum-td3"], 400),
    (
        "distrl DDPG sync",
        "MountainCarContinuous-v0",
        ["--workers", "2", "--preset", "mountaincar-ddpg"],
        400,
    ),
]
PEER_SCENARIOS: list[tuple[str, str]] = [
    ("sb3-a2c-cartpole", "CartPole-v1"),
    ("sb3-ddpg-pendulum", "Pendulum-v1"),
    ("sb3-ppo-cartpole", "CartPole-v1"),
    ("sb3-ppo-pendulum", "Pendulum-v1"),
    ("sb3-td3-pendulum", "Pendulum-v1"),
    ("rllib-ppo-cartpole", "CartPole-v1"),
]


def _python_m(python: str, module: str, *args: str, timeout: float) -> str:
    """Run ``python -m module args`` from the repo root; its stdout (stderr shown on failure)."""
    done = subprocess.run(
        [python, "-m", module, *args],
        cwd=ROOT,
        env=python_env(),
        text=True,
        capture_output=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _last_json(stdout: str) -> dict[str, Any]:
    """The last line of ``stdout`` that is a JSON object (Ray may print lines of its own)."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON document in the output")


def matches(text: str, match: list[str] | None) -> bool:
    """``--match``: keep the scenarios whose name (or peer id) contains one of these."""
    return match is None or any(m.lower() in text.lower() for m in match)


def run_solve(seeds: list[int], match: list[str] | None = None) -> dict[str, Any]:
    rows = []
    for name, env, launch_args, cap in DISTRL_SCENARIOS:
        if not matches(f"{name} {env}", match):
            continue
        runs = []
        for seed in seeds:
            args = [
                *launch_args,
                "--seed",
                str(seed),
                "--max-seconds",
                str(cap),
                "--progress-interval",
                "1000",
            ]
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(launch(args, Path(tmp), timeout=cap + 300))
            _progress(f"solve {name} {env} seed {seed}: {_brief(runs[-1])}")
        rows.append({"name": name, "env": env, "launch_args": launch_args, "runs": runs})
    return {"part": "solve", "rows": rows}


def run_peers(
    seeds: list[int], rllib_python: str | None, cap: float, match: list[str] | None = None
) -> dict[str, Any]:
    rows = []
    for peer, env in PEER_SCENARIOS:
        if not matches(f"{peer} {env}", match):
            continue
        python = rllib_python if peer.startswith("rllib") and rllib_python else sys.executable
        runs = []
        for seed in seeds:
            try:
                stdout = _python_m(
                    python,
                    "benchmarks.peers",
                    peer,
                    "--seed",
                    str(seed),
                    "--max-seconds",
                    str(cap),
                    timeout=cap + 300,
                )
                runs.append(_last_json(stdout))
            except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
                # A peer's own failure is reported, not fatal: the other peers' runs stay.
                last = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
                runs.append({"peer_id": peer, "seed": seed, "skipped": f"run failed: {last}"})
            _progress(f"peers {peer} seed {seed}: {_brief(runs[-1])}")
            if "skipped" in runs[-1]:
                break  # the same for every seed
        rows.append(
            {
                "name": runs[0].get("peer", peer),
                "peer_id": peer,
                "env": env,
                "python": python,
                "runs": runs,
            }
        )
    return {"part": "peers", "rows": rows}


def run_scaling(part: str, quick: bool, out: Path) -> dict[str, Any]:
    args = [part, "--out", str(out / f".{part}.tmp.json")]
    if quick:
        args += ["--workers", "1", "2", "--seconds", "1", "--repeats", "1", "--hidden", "64"]
    _python_m(sys.executable, "benchmarks.scaling", *args, timeout=1800)
    document = json.loads((out / f".{part}.tmp.json").read_text())
    (out / f".{part}.tmp.json").unlink()
    return document


def _brief(run: dict[str, Any]) -> str:
    if "skipped" in run:
        return f"skipped ({run['skipped']})"
    return (
        f"solved={run['solved']} wall {run['wall_s']} s, {run['env_steps']:,} steps, "
        f"final {run['final_mean_return']}"
    )


def _progress(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


# ---- report -------------------------------------------------------------------------------


def solve_stats(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over seeds; an unsolved run counts with its full (capped) wall time."""
    done = [r for r in runs if "skipped" not in r]
    if not done:
        return {"skipped": runs[0]["skipped"] if runs else "no runs"}
    return {
        "solved": f"{sum(bool(r['solved']) for r in done)}/{len(done)}",
        "wall_s": median([r["wall_s"] for r in done]),
        "env_steps": median([r["env_steps"] for r in done]),
        "steps_per_s": median([r["env_steps"] / r["wall_s"] for r in done if r["wall_s"] > 0]),
        "startup_s": median([r["startup_s"] for r in done]),
        "updates_per_s": median(
            [
                r["learner_updates"] / r["wall_s"]
                for r in done
                if "learner_updates" in r and r["wall_s"] > 0
            ]
        ),
        "all_solved": all(r["solved"] for r in done),
    }


def solve_table(results: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    rows = []
    for part in ("solve", "peers"):
        for row in results.get(part, {}).get("rows", []):
            rows.append({"name": row["name"], "env": row["env"], **solve_stats(row["runs"])})
    lines = [
        "| run | env | solved | median training wall | median env steps | env steps/s "
        "| learner updates/s | median startup |",
        "|" + " --- |" * 8,
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['name']} | {r['env']} | skipped: {r['skipped']} |" + " |" * 5)
            continue
        ups = "" if math.isnan(r["updates_per_s"]) else f"{r['updates_per_s']:.1f}"  # peers
        lines.append(
            f"| {r['name']} | {r['env']} | {r['solved']} | {r['wall_s']:.1f} s "
            f"| {r['env_steps']:,.0f} | {r['steps_per_s']:,.0f} | {ups} "
            f"| {r['startup_s']:.1f} s |"
        )
    return "\n".join(lines), rows


def peer_ratios(rows: list[dict[str, Any]]) -> list[str]:
    """Each distrl run's median wall and rate over each peer's with the same env and algorithm
    (the algorithm is the word after ``distrl`` and the peer name's last word); unsolved peers
    are named so."""
    ours = [r for r in rows if r["name"].startswith("distrl") and "skipped" not in r]
    lines = []
    for r in rows:
        if r["name"].startswith("distrl"):
            continue
        if "skipped" in r:
            if any(m["env"] == r["env"] for m in ours):
                lines.append(f"- {r['name']} on {r['env']}: not run ({r['skipped']}).")
            continue
        algo = r["name"].split()[-1].lower()
        mine = [m for m in ours if m["env"] == r["env"] and m["name"].split()[1].lower() == algo]
        caveat = "" if r["all_solved"] else f" ({r['name']} solved {r['solved']}; its cap counts)"
        for m in mine:
            wall = m["wall_s"] / r["wall_s"]
            rate = m["steps_per_s"] / r["steps_per_s"]
            steps = m["env_steps"] / r["env_steps"]
            lines.append(
                f"- {r['env']}: {m['name']} / {r['name']} training wall = **{wall:.2f}x**, "
                f"env steps/s = **{rate:.1f}x**, env steps = {steps:.2f}x{caveat}."
            )
    return lines


def throughput_table(doc: dict[str, Any]) -> str:
    lines = []
    for name, rows in doc.get("scenarios", {}).items():
        lines += [
            f"**{name}** ({rows[0]['envs_per_worker']} envs per worker)",
            "",
            "| workers | env steps/s | worker PSS (median) | learner PSS | total PSS "
            "| group start |",
            "|" + " --- |" * 6,
        ]
        for r in rows:
            lines.append(
                f"| {r['workers']} | {r['steps_per_s']:,.0f} | {r['worker_pss_mib']:.0f} MiB "
                f"| {r['learner_pss_mib']:.0f} MiB | {r['total_pss_mib']:,.0f} MiB "
                f"| {r['group_start_s']:.1f} s |"
            )
        lines.append("")
    return "\n".join(lines)


def broadcast_table(doc: dict[str, Any]) -> str:
    rows = doc.get("rows", [])
    sizes = sorted({(r["hidden"], r["weights_mib"]) for r in rows})
    counts = sorted({r["workers"] for r in rows})
    lines = [
        "| weights | " + " | ".join(f"{k} worker{'s' * (k > 1)}" for k in counts) + " |",
        "|" + " --- |" * (len(counts) + 1),
    ]
    for hidden, mib in sizes:
        cells = {r["workers"]: r["median_ms"] for r in rows if r["hidden"] == hidden}
        lines.append(
            f"| MLP {hidden}x{hidden}, {mib:.2f} MiB | "
            + " | ".join(f"{cells[k]:.1f} ms" for k in counts)
            + " |"
        )
    return "\n".join(lines)


def plots(results: dict[str, Any], rows: list[dict[str, Any]], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    solved = [r for r in rows if "skipped" not in r]
    if solved:
        envs = sorted({r["env"] for r in solved})
        fig, axes = plt.subplots(1, len(envs), figsize=(4 * len(envs), 3.5), squeeze=False)
        for ax, env in zip(axes[0], envs, strict=True):
            mine = [r for r in solved if r["env"] == env]
            colors = ["tab:blue" if r["name"].startswith("distrl") else "tab:gray" for r in mine]
            ax.bar(range(len(mine)), [r["wall_s"] for r in mine], color=colors)
            ax.set_xticks(
                range(len(mine)), [r["name"].replace(" ", "\n", 1) for r in mine], fontsize=7
            )
            ax.set_title(env, fontsize=9)
            ax.set_ylabel("median training wall (s)")
        fig.tight_layout()
        fig.savefig(out / "time_to_solve.png", dpi=110)
        plt.close(fig)
        made.append("time_to_solve.png")
    scenarios = results.get("throughput", {}).get("scenarios", {})
    if scenarios:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for name, srows in scenarios.items():
            ax.plot(
                [r["workers"] for r in srows], [r["steps_per_s"] for r in srows], "o-", label=name
            )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("rollout workers")
        ax.set_ylabel("env steps/s (no learning)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "scaling.png", dpi=110)
        plt.close(fig)
        made.append("scaling.png")
    return made


def render(results: dict[str, Any], out: Path, *, draw: bool = True) -> str:
    """The generated block of BENCHMARKS.md (markers included) from the parts' JSON."""
    table, rows = solve_table(results)
    where = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    m = results.get("machine") or machine()
    lines = [
        BEGIN,
        "",
        "## Benchmark suite (`python -m benchmarks.run`)",
        "",
        f"Machine: {m['cpus']} cores, {m['memory_gib']} GiB, GPU: "
        f"{m.get('gpu') or 'none'}; Python {m['python']}, Ray {m['ray']}, "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, gymnasium {m['gymnasium']}"
        + "".join(f", {k} {v}" for k, v in m.get("peers", {}).items())
        + f". Generated {results.get('generated', '?')}; raw JSON in `{where}/`.",
        "",
    ]
    if rows:
        lines += [
            "### Time to solve",
            "",
            "Stop rule for every run: the mean return of the last 20 finished training "
            "episodes reaches the threshold (CartPole-v1 475, Pendulum-v1 -200, "
            "MountainCarContinuous-v0 90). Training wall runs from the first env step. "
            "Medians over seeds; an unsolved run counts with its capped time.",
            "",
            table,
            "",
            *peer_ratios(rows),
            "",
        ]
    if "throughput" in results:
        lines += [
            "### Sampling throughput and memory against workers",
            "",
            "No learning: every worker keeps one sample request in flight. PSS from "
            "/proc/PID/smaps_rollup after the timed windows; total is the driver's whole "
            "process tree (Ray's own processes included).",
            "",
            throughput_table(results["throughput"]),
        ]
    if "broadcast" in results:
        lines += [
            "### Weight broadcast",
            "",
            "From `ray.put` of a weights message until every one of k workers has loaded "
            "it into its policy (median of "
            f"{results['broadcast'].get('repeats', '?')}).",
            "",
            broadcast_table(results["broadcast"]),
            "",
        ]
    if "startup" in results:
        s = results["startup"]
        runs = ", ".join(f"{r['startup_s']:.1f}" for r in s["runs"])
        lines += [
            "### Startup",
            "",
            f"`python -m distrl.launch --workers {s['workers']}`: median "
            f"**{s['median_startup_s']:.1f} s** from process start until Ray, the "
            f"learner and all workers are up (runs: {runs} s).",
            "",
        ]
    if draw:
        lines += [f"![{name}]({where}/{name})" for name in plots(results, rows, out)] + [""]
    return "\n".join([*lines, END])


def replace_block(document: str, block: str) -> str:
    """``document`` with the generated block swapped in (appended when it has none yet)."""
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        return head + block + rest.split(END, 1)[1]
    return document.rstrip("\n") + "\n\n" + block + "\n"


def load_results(out: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for part in PARTS:
        path = out / f"{part}.json"
        if path.exists():
            results[part] = json.loads(path.read_text())
    meta = out / "meta.json"
    if meta.exists():
        results.update(json.loads(meta.read_text()))
    return results


def _rllib_version(python: str) -> str | None:
    """``"<ray> (torch <torch>)"`` from ``python``, or None when it cannot import them."""
    code = "import ray, torch; print(ray.__version__, torch.__version__)"
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
    except OSError:  # not there, not executable
        return None
    words = done.stdout.split()
    return f"{words[0]} (torch {words[1]})" if done.returncode == 0 and len(words) == 2 else None


def _peer_versions(rllib: str | None) -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in ("stable-baselines3", "torch"):
        with contextlib.suppress(metadata.PackageNotFoundError):  # a peer not installed
            versions[name] = metadata.version(name)
    if rllib:
        versions["RLlib"] = rllib
    return versions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=PARTS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 seed, workers 1 and 2, short windows: checks the plumbing",
    )
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "suite")
    parser.add_argument(
        "--markdown",
        type=Path,
        default=ROOT / "BENCHMARKS.md",
        help="file whose generated block is rewritten ('-' to skip)",
    )
    parser.add_argument(
        "--rllib-python",
        help="interpreter of a venv with ray[rllib] and torch "
        "(RLlib pins another gymnasium than distrl); default: this one",
    )
    parser.add_argument("--peer-max-seconds", type=float, default=300.0)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--match",
        nargs="+",
        metavar="TEXT",
        help="solve and peers: only the scenarios whose name or peer id contains one of these "
        "(e.g. --match ppo td3, with --results elsewhere and --markdown -)",
    )
    args = parser.parse_args(argv)
    # Bad input stops here, before any part has run, with argparse's one-line error (exit 2).
    rllib = None
    if args.rllib_python and not args.report_only:
        rllib = _rllib_version(args.rllib_python)
        if rllib is None:
            parser.error(f"--rllib-python {args.rllib_python}: cannot import ray and torch")
    if str(args.markdown) != "-" and not args.markdown.is_file():
        parser.error(f"--markdown {args.markdown}: no such file ('-' writes none)")
    if args.peer_max_seconds <= 0:
        parser.error(f"--peer-max-seconds must be > 0; got {args.peer_max_seconds}")
    seeds = args.seeds[:1] if args.quick else args.seeds
    out = args.results.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        meta = {
            "machine": {**machine(), "peers": _peer_versions(rllib)},
            "generated": time.strftime("%Y-%m-%d"),
            "seeds": seeds,
            "quick": args.quick,
        }
        (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        for part in args.parts:
            _progress(f"part {part}")
            if part == "solve":
                document = run_solve(seeds, args.match)
            elif part == "peers":
                document = run_peers(seeds, args.rllib_python, args.peer_max_seconds, args.match)
            else:
                document = run_scaling(part, args.quick, out)
            (out / f"{part}.json").write_text(json.dumps(document, indent=2) + "\n")
    results = load_results(out)
    block = render(results, out)
    print(block)
    if str(args.markdown) != "-":
        args.markdown.write_text(replace_block(args.markdown.read_text(), block))


if __name__ == "__main__":
    main()
