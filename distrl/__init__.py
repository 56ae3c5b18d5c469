"""distrl: distributed actor-learner reinforcement learning for Keras 3 on Ray core."""

__version__ = "0.1.0"
