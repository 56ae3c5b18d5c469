"""Run metrics on disk: TensorBoard event files and one JSON row per finished episode.

TensorBoard's own event writer and protos are used directly, so the driver still never imports
TensorFlow. Tags are namespaced as elsewhere: ``charts/...`` for returns and throughput,
``learner/...`` and ``timing/...`` as the learner reports them. The x axis is env steps.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from distrl.ops.tracking import TrainingState

EPISODES_FILE = "episodes.jsonl"


class MetricsLogger:
    """Call after every update: episodes are written as they finish, scalars at most every
    ``interval`` seconds (and at :meth:`close`)."""

    def __init__(self, logdir: str | Path, *, interval: float) -> None:
        self.logdir = Path(logdir)
        self.interval = interval
        self.events = EventFileWriter(str(self.logdir))
        self.episodes = (self.logdir / EPISODES_FILE).open("a")
        self._last = 0.0

    def __call__(self, state: TrainingState) -> None:
        result = state.last
        if result is not None and len(result.episode_returns):
            self._write_episodes(state)
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self.write_scalars(state)

    def _write_episodes(self, state: TrainingState) -> None:
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

    def write_scalars(self, state: TrainingState) -> None:
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

    def close(self, state: TrainingState | None = None) -> None:
        if state is not None:
            self.write_scalars(state)
        self.events.close()
        self.episodes.close()


def _value(tag: str, value: float) -> Summary.Value:
    return Summary.Value(tag=tag, simple_value=float(value))
