"""Named Keras builders for actor-critic models over flat observations."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

import keras

from distrl.config import ConfigError, ModelConfig
from distrl.envs import EnvSpec

Builder = Callable[[EnvSpec, ModelConfig], keras.Model]


def _inputs(spec: EnvSpec) -> tuple[keras.KerasTensor, keras.KerasTensor]:
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


def _heads(policy_x, value_x, spec: EnvSpec):
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


def mlp(spec: EnvSpec, config: ModelConfig) -> keras.Model:
    """Separate policy and value MLPs over the same input (sizes ``hidden``/``value_hidden``)."""
    obs, x = _inputs(spec)
    value_sizes = config.value_hidden if config.value_hidden is not None else config.hidden
    pi = _tower(x, config.hidden, config.activation, "policy")
    vf = _tower(x, value_sizes, config.activation, "value")
    logits, value = _heads(pi, vf, spec)
    return keras.Model(obs, [logits, value], name="mlp_actor_critic")


def shared_mlp(spec: EnvSpec, config: ModelConfig) -> keras.Model:
    """One trunk, a policy head and a value head on top of it."""
    obs, x = _inputs(spec)
    trunk = _tower(x, config.hidden, config.activation, "trunk")
    logits, value = _heads(trunk, trunk, spec)
    return keras.Model(obs, [logits, value], name="shared_actor_critic")


def seed004_actor_critic(spec: EnvSpec, config: ModelConfig) -> keras.Model:
    """Seeds 003/004: one shared 128-unit ReLU layer, softmax policy head and value head.

    The policy head outputs logits; the softmax is applied by the loss and the sampler.
    """
    return shared_mlp(spec, ModelConfig(name="shared_mlp", hidden=(128,), activation="relu"))


def seed000_actor_critic(spec: EnvSpec, config: ModelConfig) -> keras.Model:
    """Seed 000: a separate actor of 3x320 and critic of 3x640 ReLU layers."""
    sizes = ModelConfig(
        name="mlp", hidden=(320, 320, 320), value_hidden=(640, 640, 640), activation="relu"
    )
    return mlp(spec, sizes)


BUILDERS: dict[str, Builder] = {
    "mlp": mlp,
    "shared_mlp": shared_mlp,
    "seed004_actor_critic": seed004_actor_critic,
    "seed000_actor_critic": seed000_actor_critic,
}


def resolve_builder(name: str) -> Builder:
    """A registered name, or ``package.module:function`` for a user's own builder."""
    if name in BUILDERS:
        return BUILDERS[name]
    module_name, sep, attr = name.partition(":")
    if not sep:
        raise ConfigError(
            f"model.name {name!r} is not one of {', '.join(BUILDERS)} nor package.module:function"
        )
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"model.name {name!r} cannot be imported: {e}") from None
    if not callable(fn):
        raise ConfigError(f"model.name {name!r} is not callable")
    return fn


def build_model(spec: EnvSpec, config: ModelConfig) -> keras.Model:
    model = resolve_builder(config.name)(spec, config)
    if not isinstance(model, keras.Model) or len(model.outputs) != 2:
        raise ConfigError(
            f"model builder {config.name!r} must return a keras.Model with outputs [logits, value]"
        )
    return model
