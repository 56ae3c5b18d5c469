"""PPO in-process (real TensorFlow): the clipped objective and its diagnostics against an
independent NumPy computation, SB3's target_kl stop, and V-trace for lagged data."""

from dataclasses import replace

import numpy as np
import pytest
import tensorflow as tf

from distrl.agents.ppo.losses import Minibatch, ppo_terms
from distrl.config import build_config
from distrl.envs import env_spec
from tests.parts import learner_of, worker_of

SPEC = env_spec("CartPole-v1")


def numpy_ppo(logits, values, b, clip, clip_vf, normalize):
    """Schulman et al. 2017 / SB3, written out in NumPy."""
    z = logits - logits.max(-1, keepdims=True)
    logp_all = z - np.log(np.exp(z).sum(-1, keepdims=True))
    logp = logp_all[np.arange(len(b.actions)), b.actions]
    adv = b.advantages
    if normalize:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    ratio = np.exp(logp - b.old_logp)
    surrogate = np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv)
    pred = values if clip_vf is None else b.old_values + np.clip(values - b.old_values,
                                                                  -clip_vf, clip_vf)  # fmt: skip
    return {
        "policy_loss": -surrogate.mean(),
        "value_loss": ((b.returns - pred) ** 2).mean(),
        "entropy": -(np.exp(logp_all) * logp_all).sum(-1).mean(),
        "approx_kl": ((ratio - 1) - np.log(ratio)).mean(),
        "clip_fraction": (np.abs(ratio - 1) > clip).mean(),
    }


@pytest.mark.parametrize(("clip_vf", "normalize"), [(None, True), (0.3, False)])
def test_clipped_objective_and_diagnostics_match_numpy(clip_vf, normalize):
    rng = np.random.default_rng(0)
    n, actions = 12, 3
    logits = rng.normal(size=(n, actions))
    values = rng.normal(size=n)
    b = Minibatch(
        obs=np.zeros((n, 1), np.float32),
        actions=rng.integers(0, actions, n),
        # Old log-probs near the new ones, some far: both sides of the clip are exercised.
        old_logp=np.log(rng.uniform(0.05, 0.9, n)),
        advantages=rng.normal(size=n),
        returns=rng.normal(size=n),
        old_values=values + rng.normal(scale=0.5, size=n),
    )
    expected = numpy_ppo(logits, values, b, 0.2, clip_vf, normalize)
    assert 0 < expected["clip_fraction"] < 1  # the batch does hit the clip, not always
    tf_batch = Minibatch(*(tf.constant(x, tf.int64 if i == 1 else tf.float64)
                           for i, x in enumerate(b)))  # fmt: skip
    got = ppo_terms(tf.constant(logits), tf.constant(values), tf_batch, clip=0.2,
                    clip_vf=clip_vf, normalize=normalize)  # fmt: skip
    for key, value in expected.items():
        np.testing.assert_allclose(float(got[key]), value, rtol=1e-6, err_msg=key)


def setup(**ppo):
    config = build_config({"algo": "ppo", "envs_per_worker": 4, "rollout_len": 16, "ppo": ppo})
    learner = learner_of(config, spec=SPEC, seed=1)
    worker = worker_of(config, spec=SPEC, seed=2)
    return config, learner, worker


def test_an_update_takes_epochs_of_minibatch_steps_and_logs_the_diagnostics():
    _, learner, worker = setup(n_epochs=3, minibatch_size=16)
    before = [w.copy() for w in learner.weights().weights]
    result = learner.update([worker.sample(learner.weights())])
    assert result.applied and result.version == 1
    m = result.metrics
    assert m["learner/minibatch_steps"] == 3 * 64 / 16  # 64 samples, 4 minibatches, 3 epochs
    keys = ("approx_kl", "clip_fraction", "entropy", "explained_variance", "value_loss",
            "grad_norm")  # fmt: skip
    for key in keys:
        assert np.isfinite(m[f"learner/{key}"]), key
    assert m["learner/approx_kl"] > 0  # later epochs move the policy away from the acting one
    after = learner.weights().weights
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_warm_up_traces_the_update_once_and_changes_nothing():
    _, learner, worker = setup(n_epochs=2, minibatch_size=32)
    before = learner.checkpoint()
    learner.warm_up()
    assert learner._epochs_call.experimental_get_tracing_count() == 1
    after = learner.checkpoint()
    assert after[1] == before[1]  # counters, version included
    for name, array in before[0].items():
        np.testing.assert_array_equal(after[0][name], array, err_msg=name)
    learner.update([worker.sample(learner.weights())])
    assert learner._epochs_call.experimental_get_tracing_count() == 1  # the update reused it


def test_target_kl_stops_the_epochs_of_a_batch_early():
    _, learner, worker = setup(n_epochs=50, minibatch_size=16, lr=0.01, target_kl=1e-4)
    result = learner.update([worker.sample(learner.weights())])
    assert result.applied  # the first minibatch (ratio 1, KL 0) always steps
    assert result.metrics["learner/early_stops"] == 1
    assert 1 <= result.metrics["learner/minibatch_steps"] < 50 * 4


def test_lagged_fragments_get_vtrace_targets():
    _, learner, worker = setup(n_epochs=1)
    old = worker.sample(learner.weights())
    assert "learner/vtrace_rho_mean" not in learner.update([old]).metrics  # fresh: GAE
    result = learner.update([replace(old, policy_version=0)])  # one version behind now
    assert result.metrics["learner/policy_lag_max"] == 1
    assert result.metrics["learner/vtrace_rho_mean"] > 0


def test_default_ppo_updates_on_sb3s_batch_on_two_ray_workers(ray_cluster, tmp_path):
    """With defaults only, one update of PPO on 2 workers x 4 envs is 2,048 env steps (SB3's
    n_steps), not the 2 x 4 x 16 the run-wide rollout_len would give."""
    import distrl

    config = distrl.make_config(algo="ppo", workers=2, max_steps=4096, logdir=str(tmp_path))
    summary = distrl.Trainer(config).train()
    assert (summary.env_steps, summary.learner_updates) == (4096, 2)
