"""Pong with learning on: distrl's presets (float32 and mixed bfloat16) beside
Stable-Baselines3 with rl-zoo's Atari settings, agent steps/s, alternating windows.

Each arm trains for ``--seconds`` of training (startup not counted) in a process of its own:

- ``pong-a2c`` / ``pong-a2c-bf16``: ``python -m distrl.launch --preset pong-a2c`` (2 Ray
  workers), the second with ``--set model.precision=mixed_bfloat16``;
- ``pong-ppo`` / ``pong-ppo-bf16``: the same with ``--preset pong-ppo``;
- ``pong-a2c-bf16-overlap`` / ``pong-ppo-bf16-overlap``: bfloat16 with ``--overlap true`` (the
  workers act on the next batch while the learner updates; the learner corrects the one
  version of lag with V-trace);
- ``sb3-a2c`` / ``sb3-ppo``: ``python -m benchmarks.peers sb3-a2c-pong`` / ``sb3-ppo-pong``
  (one process, DummyVecEnv, PyTorch on the CPU).

The arms run one after another, round after round (``--repeats``), so that every arm sees the
same machine; the JSON document has each arm's agent steps/s per window, their medians, and the
ratios ``pong-a2c / sb3-a2c``, ``pong-ppo / sb3-ppo`` and bfloat16 over float32.

    python -m benchmarks.pong_peers --seconds 240 --repeats 3 --out F.json
    python -m benchmarks.pong_peers --arms pong-ppo sb3-ppo --seconds 120 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, emit, launch, machine, median, python_env

BF16 = ["--set", "model.precision=mixed_bfloat16"]
OVERLAP = ["--overlap", "true"]
ARMS: dict[str, tuple[str, list[str]]] = {  # name: (kind, arguments)
    "pong-a2c": ("distrl", ["--preset", "pong-a2c"]),
    "pong-a2c-bf16": ("distrl", ["--preset", "pong-a2c", *BF16]),
    "pong-a2c-bf16-overlap": ("distrl", ["--preset", "pong-a2c", *BF16, *OVERLAP]),
    "sb3-a2c": ("peer", ["sb3-a2c-pong"]),
    "pong-ppo": ("distrl", ["--preset", "pong-ppo"]),
    "pong-ppo-bf16": ("distrl", ["--preset", "pong-ppo", *BF16]),
    "pong-ppo-bf16-overlap": ("distrl", ["--preset", "pong-ppo", *BF16, *OVERLAP]),
    "sb3-ppo": ("peer", ["sb3-ppo-pong"]),
}
RATIOS = {
    "pong-a2c/sb3-a2c": ("pong-a2c", "sb3-a2c"),
    "pong-a2c-bf16/sb3-a2c": ("pong-a2c-bf16", "sb3-a2c"),
    "pong-ppo/sb3-ppo": ("pong-ppo", "sb3-ppo"),
    "pong-ppo-bf16/sb3-ppo": ("pong-ppo-bf16", "sb3-ppo"),
    "pong-a2c-bf16-overlap/sb3-a2c": ("pong-a2c-bf16-overlap", "sb3-a2c"),
    "pong-ppo-bf16-overlap/sb3-ppo": ("pong-ppo-bf16-overlap", "sb3-ppo"),
    "pong-a2c-bf16/pong-a2c": ("pong-a2c-bf16", "pong-a2c"),
    "pong-ppo-bf16/pong-ppo": ("pong-ppo-bf16", "pong-ppo"),
}


def window(name: str, seconds: float, seed: int, workdir: Path) -> float:
    """One window of arm ``name``: its agent steps/s over ``seconds`` of training."""
    kind, args = ARMS[name]
    if kind == "distrl":
        summary = launch([*args, "--max-seconds", str(seconds), "--seed", str(seed)],
                         workdir / name, timeout=seconds + 600)  # fmt: skip
        return summary["env_steps"] / summary["wall_s"]
    cmd = [sys.executable, "-m", "benchmarks.peers", *args, "--seed", str(seed),
           "--max-seconds", str(seconds)]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=python_env(), capture_output=True, text=True,
                          timeout=seconds + 600, check=True)  # fmt: skip
    document = json.loads(done.stdout.strip().splitlines()[-1])
    if "skipped" in document:
        raise SystemExit(f"{name}: {document['skipped']}")
    return document["env_steps"] / document["wall_s"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--seconds", type=float, default=240.0, help="training per window")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the JSON document to this file")
    args = parser.parse_args(argv)
    rates: dict[str, list[float]] = {name: [] for name in args.arms}
    with tempfile.TemporaryDirectory(prefix="distrl-pong-peers-") as tmp:
        for round_ in range(args.repeats):
            for name in args.arms:
                rate = window(name, args.seconds, args.seed, Path(tmp) / str(round_))
                rates[name].append(rate)
                print(f"round {round_ + 1}: {name} {rate:.1f} agent steps/s", file=sys.stderr)
    medians = {name: median(r) for name, r in rates.items()}
    ratios: dict[str, Any] = {
        key: medians[a] / medians[b]
        for key, (a, b) in RATIOS.items()
        if a in medians and b in medians
    }
    emit({"benchmark": "pong_peers", "machine": machine(), "seconds": args.seconds,
          "repeats": args.repeats, "steps_per_s": rates, "median_steps_per_s": medians,
          "ratios": ratios}, args.out)  # fmt: skip


if __name__ == "__main__":
    main()
