"""A learner's scheduled hyperparameters (``distrl.schedules.Schedule``): each lives in a
``tf.Variable`` that compiled steps read, set from its schedule at the run's progress before
every update. Progress is the env steps the learner has received over the step budget
(``AlgorithmSections.budget``, the run's ``max_steps``); checkpoints keep the count.

Usage in a learner::

    self.schedules = Schedules(sections.budget)
    self.schedules.track("learning_rate", c.lr, self.optimizer.learning_rate)
    self.clip = self.schedules.value("clip_range", c.clip_range)  # a float if constant
    ...
    self.schedules.advance(sum(r.env_steps for r in rollouts))    # first thing in update()
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from distrl.schedules import Schedule


class Schedules:
    def __init__(self, budget: int | None) -> None:
        self.budget = budget
        self.steps = 0  # env steps received so far
        self._tracked: list[tuple[str, Schedule, Any]] = []

    @property
    def progress(self) -> float:
        return min(1.0, self.steps / self.budget) if self.budget else 0.0

    def track(self, name: str, value: float | Schedule, variable: Any) -> None:
        """Keep ``variable`` (an optimizer's learning rate, say) on ``value``'s schedule."""
        if isinstance(value, Schedule):
            variable.assign(value.at(self.progress))
            self._tracked.append((name, value, variable))

    def value(self, name: str, value: float | Schedule) -> float | tf.Variable:
        """A constant as it is; a schedule as a variable that follows it."""
        if not isinstance(value, Schedule):
            return float(value)
        variable = tf.Variable(value.at(self.progress), trainable=False, dtype=tf.float32,
                               name=name)  # fmt: skip
        self._tracked.append((name, value, variable))
        return variable

    def advance(self, env_steps: int) -> None:
        self.restore(self.steps + env_steps)

    def restore(self, steps: int) -> None:
        """Set the count (a resumed run) and every value to match it."""
        self.steps = steps
        for _, schedule, variable in self._tracked:
            variable.assign(schedule.at(self.progress))

    def metrics(self) -> dict[str, float]:
        """The current value of each scheduled hyperparameter, as ``learner/<name>``."""
        return {f"learner/{name}": float(variable.numpy()) for name, _, variable in self._tracked}
