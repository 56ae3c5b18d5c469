"""V-trace against a reference written from the IMPALA paper's definitions (Espeholt et al.
2018, eq. 1): the explicit sum with products of trace coefficients, one env and one start step
at a time, with no recursion shared with the implementation."""

import numpy as np
import pytest

from distrl.returns import nstep_returns, vtrace


def reference_vtrace(mu_logp, pi_logp, r, v, next_v, term, trunc, gamma, rho_bar, c_bar):
    """v_s = V(x_s) + sum_{t=s}^{end} gamma^(t-s) (prod_{i=s}^{t-1} c_i) delta_t, where ``end`` is
    the step that ends the episode or the fragment, delta_t = rho_t (r_t + gamma V(x_{t+1}) -
    V(x_t)), and V(x_{t+1}) is 0 after termination. The policy-gradient advantage is
    rho_s (r_s + gamma v_{s+1} - V(x_s))."""
    T, B = r.shape
    ratio = np.exp(pi_logp.astype(np.float64) - mu_logp)
    rho, c = np.minimum(rho_bar, ratio), np.minimum(c_bar, ratio)
    v_next = np.where(term, 0.0, next_v)
    delta = rho * (r + gamma * v_next - v)
    vs = np.zeros((T, B))
    for b in range(B):
        for s in range(T):
            total = 0.0
            for t in range(s, T):
                total += gamma ** (t - s) * np.prod(c[s:t, b]) * delta[t, b]
                if term[t, b] or trunc[t, b]:
                    break  # the trace stops at the end of the episode
            vs[s, b] = v[s, b] + total
    pg = np.zeros((T, B))
    for b in range(B):
        for s in range(T):
            ended = term[s, b] or trunc[s, b] or s == T - 1
            following = v_next[s, b] if ended else vs[s + 1, b]
            pg[s, b] = rho[s, b] * (r[s, b] + gamma * following - v[s, b])
    return vs, pg


def random_fragment(seed, T=7, B=4):
    rng = np.random.default_rng(seed)
    f32 = np.float32
    r = rng.normal(size=(T, B)).astype(f32)
    v = rng.normal(size=(T, B)).astype(f32)
    next_v = np.concatenate([v[1:], rng.normal(size=(1, B))]).astype(f32)
    term = rng.random((T, B)) < 0.15
    trunc = ~term & (rng.random((T, B)) < 0.15)
    trunc[2, 0] = term[2, 0] = True  # both flags on one step: termination wins
    next_v[trunc] = rng.normal(size=int(trunc.sum()))  # V(true final observation)
    mu = np.log(rng.uniform(0.05, 1.0, (T, B))).astype(f32)
    pi = np.log(rng.uniform(0.05, 1.0, (T, B))).astype(f32)
    return mu, pi, r, v, next_v, term, trunc


@pytest.mark.parametrize(("rho_bar", "c_bar"), [(1.0, 1.0), (2.0, 0.5), (0.7, 1.3), (50.0, 50.0)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vtrace_matches_the_paper_definition(rho_bar, c_bar, seed):
    mu, pi, r, v, next_v, term, trunc = random_fragment(seed)
    assert term.any() and trunc.any()
    out = vtrace(mu, pi, r, v, next_v, term, trunc, gamma=0.9, rho_bar=rho_bar, c_bar=c_bar)
    ref_vs, ref_pg = reference_vtrace(mu, pi, r, v, next_v, term, trunc, 0.9, rho_bar, c_bar)
    np.testing.assert_allclose(out.targets, ref_vs, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out.pg_weights * out.advantages, ref_pg, rtol=1e-4, atol=1e-4)


def test_on_policy_vtrace_targets_are_nstep_returns():
    mu, _, r, v, next_v, term, trunc = random_fragment(5)
    out = vtrace(mu, mu, r, v, next_v, term, trunc, gamma=0.97)
    expected = nstep_returns(r, next_v, term, trunc, gamma=0.97)
    np.testing.assert_allclose(out.targets, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.pg_weights, 1.0)


def test_clipping_bounds_the_importance_weights():
    mu, pi, r, v, next_v, term, trunc = random_fragment(7)
    pi = mu + 3.0  # every action 20x likelier under the learner's policy
    out = vtrace(mu, pi, r, v, next_v, term, trunc, gamma=0.9, rho_bar=1.0, c_bar=1.0)
    np.testing.assert_allclose(out.pg_weights, 1.0)
    # With rho and c clipped at 1, V-trace falls back to the on-policy n-step targets.
    expected = nstep_returns(r, next_v, term, trunc, gamma=0.9)
    np.testing.assert_allclose(out.targets, expected, rtol=1e-5, atol=1e-5)
