"""DDPG's deterministic actor and Q critic (seeds 003 and 001, plain MLPs, or the user's).

The built-in actor's layer names come from ``acting.actor_layers``, which the workers' NumPy
forward pass also reads, so acting needs no TensorFlow. The actor outputs actions in the env's
units: tanh, then scaled to ``[low, high]`` inside the model (a standard ``Rescaling`` layer
named ``bounds``).

``ddpg.actor`` / ``ddpg.critic`` name a user's builder, ``package.module:function(spec, config)``
(``config``: the ``ddpg`` section) returning a new ``keras.Model`` on every call: the actor maps
observations to ``[N, num_actions]`` in ``[-1, 1]`` (end it with tanh; distrl scales to the
bounds), the critic maps ``[observations, actions]`` to ``[N, 1]``. A user's actor acts through
TensorFlow in the workers.
"""

from __future__ import annotations

import keras
import numpy as np

from distrl.agents.ddpg.config import DDPGConfig
from distrl.agents.ddpg.plan import actor_hidden, actor_layers
from distrl.config import ConfigError
from distrl.models.builders import resolve_builder
from distrl.models.layers import observation_input
from distrl.types import EnvSpec

# Seed 003 (and the DDPG paper): a small final layer keeps the first actions away from tanh's
# flat ends, where the actor's gradient would vanish.
FINAL_INIT = 3e-3


def action_scale(spec: EnvSpec) -> tuple[np.ndarray, np.ndarray]:
    """``(half-width, centre)`` of the action box: ``action = tanh_output * scale + offset``."""
    return spec.action_scale()


def build_actor(spec: EnvSpec, config: DDPGConfig) -> keras.Model:
    obs, x = observation_input(spec)
    if config.actor is not None:
        user = _user_model(config.actor, "ddpg.actor", spec, config, 1, (spec.num_actions,))
        x = _call(user, obs, config.actor, "ddpg.actor")
    else:
        for (name, activation), units in zip(
            actor_layers(config), actor_hidden(config), strict=False
        ):
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
    if config.critic is not None:
        user = _user_model(config.critic, "ddpg.critic", spec, config, 2, (1,))
        q = _call(user, [obs, action], config.critic, "ddpg.critic")
        return keras.Model([obs, action], q, name="critic")
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


def _user_model(
    name: str, key: str, spec: EnvSpec, config: DDPGConfig, inputs: int, out_shape: tuple[int, ...]
) -> keras.Model:
    """The user's builder's model, checked: ``inputs`` inputs, one output ``[N, *out_shape]``."""
    model = resolve_builder(name, key)(spec, config)
    what = "observations" if inputs == 1 else "[observations, actions]"
    if (not isinstance(model, keras.Model) or len(model.outputs) != 1
            or len(model.inputs) != inputs):  # fmt: skip
        raise ConfigError(f"{key} {name!r} must return a keras.Model of {what} with one output")
    shape = tuple(model.outputs[0].shape[1:])
    if shape != out_shape:
        raise ConfigError(
            f"{key} {name!r} outputs shape {list(shape)} per sample; DDPG needs {list(out_shape)}"
        )
    return model


def _call(model: keras.Model, inputs: object, name: str, key: str) -> keras.KerasTensor:
    try:
        return model(inputs)
    except (ValueError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"{key} {name!r} does not take DDPG's inputs: {first}") from None


def pre_bounds(actor: keras.Model) -> keras.Model:
    """The actor up to its ``bounds`` layer: observations -> ``[-1, 1]`` (acting adds noise in
    these units and scales itself). Shares the actor's variables."""
    return keras.Model(actor.inputs, actor.get_layer("bounds").input)
