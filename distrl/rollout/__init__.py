"""Rollout workers: vector envs plus a local policy copy, producing time-major fragments (or,
for A3C's gradient mode, the gradients of those fragments)."""

from distrl.rollout.gradient_worker import GradientWorker
from distrl.rollout.worker import RolloutWorker

__all__ = ["GradientWorker", "RolloutWorker"]
