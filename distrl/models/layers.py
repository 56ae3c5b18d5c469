"""The pieces every built-in Keras model is made of: the observation input, Dense towers, the
optional LSTM core and the actor-critic heads (``[logits, value]``, and the next LSTM state)."""

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


STATE = "state"  # the recurrent models' second input: [N, 2 * lstm_size], h then c


def lstm_core(x: keras.KerasTensor, size: int) -> tuple[keras.KerasTensor, ...]:
    """One LSTM step on features ``x`` [N, F] from the state input ``[h, c]`` [N, 2*size]:
    ``(h', state input, [h', c'])``. Written with a single Dense layer (``lstm``: kernel
    [F + size, 4 * size], gates i, f, g, o) and elementwise ops, so the model needs no custom
    layer to load, exports to SavedModel and ONNX, and the learner can unroll it one step at a
    time from any state. The forget gate's bias starts at 1 (as Keras's ``unit_forget_bias``)."""
    state = keras.Input(shape=(2 * size,), dtype="float32", name=STATE)
    h, c = state[:, :size], state[:, size:]
    z = keras.layers.Dense(4 * size, name="lstm")(keras.layers.Concatenate()([x, h]))
    z = keras.ops.cast(z, "float32")  # the cell state stays float32 under mixed precision
    i, f, g, o = (z[:, k * size : (k + 1) * size] for k in range(4))
    sigmoid = keras.ops.sigmoid
    c_next = sigmoid(f + 1.0) * c + sigmoid(i) * keras.ops.tanh(g)
    h_next = sigmoid(o) * keras.ops.tanh(c_next)
    return h_next, state, keras.ops.concatenate([h_next, c_next], axis=-1)


def actor_critic(
    obs: keras.KerasTensor, policy_x, value_x, spec: EnvSpec, lstm_size: int, name: str
) -> keras.Model:
    """The model from its torso's features: ``obs -> [logits, value]``, or with ``lstm_size``
    ``[obs, state] -> [logits, value, next state]``, the LSTM's output feeding both heads."""
    if not lstm_size:
        return keras.Model(obs, list(heads(policy_x, value_x, spec)), name=name)
    h, state, next_state = lstm_core(policy_x, lstm_size)
    logits, value = heads(h, h, spec)
    return keras.Model([obs, state], [logits, value, next_state], name=name)
