"""Run metrics on disk: TensorBoard event files and one JSON row per finished episode.

TensorBoard's own record format writer and protos are used directly on a plain file: its
``EventFileWriter`` opens files through ``tf.io.gfile``, which imports all of TensorFlow into the
driver (3-5 s and about 570 MiB on the 2-core machine) only to write a few scalars.

Tags are namespaced as elsewhere: ``charts/...`` for returns and throughput,
``learner/...`` and ``timing/...`` as the learner reports them. The x axis is env steps.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import time
from pathlib import Path

import numpy as np
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.record_writer import RecordWriter

from distrl.ops.tracking import TrainingProgress

EPISODES_FILE = "episodes.jsonl"
_files = itertools.count()  # two writers in one second in one process get distinct names


class EventFile:
    """One TensorBoard event file (``events.out.tfevents.*``), written synchronously."""

    def __init__(self, logdir: Path) -> None:
        logdir.mkdir(parents=True, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_files)}")  # fmt: skip
        self.path = logdir / name
        self._records = RecordWriter(self.path.open("wb"))
        self.add_event(Event(wall_time=time.time(), file_version="brain.Event:2"))
        self.flush()

    def add_event(self, event: Event) -> None:
        self._records.write(event.SerializeToString())

    def flush(self) -> None:
        self._records.flush()

    def close(self) -> None:
        if not self._records.closed:
            self._records.close()


class MetricsLogger:
    """Call after every update: episodes are written as they finish, scalars at most every
    ``interval`` seconds (and at :meth:`close`)."""

    def __init__(self, logdir: str | Path, *, interval: float) -> None:
        self.logdir = Path(logdir)
        self.interval = interval
        self.events = EventFile(self.logdir)
        self.episodes = (self.logdir / EPISODES_FILE).open("a")
        self._last = 0.0

    def __call__(self, state: TrainingProgress) -> None:
        result = state.last
        if result is not None and len(result.episode_returns):
            self._write_episodes(state)
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self.write_scalars(state)

    def _write_episodes(self, state: TrainingProgress) -> None:
        assert state.last is not None
        r = state.last
        values = []
        for ret, length, worker in zip(
            r.episode_returns, r.episode_lengths, r.episode_workers, strict=True
        ):
            row = {
                "time_s": round(state.elapsed, 3),
                "env_step": state.env_steps,
                "worker": int(worker),
                "return": float(ret),  # raw: no clipping or scaling
                "length": int(length),
            }
            self.episodes.write(json.dumps(row) + "\n")
            values += [
                _value("charts/episode_return", ret),
                _value("charts/episode_length", length),
            ]
        self.episodes.flush()
        self._add(state.env_steps, values)

    def write_scalars(self, state: TrainingProgress) -> None:
        values = [
            _value("charts/steps_per_s", state.steps_per_s),
            _value("charts/updates", state.updates),
            _value("charts/episodes", state.episodes),
            _value("charts/weights_version", state.version),
        ]
        if state.mean_return is not None:
            values.append(_value("charts/mean_return_20", state.mean_return))
        values += [_value(k, v) for k, v in state.metrics.items()]
        self._add(state.env_steps, values)
        self.events.flush()

    def write_eval(self, step: int, returns: np.ndarray) -> None:
        """Evaluation returns, under ``eval/`` so they never mix with training returns."""
        values = [
            _value("eval/mean_return", float(returns.mean())),
            _value("eval/std_return", float(returns.std())),
        ]
        self._add(step, values)
        self.events.flush()

    def _add(self, step: int, values: list[Summary.Value]) -> None:
        self.events.add_event(
            Event(wall_time=time.time(), step=step, summary=Summary(value=values))
        )

    def close(self, state: TrainingProgress | None = None) -> None:
        if state is not None:
            self.write_scalars(state)
        self.events.close()
        self.episodes.close()


def _value(tag: str, value: float) -> Summary.Value:
    return Summary.Value(tag=tag, simple_value=float(value))
