"""Helpers shared by the benchmark scripts: machine description, medians, running launch."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def gpu_name() -> str | None:
    """The first NVIDIA GPU's name as ``nvidia-smi`` reports it, or None without one."""
    if shutil.which("nvidia-smi") is None:
        return None
    query = ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]
    done = subprocess.run(query, capture_output=True, text=True, check=False)
    names = done.stdout.strip().splitlines() if done.returncode == 0 else []
    return names[0] if names else None


def machine() -> dict[str, Any]:
    mem_gib = None
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        mem_gib = round(kib / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    versions = {p: metadata.version(p) for p in ("ray", "tensorflow", "keras", "gymnasium")}
    return {
        "cpus": os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gpu": gpu_name(),
        **versions,
    }


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def emit(document: dict[str, Any], out: str | None) -> None:
    """Print the JSON document; also write it to ``out`` (Ray may print to stdout too)."""
    text = json.dumps(document, indent=2)
    print(text)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")


def python_env() -> dict[str, str]:
    """This process's environment with the repository first on PYTHONPATH, for subprocesses
    (and the Ray workers they start) that must import this checkout's ``distrl``."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def launch(args: Sequence[str], workdir: Path, timeout: float | None = None) -> dict[str, Any]:
    """Run ``python -m distrl.launch ARGS`` as users do (a process of its own, its own Ray) with
    its logs under ``workdir``; its JSON summary. A failed run raises with its stderr's tail."""
    workdir.mkdir(parents=True, exist_ok=True)
    summary = workdir / "summary.json"
    cmd = [
        sys.executable,
        "-m",
        "distrl.launch",
        *args,
        "--logdir",
        str(workdir / "run"),
        "--json-summary",
        str(summary),
    ]
    done = subprocess.run(
        cmd, cwd=ROOT, env=python_env(), capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"distrl.launch {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return json.loads(summary.read_text())


def served_run(config):
    """What the gRPC service knows of a run with ``config`` (as the Trainer makes it)."""
    from distrl.agents import registry
    from distrl.service.server import ServedRun

    return ServedRun(
        registry.get(config.algo), config.algorithm_sections(), config.rollout_len, config.seed
    )


def learner_for(config, spec, seed: int = 0):
    """The learner ``config.algo`` builds, in this process, as the runtime makes it."""
    from distrl.agents import make_learner

    return make_learner(
        algorithm=config.algo, sections=config.algorithm_sections(), spec=spec, seed=seed
    )
