"""Exports that act without distrl: the SavedModel (``serving_default``) loaded by TensorFlow
alone and the ONNX file run by onnxruntime alone give the greedy actions of
``Policy.act(deterministic=True)`` on raw observations, for a discrete MLP policy, a Gaussian
policy with observation normalization and an Atari CNN; the policy of a checkpoint acts where
the env's package cannot be imported."""

import os
import subprocess
import sys

import numpy as np
import pytest

import distrl
from distrl.config import build_config
from distrl.envs import EnvOptions, env_spec
from distrl.export import main as export
from distrl.ops.checkpoint import write_checkpoint
from tests.parts import learner_of, worker_of

pytestmark = pytest.mark.slow  # TensorFlow traces and subprocesses

CASES = {
    "a2c-cartpole": {"algo": "a2c", "env": "CartPole-v1"},
    "ppo-pendulum-normalized": {"algo": "ppo", "env": "Pendulum-v1",
                                "normalize": {"observations": True}},
    "a2c-atari-cnn": {"algo": "a2c", "env": "PongNoFrameskip-v4", "model": {"name": "nature_cnn"},
                      "acting": {"backend": "tensorflow"}},
}  # fmt: skip

SAVEDMODEL = """
import sys, numpy as np, tensorflow as tf
served = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
obs = np.load(sys.argv[2])
out = served(observations=tf.constant(obs))
np.save(sys.argv[3], out["actions"].numpy())
assert "distrl" not in sys.modules
"""
ONNX = """
import sys, numpy as np, onnxruntime
session = onnxruntime.InferenceSession(sys.argv[1])
names = [o.name for o in session.get_outputs()]
actions = session.run(None, {"observations": np.load(sys.argv[2])})[names.index("actions")]
np.save(sys.argv[3], actions)
assert "distrl" not in sys.modules and "tensorflow" not in sys.modules
"""


def checkpoint(tmp_path, keys):
    """A checkpoint after two updates (so normalization statistics are not the identity)."""
    config = build_config({"workers": 0, "envs_per_worker": 2, "rollout_len": 16,
                           "samples_per_update": None, **keys})  # fmt: skip
    spec = env_spec(config.env, config.atari, EnvOptions.of(config))
    learner = learner_of(config, spec=spec)
    if config.env != "PongNoFrameskip-v4":  # the CNN stays untrained: its forward pass counts
        worker = worker_of(config, spec=spec)
        for _ in range(2):
            learner.update([worker.sample(learner.weights())])
    arrays, scalars = learner.checkpoint()
    path = write_checkpoint(tmp_path / "ck", updates=2, arrays=arrays, scalars=scalars,
                            counters={}, config=config.to_dict(), policy=learner.policy_bytes(),
                            spec=spec.to_dict())  # fmt: skip
    return path, spec


def run(script, *args):
    out = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]


@pytest.mark.parametrize("case", list(CASES))
def test_savedmodel_and_onnx_act_as_the_policy_without_distrl(tmp_path, case):
    path, spec = checkpoint(tmp_path, CASES[case])
    assert export(["--checkpoint", str(path), "--savedmodel", str(tmp_path / "out" / "sm"),
                   "--onnx", str(tmp_path / "out" / "p.onnx")]) == 0  # folders created  # fmt: skip
    import gymnasium as gym

    space = gym.spaces.Box(-3.0, 3.0, spec.observation_shape, np.float32)
    if spec.observation_dtype == "uint8":
        space = gym.spaces.Box(0, 255, spec.observation_shape, np.uint8)
    space.seed(0)
    obs = np.stack([space.sample() for _ in range(100)])
    np.save(tmp_path / "obs.npy", obs)
    expected = distrl.Policy.from_checkpoint(path).act(obs, deterministic=True)
    run(SAVEDMODEL, tmp_path / "out" / "sm", tmp_path / "obs.npy", tmp_path / "sm.npy")
    run(ONNX, tmp_path / "out" / "p.onnx", tmp_path / "obs.npy", tmp_path / "onnx.npy")
    for name in ("sm", "onnx"):
        got = np.load(tmp_path / f"{name}.npy")
        if spec.action_kind == "continuous":
            np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=name)
        else:
            np.testing.assert_array_equal(got, expected, err_msg=name)


