"""REINFORCE: Monte Carlo returns, episodes assembled across fragments, chunked gradients, and
learning CartPole."""

from dataclasses import replace

import numpy as np
import pytest

from distrl.agents.pg.returns import discounted_returns, normalize_returns
from distrl.config import build_config
from distrl.envs import env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import LocalBackend, run_sync
from tests.parts import learner_of, worker_of

SPEC = env_spec("CartPole-v1")


def test_discounted_returns_and_the_reset_at_each_point():
    r = np.array([0.0, 0.0, 1.0, 0.0, -1.0])
    np.testing.assert_allclose(
        discounted_returns(r, 0.5),
        [0.25 - 0.5**4 / 1, 0.5 - 0.5**3, 1 - 0.25, -0.5, -1.0],
    )
    # Reset at every non-zero reward: each point only credits the steps since the last one.
    np.testing.assert_allclose(discounted_returns(r, 0.5, True), [0.25, 0.5, 1.0, -0.5, -1.0])


def test_normalisation_modes():
    g = np.array([1.0, 2.0, 3.0, 6.0])
    std = np.std(g - g.mean())
    np.testing.assert_allclose(normalize_returns(g, "none"), g)
    np.testing.assert_allclose(normalize_returns(g, "std"), g / std, rtol=1e-6)
    z = normalize_returns(g, "standardize")
    assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-6


def setup(**pg):
    config = build_config({"algo": "pg", "envs_per_worker": 2, "rollout_len": 8, "pg": pg})
    learner = learner_of(config, spec=SPEC, seed=0)
    worker = worker_of(config, spec=SPEC, seed=1, index=3)
    return config, learner, worker


def test_episodes_are_assembled_across_fragments_per_env_stream():
    _, learner, worker = setup(episodes_per_update=1000)  # only collect
    fragments = [worker.sample(learner.weights()) for _ in range(30)]  # 240 steps per env
    for f in fragments:
        assert not learner.update([f]).applied
    finished = sum(len(f.episode_returns) for f in fragments)
    assert len(learner._complete) == finished > 2
    # Each assembled episode has exactly the length and return the worker reported.
    lengths = sorted(int(x) for f in fragments for x in f.episode_lengths)
    assert sorted(len(rew) for _, _, rew in learner._complete) == lengths
    assert sum(len(r) for _, _, r in learner._complete) + sum(
        len(s[2]) for parts in learner._partial.values() for s in parts
    ) == sum(f.env_steps for f in fragments)  # every step is in exactly one place
    assert set(learner._partial) <= {(3, 0), (3, 1)}
    assert learner._partial
    learner.update([replace(fragments[0], env_errors=1)])  # its envs were recreated
    # The unfinished episodes of the old envs were dropped: what is left comes from this one.
    for parts in learner._partial.values():
        assert len(parts) == 1 and np.shares_memory(parts[0][2], fragments[0].rewards)


def test_summed_chunk_gradients_equal_one_big_batch():
    outcomes = []
    for chunk in (4096, 7):
        _, learner, worker = setup(episodes_per_update=2, chunk=chunk, baseline=True)
        result = None
        while result is None or not result.applied:
            result = learner.update([worker.sample(learner.weights())])
        outcomes.append((learner.model.get_weights(), result.metrics["learner/grad_norm"]))
    (w_big, n_big), (w_chunked, n_chunked) = outcomes
    assert n_big == pytest.approx(n_chunked, rel=1e-4)
    for a, b in zip(w_big, w_chunked, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_reinforce_learns_cartpole():
    config = build_config({"algo": "pg", "workers": 0, "envs_per_worker": 8, "rollout_len": 32,
                           "pg": {"episodes_per_update": 8, "lr": 0.01}})  # fmt: skip
    backend = LocalBackend(config, SPEC)
    state = TrainingProgress()
    reason = run_sync(backend, state, StopRule(300, 200_000, None))
    assert reason == "solved", (state.env_steps, state.mean_return)
    assert state.metrics["learner/episodes_trained"] >= 8


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_reinforce_on_ray_workers_joins_each_workers_streams(ray_cluster, mode):
    from distrl.runtime import LOOPS
    from distrl.runtime.ray_backend import RayBackend

    # At lr 0.01 without an entropy bonus, 2 of 38 async runs collapsed to one action (return
    # about 9) before they learned; with half the step and a small bonus none of 60 async and
    # 20 sync runs ended below 200 after 30k env steps.
    config = build_config(
        {"algo": "pg", "mode": mode, "workers": 2, "envs_per_worker": 4, "rollout_len": 16,
         "pg": {"episodes_per_update": 4, "lr": 0.005, "entropy_coef": 0.01}}
    )  # fmt: skip
    backend = RayBackend(config, SPEC)
    state = TrainingProgress()
    try:
        LOOPS[mode](backend, state, StopRule(None, 30_000, None))
    finally:
        backend.shutdown()
    trained = state.metrics["learner/episodes_trained"]
    assert state.updates >= 5 and trained >= 4 * state.updates
    assert trained <= state.episodes  # only finished episodes were trained on
    assert state.mean_return > 40  # learning (random play: about 20)
