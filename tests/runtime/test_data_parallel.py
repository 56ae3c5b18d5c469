"""Data-parallel learners (resources.learners) on real Ray: the group's update is one learner's
on the whole batch; a learner lost mid-run restarts the group from the checkpoint."""

import dataclasses
import os
import signal
import threading

import numpy as np
import pytest
import ray

from distrl.agents import data_parallel, registry
from distrl.config import ConfigError, build_config
from distrl.envs import env_spec
from distrl.ops.tracking import StopRule, TrainingProgress
from distrl.runtime import LOOPS
from distrl.runtime.ray_backend import RayBackend, node_of
from tests.parts import learner_of, worker_of

SPEC = env_spec("CartPole-v1")
UPDATES = 10


class Summing:
    """The group's collectives for learners called one after another in this process (a pure
    unit test of the arithmetic): rank r's call k gets the sum of every rank's call k."""

    def __init__(self, contributions):
        self.contributions, self.rank, self.size, self.calls = contributions, 0, 2, 0

    def allreduce(self, x):
        self.calls += 1
        return sum(self.contributions)


def test_mean_gradients_is_the_mean_over_every_row():
    rng = np.random.default_rng(0)
    shapes = [(3, 2), (2,)]
    rows = [5, 3]
    per_row = [[rng.normal(size=(n, *s)).astype(np.float32) for s in shapes] for n in rows]
    flats = [data_parallel.ravel([g.mean(0) for g in learner]) for learner in per_row]
    # each learner's vector as mean_gradients builds it: rows x mean, rows, rows x extra
    vectors = [np.concatenate([f * n, [n], [0.5 * n]]) for f, n in zip(flats, rows, strict=True)]
    collective = Summing(vectors)
    mean, (extra,) = data_parallel.mean_gradients(collective, flats[0], rows[0], 8, [0.5])
    for k, part in enumerate(data_parallel.unravel(mean, shapes)):
        everything = np.concatenate([per_row[0][k], per_row[1][k]])
        np.testing.assert_allclose(part, everything.mean(0), rtol=1e-5)
    assert extra == pytest.approx(0.5) and collective.calls == 1
    empty, _ = data_parallel.mean_gradients(Summing([np.zeros(9)]), None, 0, 8)
    assert empty is None  # no learner had a row: nothing to apply


