"""The deterministic policy as a TensorFlow function of observations: what the SavedModel and
ONNX exports serve (``python -m distrl.export``).

The function takes observations as the policy sees them (the env's observation after its
wrappers and distrl's flattening, in its dtype, with a batch dimension) and returns
``actions`` (the greedy ones: the distribution's mode, the Q argmax or the actor's output, in
the env's units) and ``params`` (the model's first output: logits, a Gaussian's
``[mean, log_std]``, Q-values, or the actor's actions). Normalization and action masks are
inside the model, so nothing else is needed to act.

A recurrent policy (``model.lstm_size``) also takes ``state`` ``[N, 2 * lstm_size]`` (zeros at
an episode's start) and returns the next one as ``next_state``: feed it back with the next
observations.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from distrl.distributions import tensorflow_forms
from distrl.types import EnvSpec

# How an algorithm's greedy action comes from its policy model's first output (its registry
# entry's ``greedy``): the action distribution's mode (clipped to the box if continuous), the
# argmax of Q-values, the output itself (a deterministic actor in the env's units), or a
# tanh-squashed Gaussian's mode scaled to the box.
GREEDY = ("mode", "argmax", "output", "squashed")


def serving_function(model: keras.Model, spec: EnvSpec, greedy: str) -> Any:
    """A ``tf.function`` with one input, ``observations`` ``[N, *obs]``, and the outputs
    ``{"actions", "params"}``; a recurrent model's also takes ``state`` and returns
    ``next_state``."""
    signature = [tf.TensorSpec([None, *spec.observation_shape], spec.observation_dtype,
                               name="observations")]  # fmt: skip
    recurrent = len(model.inputs) > 1
    if recurrent:
        size = int(model.inputs[1].shape[-1])
        signature.append(tf.TensorSpec([None, size], tf.float32, name="state"))
    half_width, centre = spec.action_scale() if spec.action_low else (np.ones(1), np.zeros(1))
    low = np.asarray(spec.action_low, np.float32)
    high = np.asarray(spec.action_high, np.float32)

    def act(params: tf.Tensor) -> tf.Tensor:
        if greedy == "output":
            actions = params
        elif greedy == "argmax":
            actions = tf.argmax(params, axis=-1)
        elif greedy == "squashed":
            mean = params[..., : spec.num_actions]
            actions = tf.tanh(mean) * half_width.astype(np.float32) + centre.astype(np.float32)
        else:
            actions = tensorflow_forms.for_spec(spec).mode(params)
            if spec.action_kind == "continuous":
                actions = tf.clip_by_value(actions, low, high)
        return actions

    def serve(observations: tf.Tensor) -> dict[str, tf.Tensor]:
        out = model(observations, training=False)
        params = out[0] if isinstance(out, list | tuple) else out
        return {"actions": act(params), "params": params}

    def serve_recurrent(observations: tf.Tensor, state: tf.Tensor) -> dict[str, tf.Tensor]:
        params, _, next_state = model([observations, state], training=False)
        return {"actions": act(params), "params": params, "next_state": next_state}

    return tf.function(serve_recurrent if recurrent else serve, input_signature=signature)


def load_policy(path: str) -> keras.Model:
    """A ``.keras`` policy file, on the CPU."""
    from distrl.tfsetup import configure_tensorflow

    configure_tensorflow(threads=None, use_gpu=False)
    return keras.models.load_model(path)


def write_savedmodel(model: keras.Model, spec: EnvSpec, greedy: str, out_dir: str) -> None:
    """A SavedModel whose ``serving_default`` signature is :func:`serving_function`."""
    serve = serving_function(model, spec, greedy)
    archive = keras.export.ExportArchive()  # loads with tf.saved_model.load alone
    archive.track(model)
    archive.add_endpoint("serve", serve)
    archive.write_out(out_dir, verbose=False)


def write_onnx(model: keras.Model, spec: EnvSpec, greedy: str, out_path: str) -> None:
    """The same function as ONNX (tf2onnx, the ``export`` extra)."""
    import tf2onnx

    serve = serving_function(model, spec, greedy)
    tf2onnx.convert.from_function(serve, input_signature=serve.input_signature, opset=17,
                                  output_path=out_path)  # fmt: skip
