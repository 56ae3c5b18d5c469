"""RolloutWorker in-process: fragment layout, truncation bootstrapping data, version gating,
seeding."""

import subprocess
import sys
from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest

from distrl.config import build_config
from distrl.envs import env_spec
from tests.parts import learner_of, worker_of

SHORT_ENV = "distrl-test/CartPoleLimit5-v0"
LIMIT = 5  # episodes end by truncation after 5 steps unless the pole falls first (it cannot)
gym.register(
    SHORT_ENV, entry_point="gymnasium.envs.classic_control:CartPoleEnv", max_episode_steps=LIMIT
)


def make_worker(env="CartPole-v1", envs=3, T=12, seed=0):
    config = build_config({"env": env, "envs_per_worker": envs, "rollout_len": T})
    spec = env_spec(env)
    worker = worker_of(config, spec=spec, seed=seed)
    learner = learner_of(config, spec=spec, seed=seed)
    return worker, learner


def test_fragment_is_time_major_with_env_dtypes():
    worker, learner = make_worker(envs=3, T=12)
    r = worker.sample(learner.weights())
    assert r.observations.shape == (12, 3, 4) and r.observations.dtype == np.float32
    assert r.actions.shape == (12, 3) and r.actions.dtype == np.int64
    assert r.rewards.shape == r.terminated.shape == r.truncated.shape == (12, 3)
    assert r.behaviour_logp.shape == (12, 3) and np.all(r.behaviour_logp <= 0)
    assert r.last_observations.shape == (3, 4)
    assert r.final_observations.shape == (int((r.terminated | r.truncated).sum()), 4)
    assert r.policy_version == 0 and r.env_steps == 36


def test_truncated_steps_keep_the_true_final_observation():
    worker, learner = make_worker(env=SHORT_ENV, envs=2, T=2 * LIMIT, seed=3)
    r = worker.sample(learner.weights())
    assert r.truncated.sum() == 4 and not r.terminated.any()  # two episodes per env copy
    assert list(r.episode_lengths) == [LIMIT] * 4 and list(r.episode_returns) == [5.0] * 4
    # Replay each env copy on its own with the worker's seeds and actions: the stored final
    # observations must be what the episode really ended in, not the autoreset observation.
    env_seeds = np.random.SeedSequence(3).spawn(2)[0].generate_state(2).tolist()
    finals = {}
    for b in range(2):
        env = gym.make(SHORT_ENV)
        env.reset(seed=env_seeds[b])
        for t in range(2 * LIMIT):
            state = np.asarray(env.unwrapped.state, dtype=np.float32)  # what the copy showed
            np.testing.assert_allclose(r.observations[t, b], state)
            obs, _, _, truncated, _ = env.step(int(r.actions[t, b]))
            if truncated:
                finals[(t, b)] = obs
                env.reset()
    t_idx, b_idx = np.nonzero(r.truncated)
    for k, (t, b) in enumerate(zip(t_idx, b_idx, strict=True)):
        np.testing.assert_allclose(r.final_observations[k], finals[(t, b)], rtol=1e-6)
        assert not np.allclose(r.final_observations[k], r.observations[(t + 1) % (2 * LIMIT), b])


def test_version_gating_ignores_stale_weights():
    worker, learner = make_worker()
    first = learner.weights()
    assert worker.set_weights(first)
    zeros = replace(first, weights=[np.zeros_like(w) for w in first.weights])
    obs = np.ones((2, 4), np.float32)
    logits = worker.policy.forward.params(obs)
    assert not worker.set_weights(zeros)  # version 0 again: not newer, ignored
    assert worker.version == 0
    np.testing.assert_array_equal(worker.policy.forward.params(obs), logits)
    assert worker.set_weights(replace(zeros, version=1)) and worker.version == 1
    assert not worker.policy.forward.params(obs).any()  # all-zero weights: zero logits


def test_sample_without_weights_is_an_error():
    worker, _ = make_worker()
    with pytest.raises(RuntimeError, match="before any weights"):
        worker.sample()


def test_same_seed_same_first_fragments_different_seed_differs():
    a, la = make_worker(seed=7)
    b, lb = make_worker(seed=7)
    c, lc = make_worker(seed=8)
    ra, rb, rc = a.sample(la.weights()), b.sample(lb.weights()), c.sample(lc.weights())
    np.testing.assert_array_equal(ra.observations, rb.observations)
    np.testing.assert_array_equal(ra.actions, rb.actions)
    assert not np.array_equal(ra.observations, rc.observations)


def test_worker_with_a_builtin_model_never_imports_tensorflow():
    code = (
        "import sys, numpy as np\n"
        "from distrl.config import build_config\n"
        "from distrl.envs import env_spec\n"
        "from distrl.rollout import RolloutWorker\n"
        "from distrl.types import WeightsMessage\n"
        "c = build_config()\n"
        "w = RolloutWorker(settings=c.rollout_settings(), algorithm=c.algo,\n"
        "                  spec=env_spec('CartPole-v1'), worker_index=0,\n"
        "                  seed=np.random.SeedSequence(0))\n"
        "layers = ('policy_0', 'policy_1', 'logits')\n"
        "names = [f'{l}/{p}' for l in layers for p in ('kernel', 'bias')]\n"
        "shapes = [(4, 64), (64,), (64, 64), (64,), (64, 2), (2,)]\n"
        "w.sample(WeightsMessage(0, tuple(names), [np.zeros(s, np.float32) for s in shapes]))\n"
        "print('tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
