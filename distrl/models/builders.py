"""Keras builders: the built-in Dense actor-critics (from their plan) and user builders."""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Callable, Iterator

import keras

from distrl.config import ConfigError, ModelConfig, NormalizeConfig
from distrl.distributions import MASKED_LOGIT
from distrl.envs import EnvSpec
from distrl.models.cnn import CNN_BUILDERS
from distrl.models.layers import actor_critic, observation_input, tower
from distrl.models.plan import DensePlan, dense_plan

Builder = Callable[[EnvSpec, ModelConfig], keras.Model]


def build_from_plan(spec: EnvSpec, plan: DensePlan, lstm_size: int = 0) -> keras.Model:
    """A shared trunk with two heads, or separate policy and value towers; with ``lstm_size``
    the policy tower, then the LSTM core feeding both heads (no value tower)."""
    obs, x = observation_input(spec)
    policy_x = tower(x, plan.policy_hidden, plan.activation, plan.tower_name)
    separate = not plan.shared and not lstm_size
    value_x = tower(x, plan.value_hidden, plan.activation, "value") if separate else policy_x
    return actor_critic(obs, policy_x, value_x, spec, lstm_size, "actor_critic")


@contextlib.contextmanager
def dtype_policy(precision: str) -> Iterator[None]:
    """Layers made inside take ``precision`` (Keras's mixed policies: float32 variables,
    computation in the lower precision); the global policy is put back after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def resolve_builder(name: str, key: str = "model.name") -> Callable[..., keras.Model]:
    """A user's builder given as ``package.module:function`` (``key``: the setting, for errors)."""
    module_name, sep, attr = name.partition(":")
    if not sep:
        raise ConfigError(f"{key} {name!r} is not a built-in model nor package.module:function")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"{key} {name!r} cannot be imported: {e}") from None
    if not callable(fn):
        raise ConfigError(f"{key} {name!r} is not callable")
    return fn


def build_model(
    spec: EnvSpec, config: ModelConfig, normalize: NormalizeConfig | None = None
) -> keras.Model:
    """The Keras model for ``config``: outputs ``[logits [N, A], value [N, 1]]``; with
    ``normalize.observations``, standardising its input first (:func:`with_normalization`).
    With ``model.lstm_size``: inputs ``[obs, state [N, 2 * lstm_size]]`` and outputs
    ``[logits, value, next state]`` (``distrl.models.layers.lstm_core``)."""
    with dtype_policy(config.precision):
        plan = dense_plan(config)
        if plan is not None:
            model = build_from_plan(spec, plan, config.lstm_size)
        elif config.name in CNN_BUILDERS:
            model = CNN_BUILDERS[config.name](spec, config)
        else:
            model = resolve_builder(config.name)(spec, config)
    if not isinstance(model, keras.Model) or len(model.outputs) != 2 + config.recurrent:
        raise ConfigError(
            f"model builder {config.name!r} must return a keras.Model with outputs [logits, value]"
        )
    if config.precision != "float32":  # the heads' outputs, and so every loss, in float32
        outputs = [keras.ops.cast(out, "float32") for out in model.outputs]
        model = keras.Model(model.inputs, outputs, name=model.name)
    if normalize is not None and normalize.observations:
        model = with_normalization(model, spec, normalize.clip)
    return with_action_mask(model, spec) if spec.masked else model


NORMALIZATION = "obs_norm"  # the layer's name; distrl.agents.normalizing sets its weights


def with_normalization(model: keras.Model, spec: EnvSpec, clip: float) -> keras.Model:
    """``model`` on standardised observations: a frozen Dense layer computes
    ``(obs - mean) / sqrt(var + eps)`` (kernel ``diag(1 / std)``, bias ``-mean / std``, set
    by the learner from its running statistics; the identity until then), clipped to
    ``+-clip``. Standard layers only: a saved model normalizes without distrl."""
    if len(spec.observation_shape) != 1:
        raise ConfigError(
            f"normalize.observations standardises vector observations; {spec.env_id} has shape "
            f"{list(spec.observation_shape)}"
        )
    features = spec.observation_shape[0]
    obs = keras.Input(shape=(features,), dtype=spec.observation_dtype, name="obs")
    standardise = keras.layers.Dense(features, kernel_initializer="identity", trainable=False,
                                     bias_initializer="zeros", name=NORMALIZATION)  # fmt: skip
    x = standardise(keras.ops.cast(obs, "float32"))
    x = keras.ops.clip(x, -clip, clip)
    rest = [keras.Input(shape=t.shape[1:], dtype=t.dtype, name=t.name) for t in model.inputs[1:]]
    if not rest:
        return keras.Model(obs, model(x), name=model.name)
    return keras.Model([obs, *rest], model([x, *rest]), name=model.name)  # the LSTM state


def with_action_mask(model: keras.Model, spec: EnvSpec) -> keras.Model:
    """``model`` with the logits of the actions the observation's ``action_mask`` forbids set
    to ``MASKED_LOGIT``: every user of the model (acting, losses, exports) sees legal actions
    only. The mask is read from the flattened observation, the model's only input."""
    obs = model.inputs[0]
    logits, value, *rest = model.outputs  # rest: a recurrent model's next state
    start = spec.mask_offset
    features = math.prod(spec.observation_shape)
    flat = keras.ops.reshape(keras.ops.cast(obs, "float32"), (-1, features))
    mask = flat[:, start : start + spec.num_actions]
    masked = keras.ops.where(mask > 0.5, logits, MASKED_LOGIT)
    inputs = model.inputs if len(model.inputs) > 1 else obs
    return keras.Model(inputs, [masked, value, *rest], name=model.name)
