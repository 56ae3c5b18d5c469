"""What the replay learners (DQN, DDPG/TD3, SAC) share about their buffer: uniform or
prioritized by their section's ``prioritized`` switch, and how a batch is drawn from it."""

from __future__ import annotations

from typing import Any

import numpy as np

from distrl.replay import PrioritizedReplayBuffer, ReplayBuffer, TransitionBatch


def make_replay(keys: Any, **buffer: Any) -> ReplayBuffer:
    """A buffer for a section with :class:`distrl.replay.settings.PriorityKeys`."""
    if keys.prioritized:
        return PrioritizedReplayBuffer(alpha=keys.priority_alpha, eps=keys.priority_eps, **buffer)
    return ReplayBuffer(**buffer)


def draw(
    replay: ReplayBuffer, keys: Any, shape: tuple[int, ...], rng: np.random.Generator
) -> tuple[TransitionBatch, np.ndarray | None, np.ndarray]:
    """``(batch, slots or None, importance weights)`` of ``shape``; uniform buffers weigh every
    transition 1. Beta rises linearly from ``priority_beta`` to 1 over ``priority_beta_steps``
    transitions added."""
    if isinstance(replay, PrioritizedReplayBuffer):
        progress = min(1.0, replay.added / keys.priority_beta_steps)
        beta = keys.priority_beta + (1.0 - keys.priority_beta) * progress
        return replay.sample_prioritized(shape, rng, beta)
    return replay.sample(shape, rng), None, np.ones(shape, np.float32)


def reprioritize(replay: ReplayBuffer, slots: np.ndarray | None, td_errors: Any) -> None:
    """Set the drawn transitions' priorities from their TD errors (prioritized buffers)."""
    if slots is not None:
        assert isinstance(replay, PrioritizedReplayBuffer)
        replay.update_priorities(slots, np.asarray(td_errors))
