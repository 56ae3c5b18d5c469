"""Experience replay for off-policy learners (DDPG)."""

from distrl.replay.buffer import ReplayBuffer, TransitionBatch

__all__ = ["ReplayBuffer", "TransitionBatch"]
