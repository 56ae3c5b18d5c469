"""Replay shards (Ape-X's replay actors): draws across shards follow the priorities of all of
them, the learner weighs them on one scale and hands each shard its TD errors; on real Ray every
transition lands in a shard, none in the learner, and a checkpoint round-trips the shards."""

import numpy as np
import pytest

from distrl.config import build_config
from distrl.envs import env_spec
from distrl.runtime.replay_shards import ReplayShard, split_batch
from distrl.types import FragmentSummary
from tests.agents.test_dqn import fragment
from tests.parts import learner_of
from tests.replay.test_prioritized import chi_square_critical

SPEC = env_spec("CartPole-v1")


def config(workers=2, **dqn):
    return build_config({"algo": "dqn", "workers": workers, "envs_per_worker": 2,
                         "rollout_len": 6, "model.hidden": [16], "model.activation": "relu",
                         "dqn.replay_shards": 2, "dqn.prioritized": True, "dqn.n_step": 1,
                         **{f"dqn.{k}": v for k, v in dqn.items()}})  # fmt: skip


def filled_shards(c, rng):
    """Two shards of 12 transitions each, with random priorities."""
    shards = [ReplayShard(section=c.dqn, spec=SPEC, seed=k) for k in range(2)]
    for shard in shards:
        shard.add(fragment(rng))
        shard.replay.update_priorities(np.arange(12), rng.gamma(1.0, 1.0, size=12))
    return shards


def test_draws_across_shards_follow_the_priorities_of_all_shards_chi_square():
    c, rng = config(), np.random.default_rng(0)
    shards = filled_shards(c, rng)
    counts = [np.zeros(12), np.zeros(12)]
    for _ in range(100):
        totals = np.array([s.stats().total for s in shards])
        for k, n in enumerate(split_batch(totals, 1000, rng)):
            if n:
                _, slots = shards[k].sample((1, int(n)))
                counts[k] += np.bincount(slots.ravel(), minlength=12)
    p = np.concatenate([s.replay.tree.values(np.arange(12)) for s in shards])
    observed = np.concatenate(counts)
    expected = observed.sum() * p / p.sum()
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert observed.sum() == 100_000 and chi2 < chi_square_critical(23)


def test_the_learner_weighs_draws_from_all_shards_on_one_scale_and_splits_the_td_errors():
    c, rng = config(), np.random.default_rng(1)
    shards = filled_shards(c, rng)
    learner = learner_of(c, spec=SPEC)
    assert learner.replay.capacity == 1  # the transitions live in the shards
    seen = {}
    train = learner._train_batch

    def capture(batch, weights):
        seen["weights"] = weights
        return train(batch, weights)

    learner._train_batch = capture
    samples = [shards[0].sample((3, 5))[0], shards[1].sample((3, 11))[0]]
    added = sum(s.stats().added for s in shards)
    smallest = min(s.stats().smallest for s in shards)
    summary = FragmentSummary(12, np.zeros(0), np.zeros(0, np.int64), 0, 0)
    result, td_errors = learner.update_sampled([summary], added, smallest, *samples)
    assert [t.shape for t in td_errors] == [(3, 5), (3, 11)]
    assert result.env_steps == 12 and result.version == 1
    # Schaul's weights over the union of both shards: (N P(i))^-beta / max_j (N P(j))^-beta
    p = np.concatenate([s.replay.tree.values(np.arange(12)) for s in shards])
    drawn = np.concatenate([samples[0][1], samples[1][1]], axis=1)
    beta = c.dqn.beta(added)
    reference = (24 * drawn / p.sum()) ** -beta / (24 * p.min() / p.sum()) ** -beta
    np.testing.assert_allclose(seen["weights"], reference, rtol=1e-5)


def test_a_run_with_workers_0_and_replay_shards_is_one_line():
    from distrl.config import ConfigError

    with pytest.raises(ConfigError, match=r"dqn.replay_shards 2 needs Ray rollout workers"):
        config(workers=0)


def test_on_ray_every_transition_lands_in_the_shards_and_a_checkpoint_round_trips_them(
    ray_cluster,
):
    from distrl.runtime.ray_backend import RayBackend

    ray = ray_cluster
    c = config(learning_starts=30, batch_size=16, replay_ratio=1.0)
    backend = RayBackend(c, SPEC)
    try:
        stored = 0
        for _ in range(4):
            w = backend.weights()
            result, _ = backend.update([backend.submit(i, w) for i in range(2)])
            stored += result.env_steps
        assert stored == 4 * 2 * 2 * 6  # rounds x workers x envs x steps
        assert result.metrics["replay/added"] == stored == result.metrics["replay/size"]
        assert result.metrics["learner/replay_size"] == 0  # none in the learner
        assert result.metrics["learner/gradient_steps"] > 0 and result.version > 0
        sizes = [ray.get(s.stats.remote()).size for s in backend.replay.shards]
        # TD errors travel by reference; those of a failed learner call change nothing.
        shard = backend.replay.shards[0]
        _, slot = shard.sample.options(num_returns=2).remote((1, 4))
        before = ray.get(shard.stats.remote()).total
        failed = ray.remote(lambda: 1 / 0).remote()
        ray.get(shard.update_priorities.remote(slot, [failed]))
        assert ray.get(shard.stats.remote()).total == before
        ray.get(shard.update_priorities.remote(slot, [ray.put(np.full((1, 4), 50.0))]))
        assert ray.get(shard.stats.remote()).total > before
        assert sum(sizes) == stored and min(sizes) > 0  # each worker's own shard
        arrays, scalars = backend.learner_checkpoint(include_replay=True)
        version = backend.weights().version
    finally:
        backend.shutdown()
    other = RayBackend(c, SPEC)  # after the first is gone: the test cluster has room for one
    try:
        other.restore_learner(arrays, scalars)
        assert other.weights().version == version
        for k, shard in enumerate(other.replay.shards):
            restored, _ = ray.get(shard.checkpoint.remote())
            assert len(restored["rewards"]) == sizes[k]
            for name, values in restored.items():
                np.testing.assert_array_equal(values, arrays[f"replay_shards/shard{k}/{name}"])
        # A shard that dies comes back empty; the run goes on with the other's transitions.
        ray.kill(other.replay.shards[0], no_restart=False)
        versions = []
        for _ in range(3):
            w = other.weights()
            result, _ = other.update([other.submit(i, w) for i in range(2)])
            versions.append(result.version)
        assert versions[-1] > version  # it trained again
        kept = ray.get(other.replay.shards[1].stats.remote()).size
        restarted = ray.get(other.replay.shards[0].stats.remote()).size
        assert kept == sizes[1] + 3 * 12 and restarted <= 3 * 12 < sizes[0] + 3 * 12
    finally:
        other.shutdown()