def test_shares_cover_every_row_once():
    for n, parts in [(10, 3), (2, 4), (0, 2), (7, 7)]:
        slices = data_parallel.shares(n, parts)
        assert len(slices) == parts
        covered = np.concatenate([np.arange(n)[s] for s in slices])
        np.testing.assert_array_equal(covered, np.arange(n))
        sizes = [len(np.arange(n)[s]) for s in slices]
        assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize(
    "size, length, dtype",
    [(2, 7, np.float32), (3, 10, np.float64), (4, 3, np.float32), (1, 5, np.float64)],
)
def test_the_socket_ring_sums_every_member_s_vector_on_every_member(size, length, dtype):
    from distrl.runtime.ring import SocketRing

    rng = np.random.default_rng(size)
    vectors = [rng.normal(size=length).astype(dtype) for _ in range(size)]
    rings = [SocketRing("127.0.0.1", timeout_s=30) for _ in range(size)]
    addresses = [r.address for r in rings]
    outputs: dict[int, list] = {}

    def member(rank):
        rings[rank].connect(addresses, rank)
        # twice: a second round on the same connections
        outputs[rank] = [rings[rank].allreduce(vectors[rank]) for _ in range(2)]

    threads = [threading.Thread(target=member, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for r in rings:
        r.close()
    assert sorted(outputs) == list(range(size))
    for rank in range(size):
        for out in outputs[rank]:
            assert out.dtype == dtype
            np.testing.assert_allclose(out, np.sum(vectors, axis=0), rtol=1e-6)
            np.testing.assert_array_equal(out, outputs[0][0])  # the same bits everywhere


def test_a_member_that_leaves_the_ring_is_a_connection_error_for_the_others():
    from distrl.runtime.ring import SocketRing

    rings = [SocketRing("127.0.0.1", timeout_s=30) for _ in range(2)]
    addresses = [r.address for r in rings]
    joiner = threading.Thread(target=rings[1].connect, args=(addresses, 1))
    joiner.start()
    rings[0].connect(addresses, 0)
    joiner.join(30)
    rings[1].close()  # as a learner's process dies: its sockets close
    with pytest.raises(ConnectionError, match="learner 0"):
        rings[0].allreduce(np.ones(1000))
    rings[0].close()


def fragments(config, rounds, per_round):
    """``rounds`` batches of ``per_round`` CartPole fragments (from 2 in-process workers acting
    with a fresh learner's weights)."""
    weights = learner_of(config, spec=SPEC, seed=1).weights()
    workers = [worker_of(config, spec=SPEC, seed=s, index=s) for s in range(2)]
    try:
        return [[workers[i % 2].sample(weights) for i in range(per_round)] for _ in range(rounds)]
    finally:
        for w in workers:
            w.close()


@pytest.mark.parametrize(
    "algo, keys",
    [
        ("a2c", {"a2c.normalize_advantages": False}),
        # one minibatch of the whole batch per epoch: the same rows in every step
        (
            "ppo",
            {
                "ppo.normalize_advantages": False,
                "ppo.minibatch_size": 4096,
                "ppo.n_epochs": 2,
                "ppo.target_kl": None,
            },
        ),
    ],
)
def test_two_learners_take_the_step_one_learner_takes_on_the_combined_batch(
    ray_cluster, algo, keys
):
    from distrl.runtime.learners import LearnerHost, form_group, update_group

    config = build_config({"algo": algo, "envs_per_worker": 2, "rollout_len": 8, **keys})
    batches = fragments(config, UPDATES, per_round=3)  # 3 fragments: shares of 2 and 1
    single = learner_of(config, spec=SPEC, seed=7)
    initial, _ = single.checkpoint()
    host = ray_cluster.remote(LearnerHost).options(num_cpus=1)
    group = [
        host.remote(algorithm=registry.get(algo), sections=config.algorithm_sections(),
                    threads=None, spec=SPEC, seed=seed, use_gpu=False)
        for seed in (7, 8)  # different seeds: joining gives learner 1 learner 0's state
    ]  # fmt: skip
    try:
        form_group(group)
        for version, batch in enumerate(batches):
            batch = [dataclasses.replace(r, policy_version=version) for r in batch]
            expected = single.update(batch)
            result, _, lost = update_group(group, [ray_cluster.put(r) for r in batch])
            assert lost == [] and result.applied and expected.applied
            assert result.env_steps == expected.env_steps == 3 * 2 * 8
            assert result.version == expected.version == version + 1
        states = ray_cluster.get([a.checkpoint.remote(False) for a in group])
    finally:
        for a in group:
            ray_cluster.kill(a)
    reference, _ = single.checkpoint()
    model = [k for k in reference if k.startswith("model/")]
    assert max(np.abs(reference[k] - initial[k]).max() for k in model) > 1e-3  # it learned
    for arrays, _ in states:
        for name in model:
            np.testing.assert_allclose(arrays[name], reference[name], atol=1e-5, rtol=0)


def test_a_killed_learner_of_two_restarts_the_group_from_the_checkpoint(ray_cluster, tmp_path):
    config = build_config(
        {"algo": "ppo", "workers": 2, "envs_per_worker": 2, "rollout_len": 16,
         "resources.learners": 2, "resources.worker_cpus": 0.5,
         "faults.learner_restarts": 1, "checkpoint.dir": str(tmp_path)}
    )  # fmt: skip
    saved, seen = {}, {}
    backend = RayBackend(config, SPEC, lambda: saved["state"])
    pids = ray_cluster.get([a.__ray_call__.remote(lambda self: os.getpid()) for a in
                            backend.learners])  # fmt: skip
    state = TrainingProgress()

    def on_update(s):
        if s.updates == 3 and "state" not in saved:
            saved["state"] = backend.learner_checkpoint(False)
        if s.updates == 6 and "killed" not in seen:
            seen["killed"] = s.env_steps
            os.kill(pids[1], signal.SIGKILL)  # the second learner: not the one publishing
        if s.metrics.get("learner/restarts") == 1 and "restored" not in seen:
            seen["restored"] = backend.fetch(backend.weights())

    try:
        reason = LOOPS["sync"](backend, state, StopRule(None, 2_500, None), on_update)
        new_pids = ray_cluster.get([a.__ray_call__.remote(lambda self: os.getpid()) for a in
                                    backend.learners])  # fmt: skip
        weights = ray_cluster.get([a.checkpoint.remote(False) for a in backend.learners])
    finally:
        backend.shutdown()
    assert reason == "max_steps" and state.metrics["learner/restarts"] == 1
    assert set(new_pids).isdisjoint(pids)  # the whole group was restarted
    arrays, scalars = saved["state"]
    model = sorted(k for k in arrays if k.startswith("model/"))
    for a, b in zip(model, seen["restored"].weights, strict=True):
        np.testing.assert_array_equal(arrays[a], b)  # exactly the checkpointed weights
    assert seen["restored"].version > 6 > scalars["version"]
    # after the restart both learners trained on: still identical, and past the checkpoint
    (first, _), (second, _) = weights
    for name in model:
        np.testing.assert_allclose(first[name], second[name], atol=1e-6, rtol=0)
    assert any(not np.array_equal(first[k], arrays[k]) for k in model)
    assert state.env_steps >= 2_500


def test_two_learners_train_async_and_stay_identical(ray_cluster):
    """Mode async: each update deals the ready fragments out (often one: the other learner
    takes part with none); the learners still take the same steps."""
    config = build_config(
        {"algo": "a2c", "mode": "async", "workers": 2, "envs_per_worker": 2, "rollout_len": 8,
         "resources.learners": 2, "resources.worker_cpus": 0.5}
    )  # fmt: skip
    backend = RayBackend(config, SPEC)
    state = TrainingProgress()
    try:
        reason = LOOPS["async"](backend, state, StopRule(None, 3_000, None))
        states = ray_cluster.get([a.checkpoint.remote(False) for a in backend.learners])
    finally:
        backend.shutdown()
    assert reason == "max_steps" and state.env_steps >= 3_000
    (first, scalars), (second, _) = states
    # The two learners applied the same updates (the first learner's version is the run's);
    # how many were applied depends on the stale fragments dropped, which timing decides.
    assert 0 < scalars["version"] <= state.updates
    for name in first:
        if name.startswith(("model/", "optimizer/")):
            np.testing.assert_array_equal(first[name], second[name])


@pytest.mark.parametrize(
    "keys, message",
    [
        ({"algo": "ddpg", "env": "Pendulum-v1"}, "algo ddpg has one learner"),
        ({"mode": "async", "async_unit": "gradients"}, "needs async_unit trajectories"),
        ({"workers": 0}, "needs Ray rollout workers"),
        ({"normalize.observations": True}, "normalize needs one learner"),
    ],
)
def test_what_a_group_does_not_support_is_one_line(keys, message):
    with pytest.raises(ConfigError, match=message):
        build_config({"resources.learners": 2, **keys})


def test_learners_spread_over_nodes_and_a_lost_node_restarts_the_group(multinode_cluster, tmp_path):
    """Two learners on a multi-node Ray sit on different nodes (the ring crosses raylets);
    losing the node of one restarts the group, which trains on from the checkpoint."""
    cluster = multinode_cluster
    nodes = [cluster.add_node(num_cpus=2) for _ in range(3)]
    ray.init(address=cluster.address, logging_level="WARNING")
    config = build_config(
        {"algo": "ppo", "workers": 2, "envs_per_worker": 2, "rollout_len": 16,
         "resources.learners": 2, "faults.learner_restarts": 1,
         "faults.worker_start_timeout": 60, "checkpoint.dir": str(tmp_path)}
    )  # fmt: skip
    saved = {}
    backend = RayBackend(config, SPEC, lambda: saved["state"])
    try:
        where = ray.get([node_of(a) for a in backend.learners])
        assert len(set(where)) == 2  # one learner per node
        # The head (one CPU) may hold a learner too, and must stay: lose a worker node's learner.
        victim = next(n for n in nodes if n.node_id in where)
        state = TrainingProgress()

        def on_update(s):
            if s.updates == 2 and "state" not in saved:
                saved["state"] = backend.learner_checkpoint(False)
            if s.updates == 4 and "removed" not in saved:
                saved["removed"] = True
                cluster.remove_node(victim)

        reason = LOOPS["sync"](backend, state, StopRule(None, 3_000, None), on_update)
        weights = ray.get([a.checkpoint.remote(False) for a in backend.learners])
    finally:
        backend.shutdown()
    assert reason == "max_steps" and state.metrics["learner/restarts"] == 1
    (first, _), (second, _) = weights
    for name in first:
        if name.startswith("model/"):
            np.testing.assert_array_equal(first[name], second[name])
