"""DDPG/TD3 networks as Stable-Baselines3 builds them, for the defaults benchmark's ablation:
the same sizes as distrl's ``mlp`` networks (400-300, ReLU), but every Dense layer, the last
ones included, initialised as PyTorch's ``nn.Linear`` is (kernel and bias uniform in
``+-1/sqrt(fan_in)``) instead of Keras's Glorot kernel, zero bias and distrl's small final
actor layer. Used as ``--set ddpg.actor=benchmarks.torch_init:actor --set
ddpg.critic=benchmarks.torch_init:critic`` (or ``td3.*``)."""

from __future__ import annotations

import math

import keras


def _dense(x, units: int, activation: str | None, name: str):
    bound = 1.0 / math.sqrt(int(x.shape[-1]))
    init = keras.initializers.RandomUniform(-bound, bound)
    return keras.layers.Dense(units, activation=activation, kernel_initializer=init,
                              bias_initializer=init, name=name)(x)  # fmt: skip


def _tower(x, sizes, name: str):
    for i, units in enumerate(sizes):
        x = _dense(x, units, "relu", f"{name}_{i}")
    return x


def actor(spec, config) -> keras.Model:
    obs = keras.Input(shape=spec.observation_shape, dtype=spec.observation_dtype, name="obs")
    x = keras.layers.Flatten()(keras.ops.cast(obs, "float32"))
    out = _dense(_tower(x, config.actor_hidden, "pi"), spec.num_actions, "tanh", "pi_out")
    return keras.Model(obs, out)


def critic(spec, config) -> keras.Model:
    obs = keras.Input(shape=spec.observation_shape, dtype=spec.observation_dtype, name="obs")
    action = keras.Input(shape=(spec.num_actions,), dtype="float32", name="action")
    x = keras.layers.Flatten()(keras.ops.cast(obs, "float32"))
    h = _tower(keras.layers.Concatenate()([x, action]), config.critic_hidden, "qf")
    return keras.Model([obs, action], _dense(h, 1, None, "qf_out"))


def critic_unit_actions(spec, config) -> keras.Model:
    """:func:`critic` fed the actions as SB3's critic is: rescaled from the env's box into
    ``[-1, 1]`` (SB3 stores and learns from scaled actions; distrl's critic reads env units)."""
    obs = keras.Input(shape=spec.observation_shape, dtype=spec.observation_dtype, name="obs")
    action = keras.Input(shape=(spec.num_actions,), dtype="float32", name="action")
    half_width, centre = spec.action_scale()
    scale, offset = (1.0 / half_width).tolist(), (-centre / half_width).tolist()
    unit = keras.layers.Rescaling(scale=scale, offset=offset, name="unit")(action)
    x = keras.layers.Flatten()(keras.ops.cast(obs, "float32"))
    h = _tower(keras.layers.Concatenate()([x, unit]), config.critic_hidden, "qf")
    return keras.Model([obs, action], _dense(h, 1, None, "qf_out"))
