"""Named model builders and user builders given as package.module:function."""

import keras
import numpy as np
import pytest

from distrl.config import ConfigError, ModelConfig, build_config
from distrl.envs import env_spec
from distrl.models.builders import build_model

SPEC = env_spec("CartPole-v1")


def tiny_builder(spec, config):
    """A user's own builder, as ``model.name: package.module:function`` names it."""
    obs = keras.Input(spec.observation_shape)
    h = keras.layers.Dense(5, activation="relu")(obs)
    return keras.Model(obs, [keras.layers.Dense(spec.num_actions)(h), keras.layers.Dense(1)(h)])


def dense_units(model):
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def one_output(spec, config):
    """A builder with the wrong outputs (no value head): refused when the learner builds it."""
    obs = keras.Input(spec.observation_shape)
    return keras.Model(obs, keras.layers.Dense(spec.num_actions)(obs))


@pytest.mark.parametrize(
    ("config", "units"),
    [
        (ModelConfig(name="mlp", hidden=(32, 16)), [32, 32, 16, 16, 2, 1]),
        (ModelConfig(name="mlp", hidden=(8,), value_hidden=(4, 4)), [8, 4, 4, 2, 1]),
        (ModelConfig(name="shared_mlp", hidden=(24,)), [24, 2, 1]),
        (ModelConfig(name="seed004_actor_critic"), [128, 2, 1]),
        (ModelConfig(name="seed000_actor_critic"), [320, 640, 320, 640, 320, 640, 2, 1]),
        (ModelConfig(name="tests.models.test_builders:tiny_builder"), [5, 2, 1]),
    ],
)
def test_builders_output_logits_and_value(config, units):
    model = build_model(SPEC, config)
    assert sorted(dense_units(model)) == sorted(units)
    logits, value = model(np.zeros((3, 4), np.float32))
    assert tuple(logits.shape) == (3, 2) and tuple(value.shape) == (3, 1)


def test_unimportable_user_builder_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot be imported"):
        build_model(SPEC, ModelConfig(name="no_such_pkg.mod:fn"))


def test_mixed_bfloat16_computes_in_bfloat16_and_keeps_float32_variables_and_outputs():
    from distrl.models.precision import bfloat16_warning, cpu_has_fast_bfloat16

    config = build_config({"model": {"precision": "mixed_bfloat16"}})
    model = build_model(env_spec("CartPole-v1"), config.model)
    assert all(v.dtype == "float32" for v in model.weights)
    assert all(out.dtype == "float32" for out in model.outputs)
    assert any(str(getattr(layer, "compute_dtype", "")) == "bfloat16" for layer in model.layers)
    plain = build_model(env_spec("CartPole-v1"), build_config({}).model)
    assert not any(str(getattr(layer, "compute_dtype", "")) == "bfloat16" for layer in plain.layers)
    assert cpu_has_fast_bfloat16("flags\t: fpu sse avx512f\n") is False
    assert cpu_has_fast_bfloat16("flags\t: fpu avx512_bf16 sse\n") is True
    assert bfloat16_warning("float32", 0) is None and bfloat16_warning("mixed_bfloat16", 1) is None


def test_a_gpu_below_compute_capability_8_warns_that_bfloat16_is_emulated():
    from distrl.models.precision import gpu_bfloat16_warning

    slow = gpu_bfloat16_warning("mixed_bfloat16", (7, 0))  # V100
    assert slow is not None and "7.0" in slow and "\n" not in slow
    assert gpu_bfloat16_warning("mixed_bfloat16", (8, 0)) is None  # A100
    assert gpu_bfloat16_warning("mixed_bfloat16", (9, 0)) is None  # H100
    assert gpu_bfloat16_warning("float32", (7, 5)) is None
    assert gpu_bfloat16_warning("mixed_bfloat16", None) is None  # not reported: no guess


@pytest.mark.parametrize(("precision", "jit"), [("float32", True), ("mixed_bfloat16", False)])
def test_workers_act_through_xla_in_float32_and_through_the_graph_in_bfloat16(precision, jit):
    from distrl.agents.acting import model_forward

    config = build_config({"acting": {"backend": "tensorflow", "jit": True},
                           "model": {"precision": precision}})  # fmt: skip
    forward = model_forward(env_spec("CartPole-v1"), config.algorithm_sections(), tf_threads=1)
    assert forward.jit is jit
    params = forward.params(np.zeros((3, 4), np.float32))
    assert params.shape == (3, 2) and params.dtype == np.float32
