"""Convolutional actor-critics for Atari. Pixels arrive as ``uint8`` and become float inside.

- ``nature_cnn``: the Nature-DQN trunk (Mnih et al. 2015) used by A2C/A3C and PPO on Atari:
  conv 32 8x8/4, conv 64 4x4/2, conv 64 3x3/1, dense 512, all ReLU; a stack of 84x84 frames
  (frames first) scaled to [0, 1].
- ``seed002_cnn``: seed 002's network: the difference of the last two 80x80 binarised frames,
  conv 32 9x9/4 and conv 16 9x9/2 (ReLU, He-uniform), flattened into the heads.

- ``cnn``: for images of any size and layout (see :func:`cnn`).

All end in the same heads as the Dense models: ``[logits, value]`` (with ``model.lstm_size``
the LSTM core sits between the features and the heads).
"""

from __future__ import annotations

from typing import Any

import keras

from distrl.config import ConfigError, ModelConfig
from distrl.models.layers import actor_critic
from distrl.types import EnvSpec


def _pixels(spec: EnvSpec) -> keras.KerasTensor:
    return keras.Input(shape=spec.observation_shape, dtype=spec.observation_dtype, name="obs")


def _relu_init() -> keras.initializers.Initializer:
    return keras.initializers.Orthogonal(gain=2**0.5)  # as in the A2C/PPO baselines


def nature_cnn(spec: EnvSpec, config: ModelConfig) -> keras.Model:
    _check_frames(spec, "nature_cnn", None, 84)
    obs = _pixels(spec)  # [N, stack, 84, 84]
    x = keras.ops.cast(obs, "float32") / 255.0
    x = keras.layers.Permute((2, 3, 1), name="frames_last")(x)  # channels last for Conv2D
    x = _trunk(x, NATURE, "valid")
    return actor_critic(obs, x, x, spec, config.lstm_size, "nature_cnn")


NATURE = [(32, 8, 4), (64, 4, 2), (64, 3, 1)]  # (filters, kernel, stride) of the Nature trunk
SMALL = [(32, 3, 2), (64, 3, 2), (64, 3, 1)]  # for images under 64 pixels a side


def _trunk(x: keras.KerasTensor, layers: list[tuple[int, int, int]], padding: str) -> Any:
    """Conv layers (ReLU, orthogonal init) then a 512-unit dense layer: the features."""
    for i, (filters, size, stride) in enumerate(layers):
        x = keras.layers.Conv2D(filters, size, strides=stride, padding=padding, activation="relu",
                                kernel_initializer=_relu_init(), name=f"conv_{i}")(x)  # fmt: skip
    x = keras.layers.Flatten()(x)
    return keras.layers.Dense(512, activation="relu", kernel_initializer=_relu_init(),
                              name="dense")(x)  # fmt: skip


def seed002_cnn(spec: EnvSpec, config: ModelConfig) -> keras.Model:
    _check_frames(spec, "seed002_cnn", 2, 80)
    obs = _pixels(spec)  # [N, 2, 80, 80] of 0/1: the previous and the current frame
    frames = keras.ops.cast(obs, "float32")
    x = keras.ops.expand_dims(frames[:, -1] - frames[:, -2], -1)  # [N, 80, 80, 1]
    x = keras.layers.Conv2D(32, 9, strides=4, activation="relu",
                            kernel_initializer="he_uniform", name="conv_0")(x)  # fmt: skip
    x = keras.layers.Conv2D(16, 9, strides=2, activation="relu",
                            kernel_initializer="he_uniform", name="conv_1")(x)  # fmt: skip
    x = keras.layers.Flatten()(x)
    return actor_critic(obs, x, x, spec, config.lstm_size, "seed002_cnn")


def cnn(spec: EnvSpec, config: ModelConfig) -> keras.Model:
    """A convolutional actor-critic for images of any size: HxWxC, or CxHxW when the first axis
    is the short one (up to 4 channels or stacked frames); uint8 pixels are scaled to [0, 1].

    Large images (both sides >= 64) get the Nature trunk's kernels and strides; smaller ones
    3x3 kernels with "same" padding (strides 2, 2, 1), so any size down to 1x1 works.
    """
    shape = spec.observation_shape
    if len(shape) != 3:
        raise ConfigError(
            f"model cnn needs image observations (H x W x C or C x H x W); {spec.env_id} has "
            f"shape {list(shape)}"
        )
    obs = _pixels(spec)
    x = keras.ops.cast(obs, "float32")
    if spec.observation_dtype == "uint8":
        x = x / 255.0
    if shape[0] <= 4 < shape[-1]:  # channels (or frames) first
        x = keras.layers.Permute((2, 3, 1), name="channels_last")(x)
    height, width = (shape[1], shape[2]) if shape[0] <= 4 < shape[-1] else (shape[0], shape[1])
    large = min(height, width) >= 64
    x = _trunk(x, NATURE if large else SMALL, "valid" if large else "same")
    return actor_critic(obs, x, x, spec, config.lstm_size, "cnn")


def _check_frames(spec: EnvSpec, name: str, frames: int | None, side: int) -> None:
    """The fixed-size Atari CNNs: a clear error instead of Keras's on other inputs."""
    shape = tuple(spec.observation_shape)
    if len(shape) != 3 or shape[1:] != (side, side) or (frames is not None and shape[0] != frames):
        raise ConfigError(
            f"model {name} needs observations of {frames or 'N'} x {side} x {side} frames; "
            f"{spec.env_id} has shape {list(shape)}: use model.name cnn, which adapts to any image"
        )


CNN_BUILDERS = {"nature_cnn": nature_cnn, "seed002_cnn": seed002_cnn, "cnn": cnn}