ELSEWHERE = """
import sys, numpy as np, distrl
policy = distrl.Policy.from_checkpoint(sys.argv[1])
obs = {"action_mask": np.array([0, 1, 0, 0, 1, 0], np.int8),
       "observation": np.eye(6, dtype=np.float32)[4]}
assert policy.act(obs, deterministic=True) in (1, 4)  # the env's own Dict observation
batch = {key: np.stack([value] * 3) for key, value in obs.items()}
actions, state = policy.predict(batch, deterministic=True)
assert actions.shape == (3,) and set(actions.tolist()) <= {1, 4} and state is None
# Its policy.keras carries the same: no env or algo to give.
alone = distrl.Policy.from_keras(sys.argv[1] + "/policy.keras")
assert (alone.act(batch, deterministic=True) == actions).all()
assert not any(name == "tests" or name.startswith("tests.") for name in sys.modules)
try:
    import tests.envs.spaces  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("the env's package was importable here")
"""


def test_a_checkpoints_policy_acts_where_the_env_package_cannot_be_imported(tmp_path):
    """The spaces are saved with the checkpoint and inside its policy.keras: a process that
    cannot import the env's package (another folder, no PYTHONPATH) loads the policy from either
    and acts on Dict observations."""
    path, _ = checkpoint(tmp_path, {"algo": "ppo", "env": "IllegalMoves-v0",
                                    "env_imports": ["tests.envs.spaces"]})  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", ELSEWHERE, str(path)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]


RECURRENT_SAVEDMODEL = """
import sys, numpy as np, tensorflow as tf
served = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
obs = np.load(sys.argv[2])  # [T, N, *obs]: an episode of N envs, stepped with the state
state = np.zeros((obs.shape[1], int(sys.argv[4])), np.float32)
actions = []
for t in range(len(obs)):
    out = served(observations=tf.constant(obs[t]), state=tf.constant(state))
    actions.append(out["actions"].numpy())
    state = out["next_state"].numpy()
np.save(sys.argv[3], np.stack(actions))
assert "distrl" not in sys.modules
"""
RECURRENT_ONNX = """
import sys, numpy as np, onnxruntime
session = onnxruntime.InferenceSession(sys.argv[1])
names = [o.name for o in session.get_outputs()]
obs = np.load(sys.argv[2])
state = np.zeros((obs.shape[1], int(sys.argv[4])), np.float32)
actions = []
for t in range(len(obs)):
    out = session.run(None, {"observations": obs[t], "state": state})
    actions.append(out[names.index("actions")])
    state = out[names.index("next_state")]
np.save(sys.argv[3], np.stack(actions))
assert "distrl" not in sys.modules and "tensorflow" not in sys.modules
"""


def test_a_recurrent_policys_exports_take_and_return_the_state(tmp_path):
    """An LSTM policy's SavedModel and ONNX take ``state`` and return the next one: stepping
    them through a sequence gives Policy.act's actions, state carried the same way."""
    path, _ = checkpoint(tmp_path, {"algo": "ppo", "env": "CartPole-v1",
                                       "model": {"lstm_size": 8}})  # fmt: skip
    assert export(["--checkpoint", str(path), "--savedmodel", str(tmp_path / "sm"),
                   "--onnx", str(tmp_path / "p.onnx")]) == 0  # fmt: skip
    obs = np.random.default_rng(0).normal(size=(6, 10, 4)).astype(np.float32)
    np.save(tmp_path / "obs.npy", obs)
    policy = distrl.Policy.from_checkpoint(path)
    state, expected = None, []
    for t in range(len(obs)):
        actions, state = policy.act(obs[t], deterministic=True, state=state)
        expected.append(actions)
    run(RECURRENT_SAVEDMODEL, tmp_path / "sm", tmp_path / "obs.npy", tmp_path / "sm.npy", 16)
    run(RECURRENT_ONNX, tmp_path / "p.onnx", tmp_path / "obs.npy", tmp_path / "onnx.npy", 16)
    for name in ("sm", "onnx"):
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.npy"), np.stack(expected))
