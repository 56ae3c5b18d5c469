"""Ray Tune: a 2-trial sweep of real distrl runs, each in its own placement group."""

import pytest

import distrl


@pytest.mark.slow
def test_a_two_trial_sweep_reports_every_update_and_checkpoints(ray_cluster, tmp_path):
    from ray import tune

    from distrl.integrations.tune import resources, trainable
    from distrl.ops.checkpoint import read_checkpoint

    base = distrl.make_config(workers=1, envs_per_worker=8, max_steps=3_000, progress_interval=60)
    # A trial reserves its own process, the learner and one worker: 2.5 of the fixture's 4 CPUs,
    # so the two trials run one after the other.
    bundles = resources(base).bundles
    assert bundles == [{"CPU": 0.5}, {"CPU": 1.0}, {"CPU": 1.0}]
    two = distrl.make_config(workers=1, learners=2, learner_cpus=2.0, progress_interval=60)
    assert resources(two).bundles == [{"CPU": 0.5}, {"CPU": 2.0}, {"CPU": 2.0}, {"CPU": 1.0}]
    tuner = tune.Tuner(
        trainable(base, checkpoint_every=10),
        param_space={"a2c.lr": tune.grid_search([1e-3, 3e-3])},
        tune_config=tune.TuneConfig(metric="mean_return", mode="max"),
        run_config=tune.RunConfig(name="sweep", storage_path=str(tmp_path / "tune")),
    )
    results = tuner.fit()
    assert len(results) == 2 and not results.errors
    for result in results:
        history = result.metrics_dataframe
        # every update after the first finished episodes, then the final report
        assert history["updates"].is_monotonic_increasing and len(history) > 10
        assert result.metrics["done"] and result.metrics["env_steps"] >= 3_000
        assert "learner_policy_loss" in result.metrics
        with result.checkpoint.as_directory() as folder:
            saved = read_checkpoint(folder)
            assert saved.config["a2c"]["lr"] == result.config["a2c.lr"]
            assert saved.counters["updates"] == result.metrics["updates"]
    assert {r.config["a2c.lr"] for r in results} == {1e-3, 3e-3}
