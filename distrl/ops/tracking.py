"""Counters of a run and the rule that decides when it stops (no framework imports)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from distrl.types import UpdateResult

RETURN_WINDOW = 20  # episodes in the "mean return" used for stopping and reporting


class StopRequested(Exception):
    """Someone asked the run to end (the service's admin Stop, ``Trainer.stop``, a callback):
    it ends as if its stop rule fired, with stop reason "stopped"."""


@dataclass
class TrainingProgress:
    """What the driver knows about a run: counters, recent returns and the last metrics."""

    started: float = field(default_factory=time.perf_counter)  # first env step requested
    env_steps: int = 0
    updates: int = 0
    episodes: int = 0
    version: int = 0
    recent_returns: deque[float] = field(default_factory=lambda: deque(maxlen=RETURN_WINDOW))
    metrics: dict[str, float] = field(default_factory=dict)
    last: UpdateResult | None = None  # the newest update's result (its finished episodes)

    def record(self, result: UpdateResult) -> None:
        """Count one learner update: its env steps, episodes and metrics."""
        self.env_steps += result.env_steps
        self.updates += int(result.applied)
        self.version = result.version
        self.episodes += len(result.episode_returns)
        self.recent_returns.extend(float(r) for r in result.episode_returns)
        self.metrics = result.metrics
        self.last = result

    def counters(self) -> dict[str, Any]:
        """The counters a checkpoint keeps, so a resumed run continues them and its curves."""
        return {
            "elapsed_s": self.elapsed,
            "env_steps": self.env_steps,
            "updates": self.updates,
            "episodes": self.episodes,
            "version": self.version,
            "recent_returns": list(self.recent_returns),
        }

    @classmethod
    def restore(cls, counters: dict[str, Any]) -> TrainingProgress:
        """A state that continues ``counters`` (its clock included) from now."""
        return cls(
            started=time.perf_counter() - float(counters["elapsed_s"]),
            env_steps=int(counters["env_steps"]),
            updates=int(counters["updates"]),
            episodes=int(counters["episodes"]),
            version=int(counters["version"]),
            recent_returns=deque(
                (float(r) for r in counters["recent_returns"]), maxlen=RETURN_WINDOW
            ),
        )

    @property
    def elapsed(self) -> float:
        """Seconds since training started."""
        return time.perf_counter() - self.started

    @property
    def steps_per_s(self) -> float:
        """Env steps per second of training so far."""
        return self.env_steps / max(self.elapsed, 1e-9)

    @property
    def mean_return(self) -> float | None:
        """Mean return of the recent episodes (the stop rule's window); None before any."""
        return float(np.mean(self.recent_returns)) if self.recent_returns else None


@dataclass(frozen=True)
class StopRule:
    """Stop at a mean return over the last ``RETURN_WINDOW`` episodes, a step or time budget."""

    stop_reward: float | None
    max_steps: int | None
    max_seconds: float | None

    def check(self, state: TrainingProgress) -> str | None:
        """The reason to stop now ("solved", "max_steps", "max_seconds"), or None."""
        if (
            self.stop_reward is not None
            and len(state.recent_returns) == RETURN_WINDOW
            and (state.mean_return or 0.0) >= self.stop_reward
        ):
            return "solved"
        if self.max_steps is not None and state.env_steps >= self.max_steps:
            return "max_steps"
        if self.max_seconds is not None and state.elapsed >= self.max_seconds:
            return "max_seconds"
        return None
