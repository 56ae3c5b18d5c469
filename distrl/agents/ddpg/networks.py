"""DDPG's deterministic actor and Q critic (seeds 003 and 001, or plain MLPs).

The actor's layer names come from ``acting.actor_layers``, which the workers' NumPy forward pass
also reads, so acting needs no TensorFlow. The actor outputs actions in the env's units: tanh,
then scaled to ``[low, high]`` inside the model (a standard ``Rescaling`` layer).
"""

from __future__ import annotations

import keras
import numpy as np

from distrl.agents.ddpg.acting import actor_hidden, actor_layers
from distrl.agents.ddpg.config import DDPGConfig
from distrl.models.layers import observation_input
from distrl.types import EnvSpec

# Seed 003 (and the DDPG paper): a small final layer keeps the first actions away from tanh's
# flat ends, where the actor's gradient would vanish.
FINAL_INIT = 3e-3


def action_scale(spec: EnvSpec) -> tuple[np.ndarray, np.ndarray]:
    """``(half-width, centre)`` of the action box: ``action = tanh_output * scale + offset``."""
    low, high = np.asarray(spec.action_low), np.asarray(spec.action_high)
    return ((high - low) / 2).astype(np.float32), ((high + low) / 2).astype(np.float32)


def build_actor(spec: EnvSpec, config: DDPGConfig) -> keras.Model:
    obs, x = observation_input(spec)
    for (name, activation), units in zip(actor_layers(config), actor_hidden(config), strict=False):
        x = keras.layers.Dense(units, activation=activation, name=name)(x)
    small = keras.initializers.RandomUniform(-FINAL_INIT, FINAL_INIT)
    x = keras.layers.Dense(
        spec.num_actions, activation="tanh", kernel_initializer=small, name="actor_out"
    )(x)
    scale, offset = action_scale(spec)
    action = keras.layers.Rescaling(scale=scale.tolist(), offset=offset.tolist(), name="bounds")(x)
    return keras.Model(obs, action, name="actor")


def build_critic(spec: EnvSpec, config: DDPGConfig) -> keras.Model:
    """Q(s, a): inputs ``[obs, action]``, output ``[N, 1]``."""
    obs, x = observation_input(spec)
    action = keras.Input(shape=(spec.num_actions,), dtype="float32", name="action")
    if config.network == "seed003":  # separate state and action branches, then concatenated
        s = keras.layers.Dense(16, activation="relu", name="state_0")(x)
        s = keras.layers.Dense(32, activation="relu", name="state_1")(s)
        a = keras.layers.Dense(32, activation="relu", name="action_0")(action)
        h = keras.layers.Concatenate()([s, a])
        sizes: tuple[int, ...] = (256, 256)
    else:
        h = keras.layers.Concatenate()([x, action])
        sizes = (640, 640, 640) if config.network == "seed001" else config.critic_hidden
    for i, units in enumerate(sizes):
        h = keras.layers.Dense(units, activation="relu", name=f"critic_{i}")(h)
    q = keras.layers.Dense(1, name="q")(h)
    return keras.Model([obs, action], q, name="critic")
