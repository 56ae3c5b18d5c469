"""Proportional prioritized replay: the sum-tree, sampling frequencies against the priorities
(a chi-square test), importance weights against a NumPy reference, priority updates and
checkpoints."""

import numpy as np
import pytest

from distrl.replay import PrioritizedReplayBuffer, SumTree
from distrl.replay.prioritized import min_tree
from tests.replay.test_buffer import numbered


def make(capacity, alpha=0.6):
    return PrioritizedReplayBuffer(
        capacity=capacity, obs_shape=(1,), obs_dtype="float32", action_dim=1, alpha=alpha
    )


def chi_square_critical(df, z=3.09):
    """The chi-square quantile for ``df`` degrees of freedom at p = 0.001 (z = 3.09), by the
    Wilson-Hilferty approximation: ``df (1 - 2/(9 df) + z sqrt(2/(9 df)))^3``."""
    a = 2 / (9 * df)
    return df * (1 - a + z * np.sqrt(a)) ** 3


@pytest.mark.parametrize("capacity", [1, 5, 8, 13, 1000])
def test_every_node_is_the_sum_of_its_children_after_any_updates(capacity):
    tree, rng = SumTree(capacity), np.random.default_rng(capacity)
    for _ in range(20):
        idx = rng.integers(0, capacity, size=rng.integers(1, 10))
        tree.set(idx, rng.random(idx.size))
    inner = np.arange(1, tree.leaves)
    np.testing.assert_allclose(tree.nodes[inner], tree.nodes[2 * inner] + tree.nodes[2 * inner + 1])
    assert tree.total == pytest.approx(tree.values(np.arange(capacity)).sum())
    # find() returns the leaf whose running-sum interval holds the mass
    cumulative = np.cumsum(tree.values(np.arange(capacity)))
    mass = rng.random(500) * tree.total
    np.testing.assert_array_equal(tree.find(mass), np.searchsorted(cumulative, mass, side="right"))


@pytest.mark.parametrize("capacity", [1, 6, 64])
def test_the_min_tree_root_is_the_smallest_leaf_after_any_updates(capacity):
    tree, rng = min_tree(capacity), np.random.default_rng(capacity)
    assert tree.root == np.inf  # empty
    for _ in range(30):
        idx = rng.integers(0, capacity, size=rng.integers(1, 5))
        tree.set(idx, rng.random(idx.size))
        assert tree.root == tree.values(np.arange(capacity)).min()


def test_the_smallest_priority_follows_overwrites_and_updates():
    buf = make(4, alpha=1.0)
    buf.add(numbered(0, 4))
    buf.update_priorities(np.arange(4), np.array([3.0, 0.25, 2.0, 1.0]))
    assert buf.min_priority == pytest.approx(0.25 + buf.eps)
    buf.add(numbered(4, 2))  # overwrites slots 0 and 1 (the smallest) at the max priority 3
    assert buf.min_priority == pytest.approx(1.0 + buf.eps)
    buf.update_priorities(np.array([2]), np.array([0.5]))
    assert buf.min_priority == pytest.approx(0.5 + buf.eps)


def test_sampling_frequencies_follow_the_priorities_chi_square():
    buf, rng = make(64, alpha=0.7), np.random.default_rng(0)
    buf.add(numbered(0, 50))
    td = rng.gamma(1.0, 1.0, size=50)
    td[7] = 0.0  # only eps left: almost never drawn
    buf.update_priorities(np.arange(50), td)
    draws = 100_000
    counts = np.zeros(50)
    for _ in range(10):  # 10 batches of [100, 100]
        batch, idx, _ = buf.sample_prioritized((100, 100), rng, beta=0.4)
        np.testing.assert_array_equal(batch.rewards, idx)  # rows are the slots drawn
        counts += np.bincount(idx.ravel(), minlength=64)[:50]
    assert counts.sum() == draws  # nothing drawn from the 14 empty slots
    p = (np.abs(td) + buf.eps) ** 0.7
    expected = draws * p / p.sum()
    keep = expected >= 5  # the test's usual validity rule
    chi2 = ((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    assert chi2 < chi_square_critical(keep.sum() - 1)
    assert counts[7] <= 5


def test_importance_weights_match_a_numpy_reference():
    buf, rng = make(32, alpha=0.6), np.random.default_rng(1)
    buf.add(numbered(0, 20))
    td = rng.normal(size=20) * 3
    buf.update_priorities(np.arange(20), td)
    _, idx, weights = buf.sample_prioritized((4, 16), rng, beta=0.5)
    p = (np.abs(td) + buf.eps) ** 0.6
    probs = p / p.sum()
    reference = (20 * probs[idx]) ** -0.5 / (20 * probs.min()) ** -0.5
    np.testing.assert_allclose(weights, reference, rtol=1e-5)
    assert weights.shape == (4, 16) and weights.max() <= 1.0 + 1e-6
    _, _, flat = buf.sample_prioritized((64,), rng, beta=0.0)
    np.testing.assert_array_equal(flat, 1.0)  # beta 0: no correction


def test_new_transitions_enter_at_the_largest_priority_and_updates_land_in_the_tree():
    buf = make(8, alpha=1.0)
    buf.add(numbered(0, 4))
    np.testing.assert_array_equal(buf.tree.values(np.arange(4)), 1.0)  # max priority starts at 1
    buf.update_priorities(np.array([0, 2]), np.array([5.0, -0.5]))
    assert buf.max_priority == pytest.approx(5.0 + buf.eps)
    buf.add(numbered(4, 6))  # wraps: slots 4..7, then 0 and 1 are overwritten
    values = buf.tree.values(np.arange(8))
    np.testing.assert_allclose(values[[0, 1, 4, 5, 6, 7]], 5.0 + buf.eps)
    np.testing.assert_allclose(values[2], 0.5 + buf.eps)
    assert buf.tree.total == pytest.approx(values.sum())


def test_a_checkpoint_round_trips_the_tree_and_later_draws():
    buf, rng = make(16), np.random.default_rng(2)
    buf.add(numbered(0, 12))
    buf.update_priorities(np.arange(12), rng.random(12) * 4)
    restored = make(16)
    restored.load(buf.arrays(), buf.counters())
    np.testing.assert_array_equal(restored.tree.nodes, buf.tree.nodes)
    assert restored.max_priority == buf.max_priority
    a = buf.sample_prioritized((3, 5), np.random.default_rng(9), beta=0.4)
    b = restored.sample_prioritized((3, 5), np.random.default_rng(9), beta=0.4)
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])
