"""The Ray backend with real actors: one-put weight broadcast, version agreement, learning."""

from dataclasses import replace

import numpy as np
import pytest

from distrl.config import build_config
from distrl.envs import env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import LocalBackend, run_sync
from distrl.runtime.ray_backend import RayBackend

SPEC = env_spec("CartPole-v1")

# Learning check: a random CartPole policy returns ~20; the bar is 150 within this many env
# steps (the defaults reach it in ~80k; the budget leaves room for slower seeds).
TARGET_RETURN = 150.0
STEP_BUDGET = 250_000


def small_config(workers):
    return build_config(
        {"workers": workers, "envs_per_worker": 16 if workers else 32, "rollout_len": 16}
    )


def big_model(config):
    return replace(config, model=replace(config.model, hidden=(256, 256)))  # 0.3 MiB of weights


def test_broadcast_is_one_object_shared_by_all_workers(ray_cluster):
    """A model above INLINE_WEIGHTS_BYTES is put once per version; every worker resolves that
    one reference."""
    ray = ray_cluster
    backend = RayBackend(big_model(small_config(2)), SPEC)
    try:
        w0 = backend.weights()
        assert w0.message is None and isinstance(w0.ref, ray.ObjectRef)  # by reference only
        fragments = [backend.submit(i, w0) for i in range(2)]
        assert [r.policy_version for r in ray.get(fragments)] == [0, 0]
        result, w1 = backend.update(fragments)
        assert result.version == 1 and result.metrics["learner/policy_lag_max"] == 0
        # The learner's own current reference is the one handed out: a single put per version.
        current = ray.get(backend.learner.weights.remote())
        assert current.ref == w1.ref and w1.ref != w0.ref and backend.weights() == w1
        fragments = [backend.submit(i, w1) for i in range(2)]
        assert [r.policy_version for r in ray.get(fragments)] == [1, 1]
        # Weights changed by the update reached the workers.
        message0, message1 = backend.fetch(w0), backend.fetch(w1)
        assert message1.version == 1
        assert any(
            not np.array_equal(a, b)
            for a, b in zip(message0.weights, message1.weights, strict=True)
        )
        # Handing a worker the old reference again does not roll it back.
        stale = ray.get(backend.workers[0].sample.remote(w0.ref))
        assert stale.policy_version == 1
    finally:
        backend.shutdown()


def test_small_weights_travel_by_value_in_each_call(ray_cluster):
    """CartPole's MLP (under INLINE_WEIGHTS_BYTES) goes inside each worker call; the reference
    is still published (for the service and checkpoints) and holds the same weights."""
    from distrl.runtime.ray_backend import INLINE_WEIGHTS_BYTES
    from distrl.types import WeightsMessage

    ray = ray_cluster
    backend = RayBackend(small_config(2), SPEC)
    try:
        w0 = backend.weights()
        assert isinstance(w0.message, WeightsMessage) and w0.version == 0
        assert sum(w.nbytes for w in w0.message.weights) <= INLINE_WEIGHTS_BYTES
        result, w1 = backend.update([backend.submit(i, w0) for i in range(2)])
        assert isinstance(w1.message, WeightsMessage) and w1.version == result.version == 1
        published = ray.get(backend.weights().ref)  # the one put, for the service and checkpoints
        assert published.version == 1
        for a, b in zip(published.weights, w1.message.weights, strict=True):
            np.testing.assert_array_equal(a, b)
        assert [r.policy_version for r in ray.get([backend.submit(i, w1) for i in range(2)])] \
            == [1, 1]  # fmt: skip
        assert ray.get(backend.workers[0].sample.remote(w0.payload)).policy_version == 1
    finally:
        backend.shutdown()


def _tf_threads(actor_self):
    """(intra-op, inter-op) thread settings of TensorFlow in the process this runs in."""
    import tensorflow as tf

    return (
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )


