"""Convolutional actor-critics for Atari. Pixels arrive as ``uint8`` and become float inside.

- ``nature_cnn``: the Nature-DQN trunk (Mnih et al. 2015) used by A2C/A3C and PPO on Atari:
  conv 32 8x8/4, conv 64 4x4/2, conv 64 3x3/1, dense 512, all ReLU; a stack of 84x84 frames
  (frames first) scaled to [0, 1].
- ``seed002_cnn``: seed 002's network: the difference of the last two 80x80 binarised frames,
  conv 32 9x9/4 and conv 16 9x9/2 (ReLU, He-uniform), flattened into the heads.

Both end in the same heads as the Dense models: ``[logits, value]``.
"""

from __future__ import annotations

import keras

from distrl.config import ModelConfig
from distrl.models.layers import heads
from distrl.types import EnvSpec


def _pixels(spec: EnvSpec) -> keras.KerasTensor:
    return keras.Input(shape=spec.observation_shape, dtype=spec.observation_dtype, name="obs")


def _relu_init() -> keras.initializers.Initializer:
    return keras.initializers.Orthogonal(gain=2**0.5)  # as in the A2C/PPO baselines


def nature_cnn(spec: EnvSpec, config: ModelConfig) -> keras.Model:
    obs = _pixels(spec)  # [N, stack, 84, 84]
    x = keras.ops.cast(obs, "float32") / 255.0
    x = keras.layers.Permute((2, 3, 1), name="frames_last")(x)  # channels last for Conv2D
    for i, (filters, size, stride) in enumerate([(32, 8, 4), (64, 4, 2), (64, 3, 1)]):
        x = keras.layers.Conv2D(filters, size, strides=stride, activation="relu",
                                kernel_initializer=_relu_init(), name=f"conv_{i}")(x)  # fmt: skip
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(512, activation="relu", kernel_initializer=_relu_init(),
                           name="dense")(x)  # fmt: skip
    logits, value = heads(x, x, spec)
    return keras.Model(obs, [logits, value], name="nature_cnn")


def seed002_cnn(spec: EnvSpec, config: ModelConfig) -> keras.Model:
    obs = _pixels(spec)  # [N, 2, 80, 80] of 0/1: the previous and the current frame
    frames = keras.ops.cast(obs, "float32")
    x = keras.ops.expand_dims(frames[:, -1] - frames[:, -2], -1)  # [N, 80, 80, 1]
    x = keras.layers.Conv2D(32, 9, strides=4, activation="relu",
                            kernel_initializer="he_uniform", name="conv_0")(x)  # fmt: skip
    x = keras.layers.Conv2D(16, 9, strides=2, activation="relu",
                            kernel_initializer="he_uniform", name="conv_1")(x)  # fmt: skip
    x = keras.layers.Flatten()(x)
    logits, value = heads(x, x, spec)
    return keras.Model(obs, [logits, value], name="seed002_cnn")


CNN_BUILDERS = {"nature_cnn": nature_cnn, "seed002_cnn": seed002_cnn}
