"""Helpers shared by the benchmark scripts: machine description and medians."""

from __future__ import annotations

import json
import os
import platform
import statistics
from importlib import metadata
from typing import Any


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