@pytest.mark.parametrize("threads", [None, 1])
def test_learner_threads_reach_the_learner_process(ray_cluster, threads):
    """learner_threads sets both TensorFlow pools in the learner actor; unset, TensorFlow keeps
    its own choice (0)."""
    ray = ray_cluster
    config = small_config(1)
    config = replace(
        config,
        resources=replace(config.resources, learner_threads=threads),
        acting=replace(config.acting, backend="tensorflow"),
    )
    backend = RayBackend(config, SPEC)
    try:
        expected = (threads, threads) if threads is not None else (0, 0)
        assert ray.get(backend.learner.__ray_call__.remote(_tf_threads)) == expected
        # Workers keep one thread each whatever the learner uses.
        assert ray.get(backend.workers[0].__ray_call__.remote(_tf_threads)) == (1, 1)
    finally:
        backend.shutdown()


def test_publications_and_weight_loads_time_each_version_reaching_the_workers(ray_cluster):
    """What benchmarks/cluster_scale.py measures broadcasts with: the learner logs when it
    publishes each version, every worker when it loads one (a refused old one is not logged)."""
    ray = ray_cluster
    backend = RayBackend(small_config(2), SPEC)
    try:
        weights = first = backend.weights()
        for _ in range(3):
            fragments = [backend.submit(i, weights) for i in range(2)]
            _, weights = backend.update(fragments)
        ray.get(backend.workers[0].sample.remote(first.payload))  # version 0 again: refused
        published = dict(ray.get(backend.learner.publications.remote()))
        assert sorted(published) == [0, 1, 2, 3]
        assert all(published[v] < published[v + 1] for v in range(3))
        for worker in backend.workers:
            loads = ray.get(worker.weight_loads.remote())
            assert [v for v, _ in loads] == [0, 1, 2]  # each acted with 0, 1 and 2, once each
            assert all(published[v] <= at for v, at in loads)  # loaded after it was published
    finally:
        backend.shutdown()


@pytest.mark.parametrize("overlap", [False, True])
def test_sync_a2c_with_two_ray_workers_learns_cartpole(ray_cluster, overlap):
    backend = RayBackend(replace(small_config(2), overlap=overlap), SPEC)
    state = TrainingProgress()
    try:
        reason = run_sync(backend, state, StopRule(TARGET_RETURN, STEP_BUDGET, None),
                          overlap=overlap)  # fmt: skip
    finally:
        backend.shutdown()
    assert reason == "solved", f"mean return {state.mean_return} after {state.env_steps} steps"
    assert state.mean_return is not None and state.mean_return >= TARGET_RETURN
    assert state.version == state.updates


@pytest.mark.slow
def test_sync_a2c_in_process_learns_cartpole():
    backend = LocalBackend(small_config(0), SPEC)
    state = TrainingProgress()
    reason = run_sync(backend, state, StopRule(TARGET_RETURN, STEP_BUDGET, None))
    assert reason == "solved", f"mean return {state.mean_return} after {state.env_steps} steps"


def test_untrained_policy_is_near_random():
    """The baseline the learning tests improve on: about 20 per episode."""
    backend = LocalBackend(small_config(0), SPEC)
    fragments = [backend.submit(0, backend.weights())]
    returns = np.concatenate([f.episode_returns for f in fragments])
    assert returns.size > 5 and 8 < returns.mean() < 40


def test_workers_0_same_seed_reproduces_first_fragments_and_update():
    """Same seed: same initial weights, same first fragment, same first update."""
    runs = []
    for seed in (11, 11, 12):
        backend = LocalBackend(build_config({"workers": 0, "seed": seed}), SPEC)
        weights = backend.weights()
        fragment = backend.submit(0, weights)
        result, _ = backend.update([fragment])
        runs.append((weights, fragment, result))
        backend.shutdown()
    (w_a, f_a, u_a), (w_b, f_b, u_b), (_, f_c, _) = runs
    for a, b in zip(w_a.message.weights, w_b.message.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(f_a.observations, f_b.observations)
    np.testing.assert_array_equal(f_a.actions, f_b.actions)
    assert u_a.metrics["learner/policy_loss"] == u_b.metrics["learner/policy_loss"]
    assert not np.array_equal(f_a.actions, f_c.actions)
