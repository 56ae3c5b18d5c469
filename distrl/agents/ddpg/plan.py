"""DDPG's built-in actor as a layer plan: read by the workers' NumPy forward pass (acting.py)
and by the Keras builder (networks.py), so the two agree on names and sizes."""

from __future__ import annotations

from distrl.agents.ddpg.config import DDPGConfig


def actor_hidden(config: DDPGConfig) -> tuple[int, ...]:
    if config.network == "seed003":
        return (256, 256)
    if config.network == "seed001":
        return (320, 320, 320)
    return config.actor_hidden


def actor_layers(config: DDPGConfig) -> list[tuple[str, str]]:
    """``(layer name, activation)`` from the observation to the tanh output, in order."""
    hidden = [(f"actor_{i}", "relu") for i in range(len(actor_hidden(config)))]
    return [*hidden, ("actor_out", "tanh")]
