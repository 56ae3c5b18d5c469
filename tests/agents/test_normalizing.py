"""Observation and reward normalization owned by the learner: one set of statistics merged from
every worker's fragments, published inside the model, frozen outside training, kept exactly by
checkpoints; rewards scaled for the loss only."""

import json
from pathlib import Path

import numpy as np
import pytest

import distrl
from distrl.agents.normalizing import Normalizer, RunningMoments
from distrl.config import ConfigError, build_config
from distrl.envs import env_spec
from tests.parts import learner_of, policy_of, worker_of

NORMALIZED = {"normalize": {"observations": True, "rewards": True}}


def config(algo="a2c", **keys):
    return build_config({"algo": algo, "envs_per_worker": 2, "rollout_len": 8, **NORMALIZED,
                         **keys})  # fmt: skip


def test_moments_merged_from_three_workers_with_uneven_counts_equal_numpy_over_all_data():
    rng = np.random.default_rng(0)
    parts = [rng.normal(3.0, 2.0, size=(n, 4)) * [1, 10, 0.1, 1] for n in (5, 123, 40)]
    moments = RunningMoments((4,))
    for part in parts:
        moments.merge(part)
    everything = np.concatenate(parts)
    assert moments.count == len(everything)
    np.testing.assert_allclose(moments.mean, everything.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(moments.var, everything.var(axis=0), rtol=1e-12)


def test_the_learner_merges_every_workers_fragments_and_the_workers_act_on_the_same_stats():
    c = config()
    spec = env_spec("CartPole-v1")
    learner = learner_of(c, spec=spec)
    # Uneven counts: the three workers step 1, 3 and 2 env copies.
    workers = [worker_of(config(envs_per_worker=n), spec=spec, index=i, seed=i)
               for i, n in enumerate((1, 3, 2))]  # fmt: skip
    fragments = [w.sample(learner.weights()) for w in workers]
    learner.update(fragments)
    seen = np.concatenate([f.observations.reshape(-1, 4) for f in fragments]).astype(np.float64)
    norm = learner.normalizer.obs
    assert norm.count == len(seen) == 8 * (1 + 3 + 2)
    np.testing.assert_allclose(norm.mean, seen.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(norm.var, seen.var(axis=0), rtol=1e-10)
    # The published model standardises with them, clipped, and a worker's NumPy forward pass
    # (weights from the same message) gives the model's logits.
    obs = np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32)
    standardised = np.clip((obs - norm.mean) / np.sqrt(norm.var + 1e-8), -10, 10)
    layer = learner.model.get_layer("obs_norm")
    np.testing.assert_allclose(layer(obs).numpy(), (obs - norm.mean) / np.sqrt(norm.var + 1e-8),
                               rtol=1e-4, atol=1e-4)  # fmt: skip
    assert np.abs(standardised).max() <= 10
    policy = policy_of(c, spec=spec)
    policy.set_weights(learner.weights())
    np.testing.assert_allclose(policy.forward.params(obs), learner.model(obs)[0].numpy(),
                               rtol=1e-4, atol=1e-5)  # fmt: skip


def test_rewards_are_scaled_by_the_discounted_returns_std_for_the_loss_only():
    normalizer = Normalizer(build_config(NORMALIZED).normalize)
    spec = env_spec("CartPole-v1")
    c = config()
    fragment = worker_of(c, spec=spec).sample(learner_of(c, spec=spec).weights())
    (scaled,) = normalizer.scaled_rewards([fragment])
    returns = np.zeros(2)
    seen = []
    for t in range(8):  # VecNormalize's recursion, reset at episode ends
        returns = returns * 0.99 + fragment.rewards[t]
        seen.append(returns.copy())
        returns[fragment.terminated[t] | fragment.truncated[t]] = 0
    std = np.sqrt(np.var(seen) + 1e-8)
    np.testing.assert_allclose(scaled.rewards, fragment.rewards / std, rtol=1e-5)
    np.testing.assert_array_equal(scaled.episode_returns, fragment.episode_returns)  # raw


def test_a_checkpoint_restores_the_statistics_bit_for_bit():
    c = config("ppo", samples_per_update=None)
    spec = env_spec("CartPole-v1")
    learner = learner_of(c, spec=spec)
    worker = worker_of(c, spec=spec)
    for _ in range(3):
        learner.update([worker.sample(learner.weights())])
    arrays, scalars = learner.checkpoint()
    other = learner_of(c, spec=spec, seed=5)
    other.restore(arrays, scalars)
    for moments in ("obs", "returns"):
        a, b = getattr(learner.normalizer, moments), getattr(other.normalizer, moments)
        assert a.count == b.count
        np.testing.assert_array_equal(a.mean, b.mean)
        np.testing.assert_array_equal(a.var, b.var)
    for x, y in zip(learner.model.get_layer("obs_norm").get_weights(),
                    other.model.get_layer("obs_norm").get_weights(), strict=True):  # fmt: skip
        np.testing.assert_array_equal(x, y)


def test_evaluation_neither_moves_the_statistics_nor_reports_scaled_rewards(tmp_path):
    """CartPole's raw return is its episode's length: training and evaluation rows show raw
    returns, and the learner counted exactly the training steps (no evaluation steps)."""
    trainer = distrl.Trainer(distrl.make_config(
        "cartpole-a2c", workers=0, max_steps=2_000, eval_every=5, eval_episodes=2,
        logdir=str(tmp_path), **NORMALIZED))  # fmt: skip
    summary = trainer.train()
    run = Path(summary.run_dir)
    episodes = [json.loads(line) for line in (run / "episodes.jsonl").open()]
    assert episodes and all(e["return"] == e["length"] for e in episodes)
    evals = [json.loads(line) for line in (run / "progress.jsonl").open()]
    evals = [r for r in evals if "eval/mean_return" in r]
    assert evals and all(r["eval/mean_return"] >= 8 for r in evals)  # raw: at least 8 steps
    _, scalars = trainer._learner_checkpoint()
    assert scalars["normalize/obs_count"] == summary.env_steps


def test_algorithms_without_normalization_and_image_observations_are_refused():
    with pytest.raises(ConfigError, match="algo ddpg does not normalize"):
        build_config({"algo": "ddpg", "env": "Pendulum-v1", **NORMALIZED})
    with pytest.raises(ConfigError, match="normalize needs trajectories"):
        build_config({"mode": "async", "async_unit": "gradients", **NORMALIZED})
