"""Values that change over training.

- :func:`linear`: one linear ramp, shared by exploration (DQN's epsilon) and prioritized
  replay (its importance exponent beta), over the env steps it is given.
- :class:`Schedule`: a hyperparameter that moves over the run's step budget (``max_steps``):
  learning rates, PPO's clip range and entropy coefficient. A config value is a constant, or
  one of these forms (rl-baselines3-zoo's ``lin_X``, and a mapping)::

      lr: 3.0e-4                                        # constant
      lr: lin_2.5e-4                                     # linear from 2.5e-4 to 0 (the zoo's)
      lr: {schedule: cosine, start: 3.0e-4, end: 1.0e-5}  # linear or cosine, end default 0

  ``progress`` is the share of ``max_steps`` trained so far, 0 to 1 (Stable-Baselines3's
  ``1 - progress_remaining``).
"""

from __future__ import annotations

from distrl.config.schedule import SCHEDULABLE, Schedule, check_schedule, parse_schedule

__all__ = ["SCHEDULABLE", "Schedule", "check_schedule", "linear", "parse_schedule", "value_at"]


def linear(start: float, end: float, steps: int, t: float) -> float:
    """``start`` moving linearly to ``end`` over ``steps`` (of whatever ``t`` counts), then
    ``end``; ``steps <= 0`` is ``end`` from the start."""
    if steps <= 0:
        return end
    return start + (end - start) * min(1.0, t / steps)


def value_at(value: float | Schedule, progress: float) -> float:
    """A constant, or a schedule's value at ``progress``."""
    return value.at(progress) if isinstance(value, Schedule) else float(value)
