"""The A2C learner in-process (real TensorFlow): policy-lag bounds and A3C's gradient path."""

from dataclasses import replace

import numpy as np
import pytest

from distrl.config import build_config, make_config
from distrl.envs import env_spec
from distrl.rollout import GradientWorker
from tests.parts import learner_of, worker_of

SPEC = env_spec("CartPole-v1")


def setup(**overrides):
    config = make_config(envs_per_worker=4, rollout_len=8, **overrides)
    learner = learner_of(config, spec=SPEC, seed=1)
    worker = worker_of(config, spec=SPEC, seed=2)
    return config, learner, worker


def advance(learner, worker, n):
    """n fresh (lag 0) updates."""
    for _ in range(n):
        assert learner.update([worker.sample(learner.weights())]).applied


def test_fragment_beyond_max_policy_lag_is_discarded_and_counted():
    _, learner, worker = setup(mode="async", max_policy_lag=1)
    old = worker.sample(learner.weights())  # acted with version 0
    advance(learner, worker, 2)
    before = [w.copy() for w in learner.model.get_weights()]
    result = learner.update([old])  # lag 2 > 1
    assert not result.applied and result.version == learner.version == 2
    assert result.metrics["learner/policy_lag_max"] == 2
    assert result.metrics["learner/stale_discarded"] == 1
    assert result.env_steps == old.env_steps  # still counted as experience gathered
    for a, b in zip(before, learner.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # no gradient step
    # Lag exactly at the bound is used.
    at_bound = worker.sample(learner.weights())
    advance(learner, worker, 1)
    assert learner.update([at_bound]).applied


def test_stale_fragment_can_be_corrected_with_vtrace_instead():
    _, learner, worker = setup(
        mode="async", correction="none", max_policy_lag=0, stale_data="correct"
    )
    old = worker.sample(learner.weights())
    advance(learner, worker, 1)
    fresh = learner.update([worker.sample(learner.weights())])
    assert "learner/vtrace_rho_mean" not in fresh.metrics  # correction none for fresh data
    result = learner.update([old])  # lag 2 > 0
    assert result.applied and result.metrics["learner/stale_corrected"] == 1
    assert result.metrics["learner/stale_discarded"] == 0
    rho = result.metrics["learner/vtrace_rho_mean"]  # corrected with V-trace
    assert np.isfinite(rho) and rho != 1.0  # the policy moved: off-policy weights


def test_worker_gradients_equal_the_learners_own_step():
    """A3C's path (worker differentiates, learner applies) and A2C's (learner differentiates and
    applies) give the same weights for the same fragment."""
    config = build_config(
        {"mode": "async", "async_unit": "gradients", "envs_per_worker": 4, "rollout_len": 8}
    )
    a3c = learner_of(config, spec=SPEC, seed=1)
    a2c = learner_of(config, spec=SPEC, seed=1)
    grad_worker = worker_of(config, spec=SPEC, seed=2, cls=GradientWorker)
    rollout_worker = worker_of(config, spec=SPEC, seed=2)
    for _ in range(3):
        gradients = grad_worker.compute_gradients(a3c.weights())
        assert gradients.policy_version == a3c.version
        assert len(gradients.grads) == len(a3c.model.trainable_variables)
        result = a3c.apply_gradients(gradients)
        assert result.applied and result.metrics["learner/policy_lag_max"] == 0
        a2c.update([rollout_worker.sample(a2c.weights())])
    assert a3c.version == a2c.version == 3
    for a, b in zip(a3c.model.get_weights(), a2c.model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    untrained = learner_of(config, spec=SPEC, seed=1)
    assert not np.allclose(a3c.model.get_weights()[0], untrained.model.get_weights()[0])


def test_stale_gradients_are_discarded():
    config = build_config(
        {"mode": "async", "async_unit": "gradients", "lag.max_policy_lag": 0, "envs_per_worker": 2}
    )
    learner = learner_of(config, spec=SPEC, seed=1)
    worker = worker_of(config, spec=SPEC, seed=2, cls=GradientWorker)
    first = worker.compute_gradients(learner.weights())
    second = worker.compute_gradients(learner.weights())  # also version 0
    assert learner.apply_gradients(first).applied
    result = learner.apply_gradients(second)  # lag 1 > 0
    assert not result.applied and learner.version == 1
    assert result.metrics["learner/stale_discarded"] == 1


def test_nan_in_the_loss_skips_the_update_and_is_counted():
    _, learner, worker = setup()
    rollout = worker.sample(learner.weights())
    poisoned = replace(rollout, rewards=np.full_like(rollout.rewards, np.nan))
    before = [w.copy() for w in learner.model.get_weights()]
    optimizer_before = [v.numpy().copy() for v in learner.optimizer.variables]
    result = learner.update([poisoned])
    assert not result.applied and learner.version == 0
    assert result.metrics["learner/nonfinite_skipped"] == 1
    assert not np.isfinite(result.metrics["learner/grad_norm"])
    for a, b in zip(before, learner.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # weights untouched
    for a, v in zip(optimizer_before, learner.optimizer.variables, strict=True):
        np.testing.assert_array_equal(a, v.numpy())  # moments and step count untouched
    assert learner.update([rollout]).applied and learner.version == 1  # and it goes on


def test_nonfinite_updates_in_a_row_roll_back_to_the_snapshot_and_halve_the_lr():
    config, learner, worker = setup(nonfinite_limit=3)
    snapshot = [w.copy() for w in learner.model.get_weights()]  # version 0 is the snapshot
    advance(learner, worker, 2)  # good updates, fewer than SNAPSHOT_EVERY: no new snapshot
    rollout = worker.sample(learner.weights())
    poisoned = replace(rollout, rewards=np.full_like(rollout.rewards, np.nan))
    for _ in range(2):
        assert not learner.update([poisoned]).applied
    result = learner.update([poisoned])  # the third in a row: rolled back, a new version
    assert result.applied and learner.version == 3
    assert result.metrics["learner/nonfinite_skipped"] == 3
    assert result.metrics["learner/nonfinite_rollbacks"] == 1
    assert result.metrics["learner/learning_rate"] == np.float32(config.a2c.lr * 0.5)
    for a, b in zip(snapshot, learner.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert worker.set_weights(learner.weights())  # the rolled-back weights are published
    assert learner.update([rollout]).applied  # and training goes on at the lower rate


def test_nonfinite_action_stop_raises_with_a_message():
    import pytest

    from distrl.agents.guard import NonFiniteUpdates

    _, learner, worker = setup(nonfinite_limit=2, nonfinite_action="stop")
    rollout = worker.sample(learner.weights())
    poisoned = replace(rollout, rewards=np.full_like(rollout.rewards, np.inf))
    learner.update([poisoned])
    with pytest.raises(NonFiniteUpdates, match=r"2 updates in a row .*\(nonfinite_limit=2\)"):
        learner.update([poisoned])


def test_loss_weights_plain_mse_and_logs_the_references_diagnostics():
    """value_coef multiplies the plain mean squared error (SB3, baselines), checked through the
    gradient of the value head's bias; explained variance is SB3's formula."""
    from distrl.agents.a2c.losses import A2CLoss, Batch, explained_variance

    coef = 0.25
    config = build_config({"a2c": {"value_coef": coef, "entropy_coef": 0.0}})
    learner = learner_of(config, spec=SPEC, seed=3)
    loss = A2CLoss(learner.model, SPEC, config.a2c)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(6, 4)).astype(np.float32)
    targets = rng.normal(size=6).astype(np.float32)
    batch = Batch(obs, np.zeros(6, np.int64), np.zeros(6, np.float32), targets)  # no policy term
    grads, stats = loss.compute_gradients(batch)
    values = learner.model(obs)[1].numpy()[:, 0]
    np.testing.assert_allclose(stats["learner/value_loss"], np.mean((targets - values) ** 2),
                               rtol=1e-5)  # fmt: skip
    value_bias = [i for i, v in enumerate(learner.model.trainable_variables)
                  if v.shape == (1,)]  # fmt: skip
    assert len(value_bias) == 1
    # d/db [coef * mean((t - v)^2)] = coef * mean(-2 (t - v)); half-MSE would give half of it.
    np.testing.assert_allclose(grads[value_bias[0]][0], coef * np.mean(-2 * (targets - values)),
                               rtol=1e-4)  # fmt: skip
    assert explained_variance(targets, targets) == 1.0
    assert explained_variance(np.zeros(3), np.array([1.0, 2.0, 3.0])) == 0.0
    assert explained_variance(np.zeros(3), np.ones(3)) is None


def test_update_reports_explained_variance_entropy_grad_norm_and_lr():
    _, learner, worker = setup()
    metrics = learner.update([worker.sample(learner.weights())]).metrics
    for key in ("learner/explained_variance", "learner/entropy", "learner/value_loss",
                "learner/policy_loss", "learner/grad_norm", "learner/learning_rate"):  # fmt: skip
        assert np.isfinite(metrics[key]), key
    assert metrics["learner/explained_variance"] <= 1.0


@pytest.mark.parametrize("normalize", [False, True])
def test_nstep_batches_take_their_baseline_from_the_step_with_the_same_result(normalize):
    """n-step returns without V-trace evaluate only the bootstrap rows; the step subtracts its own
    V(s_t). Targets and gradients equal those of GAE with lambda 1 (the same returns), which
    evaluates every V(s_t) before the step; explained variance too."""
    from distrl.agents.a2c.losses import A2CLoss

    grads, stats, batches = [], [], []
    for advantage in ("nstep", "gae"):
        a2c = {"advantage": advantage, "gae_lambda": 1.0, "normalize_advantages": normalize}
        config, learner, worker = setup(a2c=a2c)
        worker.set_weights(learner.weights())
        # Fragments with episode ends inside (CartPole's random policy ends within ~20 steps).
        rollouts = [worker.sample() for _ in range(3)]
        assert any(r.terminated.any() for r in rollouts)
        loss = A2CLoss(learner.model, SPEC, config.a2c)
        batch, prepared = loss.prepare(rollouts[1:], use_vtrace=False)
        g, s = loss.compute_gradients(batch)
        grads.append(g)
        stats.append({**prepared, **s})
        batches.append(batch)
    own, given = batches
    assert own.advantages is None and given.advantages is not None
    np.testing.assert_allclose(own.targets, given.targets, rtol=1e-5, atol=1e-5)
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for key in ("learner/explained_variance", "learner/policy_loss", "learner/value_loss"):
        np.testing.assert_allclose(stats[0][key], stats[1][key], rtol=1e-4, atol=1e-6)


def test_the_learners_update_reports_where_its_cpu_went():
    _, learner, worker = setup(a2c={"advantage": "nstep"})
    metrics = learner.update([worker.sample(learner.weights())]).metrics
    assert metrics["timing/targets_cpu_s"] > 0 and metrics["timing/train_step_cpu_s"] > 0
    cpu = worker.cpu_times()
    assert cpu["sample"] >= cpu["env"] + cpu["act"] > 0 and cpu["load"] > 0


@pytest.mark.parametrize("ms_init", [0.0, 1.0])
def test_rmsprop_accumulators_start_where_configured(ms_init):
    """ms_init 1 is TF1's RMSPropOptimizer and SB3's RMSpropTFLike; 0 is Keras's. One step on
    one variable: v -= lr * g / sqrt(rho * ms_init + (1 - rho) * g^2 + eps)."""
    import keras

    from distrl.agents.a2c.learning import make_optimizer

    config = build_config({"a2c": {"optimizer": "rmsprop", "lr": 0.1, "rmsprop_rho": 0.9,
                                   "optimizer_eps": 1e-5, "rmsprop_ms_init": ms_init}})  # fmt: skip
    variable = keras.Variable(np.array([1.0], np.float32))
    optimizer = make_optimizer(config.a2c)
    optimizer.build([variable])
    np.testing.assert_array_equal(optimizer.variables[-1].numpy(), [ms_init])
    g = 0.5
    optimizer.apply_gradients([(np.array([g], np.float32), variable)])
    expected = 1.0 - 0.1 * g / np.sqrt(0.9 * ms_init + 0.1 * g**2 + 1e-5)
    np.testing.assert_allclose(variable.numpy(), [expected], rtol=1e-5)
