"""Rollout workers: vector envs plus a local policy copy, producing time-major fragments."""

from distrl.rollout.worker import RolloutWorker

__all__ = ["RolloutWorker"]
