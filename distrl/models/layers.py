"""The pieces every built-in Keras model is made of: the observation input, Dense towers and
the actor-critic heads (``[logits, value]``)."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from distrl.types import EnvSpec


def observation_input(spec: EnvSpec) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The observation input, cast to float32 and flattened inside the model.

    Observations travel in the env's own dtype (uint8 for pixels moves 4x fewer bytes) and
    become float only here.
    """
    obs = keras.Input(shape=spec.observation_shape, dtype=spec.observation_dtype, name="obs")
    x = keras.ops.cast(obs, "float32")
    if len(spec.observation_shape) > 1:
        x = keras.layers.Flatten()(x)
    return obs, x


def tower(x: keras.KerasTensor, sizes: Sequence[int], activation: str, name: str):
    for i, units in enumerate(sizes):
        x = keras.layers.Dense(units, activation=activation, name=f"{name}_{i}")(x)
    return x


def heads(policy_x, value_x, spec: EnvSpec):
    """``[logits [N, A], value [N, 1]]``; for a continuous action space the first output is a
    diagonal Gaussian's ``[mean, log_std]`` (``[N, 2A]``, see ``models/gaussian.py``)."""
    # Small initial logits (or means) keep the first policy close to uniform (or centred), as in
    # SB3 and CleanRL.
    logits = keras.layers.Dense(
        spec.num_actions,
        kernel_initializer=keras.initializers.Orthogonal(gain=0.01),
        name="logits",
    )(policy_x)
    if spec.action_kind == "continuous":
        # A learned log-std that does not depend on the state: a Dense layer's bias (initial 0,
        # sigma 1) read through an all-zero input, so the model keeps standard layers only.
        log_std = keras.layers.Dense(
            spec.num_actions, kernel_initializer="zeros", bias_initializer="zeros",
            name="log_std",
        )(keras.ops.zeros_like(policy_x[:, :1]))  # fmt: skip
        logits = keras.layers.Concatenate(name="gaussian")([logits, log_std])
    value = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.Orthogonal(gain=1.0), name="value"
    )(value_x)
    return logits, value
