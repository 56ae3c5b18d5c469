"""The end-of-run summary written by ``--json-summary``."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunSummary:
    algo: str
    env: str
    mode: str
    workers: int
    envs_per_worker: int
    seed: int
    solved: bool
    # solved, max_steps, max_seconds, stopped, interrupted, worker_failures, learner_failures,
    # nonfinite or error
    stop_reason: str
    env_steps: int
    learner_updates: int
    episodes: int
    startup_s: float  # launch until the first fragment was requested (workers and learner up)
    wall_s: float  # from then until the stop
    steps_per_s: float
    final_mean_return: float | None  # mean return of the last 20 finished training episodes
    worker_restarts: int = 0  # rollout workers recreated after they died
    learner_restarts: int = 0  # learner restarts from the newest checkpoint
    worker_nodes: int = 1  # Ray nodes the rollout workers started on
    run_dir: str = ""  # the run's folder: <logdir>/<run_name>

    def to_json(self) -> str:
        """The summary as an indented JSON object (what ``logging.json_summary`` writes)."""
        return json.dumps(asdict(self), indent=2)


def write_summary(summary: RunSummary, path: str | Path) -> None:
    """Write atomically: a reader never sees half a file, an old file is never left truncated."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(summary.to_json() + "\n")
    os.replace(tmp, target)
