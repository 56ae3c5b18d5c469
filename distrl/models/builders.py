"""Keras builders: the built-in Dense actor-critics (from their plan) and user builders."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

import keras

from distrl.config import ConfigError, ModelConfig
from distrl.envs import EnvSpec
from distrl.models.plan import DensePlan, dense_plan

Builder = Callable[[EnvSpec, ModelConfig], keras.Model]


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


def _tower(x: keras.KerasTensor, sizes: Sequence[int], activation: str, name: str):
    for i, units in enumerate(sizes):
        x = keras.layers.Dense(units, activation=activation, name=f"{name}_{i}")(x)
    return x


def heads(policy_x, value_x, spec: EnvSpec):
    if spec.action_kind != "discrete":
        raise ConfigError(
            f"the actor-critic models need a discrete action space; {spec.env_id} "
            "has a continuous one"
        )
    # Small initial logits keep the first policy close to uniform (as in SB3 and CleanRL).
    logits = keras.layers.Dense(
        spec.num_actions,
        kernel_initializer=keras.initializers.Orthogonal(gain=0.01),
        name="logits",
    )(policy_x)
    value = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.Orthogonal(gain=1.0), name="value"
    )(value_x)
    return logits, value


def build_from_plan(spec: EnvSpec, plan: DensePlan) -> keras.Model:
    """A shared trunk with two heads, or separate policy and value towers."""
    obs, x = observation_input(spec)
    policy_x = _tower(x, plan.policy_hidden, plan.activation, plan.tower_name)
    value_x = policy_x if plan.shared else _tower(x, plan.value_hidden, plan.activation, "value")
    logits, value = heads(policy_x, value_x, spec)
    return keras.Model(obs, [logits, value], name="actor_critic")


def resolve_builder(name: str) -> Builder:
    """A user's builder given as ``package.module:function``."""
    module_name, sep, attr = name.partition(":")
    if not sep:
        raise ConfigError(
            f"model.name {name!r} is not a built-in model nor package.module:function"
        )
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"model.name {name!r} cannot be imported: {e}") from None
    if not callable(fn):
        raise ConfigError(f"model.name {name!r} is not callable")
    return fn


def build_model(spec: EnvSpec, config: ModelConfig) -> keras.Model:
    """The Keras model for ``config``: outputs ``[logits [N, A], value [N, 1]]``."""
    from distrl.models.cnn import CNN_BUILDERS

    plan = dense_plan(config)
    if plan is not None:
        model = build_from_plan(spec, plan)
    elif config.name in CNN_BUILDERS:
        model = CNN_BUILDERS[config.name](spec, config)
    else:
        model = resolve_builder(config.name)(spec, config)
    if not isinstance(model, keras.Model) or len(model.outputs) != 2:
        raise ConfigError(
            f"model builder {config.name!r} must return a keras.Model with outputs [logits, value]"
        )
    return model
