"""Recurrent (LSTM) actor-critics in the on-policy learners: the fragment as sequences, the
unroll from each fragment's initial state, and the bootstrap values after it.

A recurrent model (``model.lstm_size``, ``distrl.models.layers.lstm_core``) takes
``[obs, state]`` and returns ``[logits, value, next state]``. The workers record the state each
env copy's fragment began with (``Rollout.initial_state``) and zero it when an episode ends; the
learner recomputes every later state with its own weights, zeroing it where the worker did
(R2D2's "stored state"). Usage in a learner::

    seq = Sequences.of(rollouts, state_size)           # NumPy: obs [T, B, ...], resets, state0
    logits, values, after = unroll(model, *seq.tensors(), burn_in=0, training=True)
    # logits [(T - burn_in) * B, ...] and values [(T - burn_in) * B] in time-major row order;
    # after [T, B, S]: the state after each step, before any reset (bootstrap values use it)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from distrl.agents.fragments import done_positions
from distrl.types import EnvSpec, Rollout


class Sequences(NamedTuple):
    """A batch of fragments as the unroll takes them."""

    obs: np.ndarray  # [T, B, *obs]
    resets: np.ndarray  # [T, B] float32: 1 where the state is zeroed before step t
    state0: np.ndarray  # [B, S] float32: the state before step 0

    @classmethod
    def of(
        cls, rollouts: Sequence[Rollout], state_size: int, obs: np.ndarray | None = None
    ) -> Sequences:
        """``obs``: the fragments' observations already concatenated [T, B, *obs], if the
        caller has them (else concatenated here)."""
        if obs is None:
            obs = np.concatenate([r.observations for r in rollouts], axis=1)
        done = np.concatenate([r.terminated | r.truncated for r in rollouts], axis=1)
        resets = np.zeros(done.shape, np.float32)
        resets[1:] = done[:-1]  # the worker zeroed the state after a step that ended an episode
        state0 = np.concatenate([initial_state(r, state_size) for r in rollouts])
        return cls(obs, resets, state0)

    def tensors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.obs, self.resets, self.state0


def initial_state(rollout: Rollout, state_size: int) -> np.ndarray:
    """The fragment's recorded initial state; zeros for one without (pushed by a client)."""
    B = rollout.rewards.shape[1]
    if rollout.initial_state is None:
        return np.zeros((B, state_size), np.float32)
    state = np.asarray(rollout.initial_state, np.float32)
    if state.shape != (B, state_size):
        raise ValueError(f"a fragment's initial_state has shape {state.shape}; the model's "
                         f"state is {(B, state_size)}")  # fmt: skip
    return state


def state_size(model: keras.Model) -> int:
    """``2 * lstm_size`` for a recurrent model, 0 for a feed-forward one."""
    return int(model.inputs[1].shape[-1]) if len(model.inputs) > 1 else 0


def sequence_signature(spec: EnvSpec, size: int) -> tuple[tf.TensorSpec, ...]:
    """The ``(obs, resets, state0)`` arguments of a compiled step."""
    return (
        tf.TensorSpec([None, None, *spec.observation_shape], spec.observation_dtype),
        tf.TensorSpec([None, None], tf.float32),
        tf.TensorSpec([None, size], tf.float32),
    )


_SCANS: dict[tuple[int, bool], Any] = {}  # compiled scans by (id(model), training)


def _scan(model: keras.Model, obs: tf.Tensor, resets: tf.Tensor, state: tf.Tensor,
          training: bool) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:  # fmt: skip
    """Step the model over the leading (time) axis: states after each step [T, B, S], params
    [T, B, P] and values [T, B].

    Without ``training`` the loop is XLA-compiled here: a TensorFlow while loop otherwise pays
    the graph executor's per-op cost at every step, which dominates small models. With it, the
    loop is left to the caller's compiled gradient function (an XLA loop's gradient cannot be
    taken from outside XLA): see :func:`compiled_gradients`."""
    key = (id(model), training)
    if key not in _SCANS:
        params_size = int(model.outputs[0].shape[-1])

        def step(carry: tuple, inputs: tuple) -> tuple:
            state = carry[0] * (1.0 - inputs[1])[:, None]
            params, value, next_state = model([inputs[0], state], training=training)
            return next_state, params, value[:, 0]

        def scan(obs: tf.Tensor, resets: tf.Tensor, state: tf.Tensor) -> tuple:
            B = tf.shape(state)[0]
            init = (state, tf.zeros([B, params_size]), tf.zeros([B]))
            return tf.scan(step, (obs, resets), initializer=init)

        _SCANS[key] = scan if training else tf.function(scan, jit_compile=True)
    return _SCANS[key](obs, resets, state)


def compiled_gradients(fn: Any) -> Any:
    """``fn`` (a function that unrolls a recurrent model and returns gradients) XLA-compiled
    with its unroll: about 10x fewer CPU seconds per minibatch than TensorFlow's while loop
    for the small models of vector envs (a 64-unit LSTM over 128 steps on the dev machine)."""
    return tf.function(fn, jit_compile=True)


def unroll(
    model: keras.Model,
    obs: tf.Tensor,
    resets: tf.Tensor,
    state0: tf.Tensor,
    *,
    burn_in: int = 0,
    training: bool = False,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The model over ``T`` steps from ``state0``: ``(params [(T-K)*B, P], values [(T-K)*B],
    states after each step [T, B, S])``, ``K = burn_in``. The first ``K`` steps only warm the
    state: no gradient flows through them and their rows are left out (R2D2)."""
    after_burn_in = None
    if burn_in:
        warm, _, _ = _scan(model, obs[:burn_in], resets[:burn_in], state0, training)
        after_burn_in = tf.stop_gradient(warm)
        state0 = after_burn_in[-1]
        obs, resets = obs[burn_in:], resets[burn_in:]
    after, params, values = _scan(model, obs, resets, state0, training)
    if after_burn_in is not None:
        after = tf.concat([after_burn_in, after], axis=0)
    return flatten(params), tf.reshape(values, [-1]), after


def flatten(x: tf.Tensor) -> tf.Tensor:
    """``[T, B, ...]`` -> ``[T*B, ...]`` (time-major rows, as the feed-forward batches)."""
    shape = tf.shape(x)
    return tf.reshape(x, tf.concat([[shape[0] * shape[1]], shape[2:]], axis=0))


def bootstrap_rows(
    rollouts: Sequence[Rollout], last_obs: np.ndarray, final_obs: np.ndarray, after: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The observations whose values the targets bootstrap from (after each fragment's last
    step; each true final observation) and the state each is seen with: the state after the
    step that led to it (``after`` [T, B, S])."""
    states = np.concatenate([after[-1], after[done_positions(rollouts)]])
    return np.concatenate([last_obs, final_obs]), states
