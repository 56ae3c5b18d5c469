"""Experience replay for off-policy learners: uniform (``buffer.py``) and proportional
prioritized (``prioritized.py``)."""

from distrl.replay.buffer import ReplayBuffer, TransitionBatch
from distrl.replay.prioritized import PrioritizedReplayBuffer, SumTree

__all__ = ["PrioritizedReplayBuffer", "ReplayBuffer", "SumTree", "TransitionBatch"]
