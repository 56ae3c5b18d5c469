"""The replay ring buffer: wrap-around, uniform sampling, transitions from fragments."""

import numpy as np
import pytest

from distrl.replay import ReplayBuffer, TransitionBatch


def numbered(start, n):
    """n transitions whose every field holds its serial number, so positions can be checked."""
    k = np.arange(start, start + n, dtype=np.float32)
    return TransitionBatch(
        obs=k[:, None], actions=k[:, None], rewards=k, next_obs=k[:, None] + 0.5,
        terminated=np.zeros(n, np.float32),
    )  # fmt: skip


def make(capacity):
    return ReplayBuffer(capacity=capacity, obs_shape=(1,), obs_dtype="float32", action_dim=1)


def test_wraps_around_and_keeps_the_newest():
    buf = make(5)
    buf.add(numbered(0, 3))
    assert (buf.size, buf.cursor) == (3, 3)
    buf.add(numbered(3, 4))  # 7 added into 5 slots: 0 and 1 are overwritten by 5 and 6
    assert (buf.size, buf.cursor, buf.added) == (5, 2, 7)
    np.testing.assert_array_equal(buf.rewards, [5, 6, 2, 3, 4])
    np.testing.assert_array_equal(buf.next_obs[:, 0], buf.rewards + 0.5)  # rows stay aligned
    buf.add(numbered(7, 12))  # more than the capacity at once: the last 5 survive
    assert sorted(buf.rewards.tolist()) == [14, 15, 16, 17, 18] and buf.added == 19


def test_samples_uniformly_from_the_filled_part_only():
    buf = make(100)
    buf.add(numbered(0, 10))
    batch = buf.sample((50, 2000), np.random.default_rng(0))
    assert batch.obs.shape == (50, 2000, 1) and batch.rewards.shape == (50, 2000)
    counts = np.bincount(batch.rewards.astype(int).ravel(), minlength=10)
    assert counts.size == 10  # never an empty slot beyond size
    # 100,000 draws over 10 slots: each ~10,000; 4% covers > 10 sigma of binomial noise.
    assert np.all(np.abs(counts / counts.sum() - 0.1) < 0.004)


def test_sampling_an_empty_buffer_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        make(4).sample((1, 2), np.random.default_rng(0))
