"""Return estimators against values worked out by hand (gamma and lambda chosen so the
arithmetic is exact in binary: 0.5 and 0.5)."""

import numpy as np
import pytest

from distrl.returns import gae, nstep_returns

G = 0.5  # gamma


def col(*xs):
    """A single-env fragment as a [T, 1] column."""
    return np.array(xs, dtype=np.float32)[:, None]


def flags(*xs):
    return np.array(xs, dtype=bool)[:, None]


def test_nstep_without_episode_end_bootstraps_from_last_value():
    r = col(1, 1, 1)
    nv = col(0, 0, 8)  # only the value after the last step matters
    out = nstep_returns(r, nv, flags(0, 0, 0), flags(0, 0, 0), gamma=G)
    # t2: 1 + .5*8 = 5; t1: 1 + .5*5 = 3.5; t0: 1 + .5*3.5 = 2.75
    np.testing.assert_allclose(out[:, 0], [2.75, 3.5, 5.0])


def test_nstep_terminated_does_not_bootstrap_nor_leak_next_episode():
    r = col(1, 2, 4)
    nv = col(0, 100, 8)  # 100 would leak if termination bootstrapped
    out = nstep_returns(r, nv, flags(0, 1, 0), flags(0, 0, 0), gamma=G)
    # t2 (new episode): 4 + .5*8 = 8; t1 terminal: 2; t0: 1 + .5*2 = 2
    np.testing.assert_allclose(out[:, 0], [2.0, 2.0, 8.0])


def test_nstep_truncated_bootstraps_from_final_observation_value():
    r = col(1, 2, 4)
    nv = col(0, 6, 8)  # 6 = V(true final observation) after the truncated step
    out = nstep_returns(r, nv, flags(0, 0, 0), flags(0, 1, 0), gamma=G)
    # t2: 4 + 4 = 8; t1: 2 + .5*6 = 5 (not 2 + .5*8); t0: 1 + .5*5 = 3.5
    np.testing.assert_allclose(out[:, 0], [3.5, 5.0, 8.0])


def test_nstep_terminated_and_truncated_on_one_step_means_no_bootstrap():
    r = col(1, 2)
    nv = col(6, 8)
    out = nstep_returns(r, nv, flags(1, 0), flags(1, 0), gamma=G)
    np.testing.assert_allclose(out[:, 0], [1.0, 2.0 + 0.5 * 8])


def test_gae_by_hand_with_truncation_and_termination():
    lam = 0.5
    r = col(1, 1, 1, 1)
    v = col(2, 2, 2, 2)
    nv = col(2, 4, 2, 2)  # after t1 (truncated): V(final obs) = 4
    term, trunc = flags(0, 0, 1, 0), flags(0, 1, 0, 0)
    adv, target = gae(r, v, nv, term, trunc, gamma=G, lam=lam)
    # deltas: t0 = 1 + 1 - 2 = 0; t1 = 1 + 2 - 2 = 1; t2 = 1 + 0 - 2 = -1; t3 = 1 + 1 - 2 = 0
    # advantages: t3 = 0; t2 = -1 (episode ends); t1 = 1 (ends); t0 = 0 + .25*1 = 0.25
    np.testing.assert_allclose(adv[:, 0], [0.25, 1.0, -1.0, 0.0])
    np.testing.assert_allclose(target[:, 0], adv[:, 0] + 2)


def test_vector_env_fragment_crossing_episode_boundaries_per_column():
    # two envs with different boundaries: each column must be computed on its own
    r = np.array([[1, 1], [1, 1], [1, 1]], dtype=np.float32)
    nv = np.array([[0, 0], [0, 0], [8, 8]], dtype=np.float32)
    term = np.array([[0, 1], [0, 0], [0, 0]], dtype=bool)
    trunc = np.zeros_like(term)
    out = nstep_returns(r, nv, term, trunc, gamma=G)
    np.testing.assert_allclose(out[:, 0], [2.75, 3.5, 5.0])
    np.testing.assert_allclose(out[:, 1], [1.0, 3.5, 5.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gae_lambda_one_equals_nstep_and_lambda_zero_is_td0(seed):
    rng = np.random.default_rng(seed)
    T, B = 7, 5
    r = rng.normal(size=(T, B)).astype(np.float32)
    v = rng.normal(size=(T, B)).astype(np.float32)
    term = rng.random((T, B)) < 0.2
    trunc = rng.random((T, B)) < 0.2
    # As the learner builds them: the value of the next observation inside an episode, a
    # separate V(final observation) after truncation, V(last observation) at the end.
    nv = np.concatenate([v[1:], rng.normal(size=(1, B))]).astype(np.float32)
    nv[trunc] = rng.normal(size=int(trunc.sum()))
    _, targets = gae(r, v, nv, term, trunc, gamma=0.9, lam=1.0)
    np.testing.assert_allclose(
        targets, nstep_returns(r, nv, term, trunc, gamma=0.9), rtol=1e-5, atol=1e-5
    )
    adv0, _ = gae(r, v, nv, term, trunc, gamma=0.9, lam=0.0)
    np.testing.assert_allclose(adv0, r + 0.9 * ~term * nv - v, rtol=1e-5, atol=1e-5)


def nstep_by_loop(rewards, terminated, truncated, n, gamma):
    """n-step transitions step by step, as a textbook loop."""
    T, B = rewards.shape
    out = np.zeros((T, B)), np.zeros((T, B), int), np.zeros((T, B), int)
    for b in range(B):
        for t in range(T):
            total, k = 0.0, 0
            while k < n and t + k < T:
                total += gamma**k * rewards[t + k, b]
                k += 1
                if terminated[t + k - 1, b] or truncated[t + k - 1, b]:
                    break
            out[0][t, b], out[1][t, b], out[2][t, b] = total, k, t + k - 1
    return out


@pytest.mark.parametrize("n", [1, 3, 5])
def test_nstep_transitions_match_a_loop_and_stop_at_episode_and_fragment_ends(n):
    from distrl.returns import nstep

    rng = np.random.default_rng(n)
    rewards = rng.normal(size=(12, 4)).astype(np.float32)
    terminated, truncated = rng.random((12, 4)) < 0.15, rng.random((12, 4)) < 0.1
    got = nstep(rewards, terminated, truncated, n=n, gamma=0.9)
    want = nstep_by_loop(rewards, terminated, truncated, n, 0.9)
    np.testing.assert_allclose(got.returns, want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got.steps, want[1])
    np.testing.assert_array_equal(got.last, want[2])
    assert got.steps[-1].max() == 1  # the fragment's last step has nothing after it
