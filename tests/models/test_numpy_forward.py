"""The workers' NumPy forward pass must give the Keras model's logits, for every built-in model."""

import keras
import numpy as np
import pytest

from distrl.config import ModelConfig, build_config
from distrl.envs import env_spec
from distrl.models.builders import build_model
from distrl.models.keras_forward import KerasForward
from distrl.models.numpy_forward import NumpyForward, numpy_forward_for
from tests.parts import policy_of

SPEC = env_spec("CartPole-v1")


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(name="mlp", hidden=(32, 16), activation="tanh"),
        ModelConfig(name="mlp", hidden=(8,), value_hidden=(4, 4), activation="relu"),
        ModelConfig(name="shared_mlp", hidden=(24, 12), activation="elu"),
        ModelConfig(name="shared_mlp", hidden=(6,), activation="sigmoid"),
        ModelConfig(name="seed004_actor_critic"),
        ModelConfig(name="seed000_actor_critic"),
    ],
)
def test_numpy_logits_match_keras(config):
    model = build_model(SPEC, config)
    rng = np.random.default_rng(0)
    # Random weights everywhere: the initial logits layer is near zero and would hide errors.
    weights = [rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    names = [v.path for v in model.weights]
    forward = numpy_forward_for(config)
    assert isinstance(forward, NumpyForward)
    forward.set_weights(names, weights)
    obs = rng.normal(size=(7, 4)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(model(obs)[0])
    np.testing.assert_allclose(forward.params(obs), expected, rtol=1e-4, atol=1e-4)


def test_policy_choice_follows_the_acting_key():
    numpy_policy = policy_of(build_config(), spec=SPEC)
    assert isinstance(numpy_policy.forward, NumpyForward)
    tf_policy = policy_of(build_config({"acting.backend": "tensorflow"}), spec=SPEC)
    assert isinstance(tf_policy.forward, KerasForward)
    custom = build_config({"model.name": "distrl.models.builders:build_model"})
    assert numpy_forward_for(custom.model) is None  # user builders act through Keras


def test_both_forward_passes_sample_the_same_actions():
    config = build_config()
    weights_model = build_model(SPEC, config.model)
    names = tuple(v.path for v in weights_model.weights)
    weights = weights_model.get_weights()
    obs = np.random.default_rng(1).normal(size=(64, 4)).astype(np.float32)
    actions = []
    for acting in ("numpy", "tensorflow"):
        policy = policy_of(build_config({"acting.backend": acting}), spec=SPEC)
        policy.forward.set_weights(names, weights)
        actions.append(policy.act(obs, np.random.default_rng(5))[0])
    np.testing.assert_array_equal(actions[0], actions[1])
