"""Live progress on a terminal (rich), plain periodic lines elsewhere, and a JSONL log."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from distrl.ops.tracking import TrainingProgress


def progress_row(state: TrainingProgress) -> dict[str, Any]:
    row: dict[str, Any] = {
        "time_s": round(state.elapsed, 3),
        "env_steps": state.env_steps,
        "steps_per_s": round(state.steps_per_s, 1),
        "mean_return": state.mean_return,
        "episodes": state.episodes,
        "updates": state.updates,
        "weights_version": state.version,
    }
    row.update({k: round(v, 6) for k, v in state.metrics.items()})
    return row


def _status_text(state: TrainingProgress) -> str:
    ret = "-" if state.mean_return is None else f"{state.mean_return:.1f}"
    return (
        f"steps {state.env_steps:,} | {state.steps_per_s:,.0f} steps/s | return {ret} | "
        f"updates {state.updates:,} | version {state.version}"
    )


class ProgressReporter:
    """Shows progress: a live line when stdout is a terminal, else a plain line every
    ``interval`` seconds. Every report also appends a JSON row to ``log_path``."""

    def __init__(
        self,
        *,
        interval: float,
        log_path: Path | None,
        total_steps: int | None = None,
        stream: IO[str] | None = None,
    ) -> None:
        self.interval = interval
        self.stream = stream or sys.stdout
        self.log = log_path.open("a") if log_path is not None else None
        self._last = 0.0
        self._live: Progress | None = None
        if self.stream.isatty():
            self._live = Progress(  # percentage and ETA of the env-step budget, if there is one
                SpinnerColumn(),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._task = self._live.add_task("train", total=total_steps, status="starting")
            self._live.start()

    def __call__(self, state: TrainingProgress) -> None:
        if self._live is not None:
            self._live.update(self._task, completed=state.env_steps, status=_status_text(state))
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            if self._live is None:
                print(
                    f"[{state.elapsed:7.1f}s] {_status_text(state)}", file=self.stream, flush=True
                )
            if self.log is not None:
                self.log.write(json.dumps(progress_row(state)) + "\n")
                self.log.flush()

    def write_eval(self, state: TrainingProgress, returns: Any) -> None:
        """An evaluation's result as its own row (``eval/*`` beside the training counters)."""
        if self.log is not None:
            row = {**progress_row(state), "eval/mean_return": round(float(returns.mean()), 6),
                   "eval/std_return": round(float(returns.std()), 6),
                   "eval/episodes": len(returns)}  # fmt: skip
            self.log.write(json.dumps(row) + "\n")
            self.log.flush()

    def close(self, state: TrainingProgress | None = None) -> None:
        if state is not None and self.log is not None:
            self.log.write(json.dumps(progress_row(state)) + "\n")
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self.log is not None:
            self.log.close()
            self.log = None


def configure_cli_logging() -> None:
    """The commands' logging: informational lines (the header, where the run lives, the final
    summary) go to stdout with the progress lines; warnings and errors to stderr, so that a
    failed run's stderr is its warnings and one error line."""
    import logging
    import sys

    info = logging.StreamHandler(sys.stdout)
    info.addFilter(lambda record: record.levelno < logging.WARNING)
    problems = logging.StreamHandler(sys.stderr)
    problems.setLevel(logging.WARNING)
    for handler in (info, problems):
        handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[info, problems])
