"""The user's own envs, from a package that is not installed: by ``module:EnvId`` and by
``env_imports``, with ``env_kwargs`` and a wrapper, on 2 real Ray workers (A2C and DDPG); Dict
observations; images of another size than Atari's; and one-line errors for what is broken."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import distrl
from distrl.config import ConfigError
from distrl.envs import EnvOptions, env_spec

SOURCE = Path(__file__).parent / "userenvs_src"


@pytest.fixture
def userenvs(tmp_path, monkeypatch):
    """The package ``userenvs`` in a temporary folder the driver imports it from (as a script
    next to it would); the Ray workers are not told where it is."""
    shutil.copytree(SOURCE, tmp_path / "pkg" / "userenvs")
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    yield tmp_path / "pkg"
    for name in [m for m in sys.modules if m == "userenvs" or m.startswith("userenvs.")]:
        del sys.modules[name]


def test_a2c_trains_a_module_id_env_with_kwargs_and_a_wrapper_on_ray(userenvs, ray_cluster,
                                                                      tmp_path):  # fmt: skip
    # size 3 (env_kwargs) and rewards doubled (the wrapper): the best return is 40, random ~20.
    config = distrl.make_config(
        env="userenvs:ReachDisc-v0", env_kwargs={"size": 3},
        env_wrappers=[{"name": "userenvs.envs:ScaleReward", "kwargs": {"scale": 2.0}}],
        workers=2, envs_per_worker=8, max_steps=60_000, stop_reward=36,
        logdir=str(tmp_path / "runs"), progress_interval=60,
    )  # fmt: skip
    summary = distrl.Trainer(config).train()
    assert summary.solved, summary  # mean of the last 20 episodes >= 36
    assert summary.final_mean_return <= 40  # the wrapper's scale, no more


def test_ddpg_trains_an_env_registered_by_env_imports_on_ray(userenvs, ray_cluster, tmp_path):
    """...with the user's own actor and critic builders, from the same uninstalled package."""
    config = distrl.make_config(
        algo="ddpg", env="ReachBox-v0", env_imports=["userenvs"], env_kwargs={"goal": 3.0},
        workers=2, envs_per_worker=2, max_steps=4_000, stop_reward=1e9,
        ddpg={"learning_starts": 500, "batch_size": 64, "actor": "userenvs.models:small_actor",
              "critic": "userenvs.models:small_critic"},
        logdir=str(tmp_path / "runs"), progress_interval=60,
    )  # fmt: skip
    trainer = distrl.Trainer(config)
    summary = trainer.train()
    assert summary.stop_reason == "max_steps" and summary.learner_updates > 10
    # The trained actor pushes towards the goal from both sides of it (random acting would
    # not): from 0 it pushes right, from 5 left.
    policy = trainer.policy()
    obs = np.array([[0.0, 3.0], [5.0, 3.0]], np.float32)
    left_of_goal, right_of_goal = policy.act(obs, deterministic=True)[:, 0]
    assert left_of_goal > 0 > right_of_goal
    # The user's networks were the ones trained: 32 hidden units in the actor.
    weights = trainer.policy().weights.weights
    assert [w.shape for w in weights][:2] == [(2, 32), (32,)]
    # ...and its exported actor acts the same outside the run.
    saved = distrl.Policy.from_keras(
        trainer.save_policy(tmp_path / "actor.keras"), env="ReachBox-v0", algo="ddpg",
        overrides={"env_imports": ["userenvs"], "env_kwargs": {"goal": 3.0},
                   "ddpg": {"actor": "userenvs.models:small_actor"}},
    )  # fmt: skip
    np.testing.assert_allclose(saved.act(obs, deterministic=True),
                               policy.act(obs, deterministic=True), rtol=1e-5)  # fmt: skip


@pytest.mark.parametrize(
    ("ddpg", "message"),
    [
        ({"actor": "userenvs.models:wrong_actor"},
         "ddpg.actor 'userenvs.models:wrong_actor' outputs shape [2] per sample; DDPG needs [1]"),
        ({"critic": "userenvs.models:small_actor"},
         "ddpg.critic 'userenvs.models:small_actor' must return a keras.Model of [observations, "
         "actions] with one output"),
        ({"critic": "userenvs.models:nope"}, "ddpg.critic 'userenvs.models:nope' cannot be "),
    ],
)  # fmt: skip
def test_bad_ddpg_builders_are_one_line_errors(userenvs, tmp_path, ddpg, message):
    config = distrl.make_config(algo="ddpg", env="ReachBox-v0", env_imports=["userenvs"],
                                workers=0, ddpg=ddpg, logdir=str(tmp_path / "runs"))  # fmt: skip
    with pytest.raises(ConfigError, match=re.escape(message)):
        distrl.Trainer(config).train()


@pytest.mark.slow
def test_dict_observations_are_flattened_and_train(userenvs, tmp_path):
    spec = env_spec("DictReach-v0", options=EnvOptions(imports=("userenvs",)))
    assert spec.observation_shape == (2,) and spec.observation_dtype == "float32"
    config = distrl.make_config(env="DictReach-v0", env_imports=["userenvs"], workers=0,
                                max_steps=2_000, logdir=str(tmp_path / "runs"))  # fmt: skip
    summary = distrl.Trainer(config).train()
    assert summary.learner_updates > 10 and summary.episodes > 0


@pytest.mark.slow
def test_a_32x32x3_image_env_trains_with_the_adaptive_cnn(userenvs, tmp_path):
    config = distrl.make_config(
        env="userenvs:Pixels-v0", workers=0, envs_per_worker=8, max_steps=1_500,
        model={"name": "cnn"}, logdir=str(tmp_path / "runs"),
    )  # fmt: skip
    summary = distrl.Trainer(config).train()
    assert summary.learner_updates > 5 and summary.episodes > 0
    # The Atari CNN on the same images: one line saying what fits instead of Keras's error.
    nature = distrl.make_config(
        env="userenvs:Pixels-v0",
        workers=0,
        max_steps=100,
        model={"name": "nature_cnn"},
        logdir=str(tmp_path / "runs"),
    )
    with pytest.raises(ConfigError, match=r"nature_cnn needs observations of N x 84 x 84"):
        distrl.Trainer(nature).train()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "userenvs:Broken-v0"], "is not in its observation space"),
        (["--env", "nosuchpkg.envs:Foo-v0"], "env module 'nosuchpkg.envs' cannot be imported"),
        (
            ["--env", "userenvs:ReachDisc-v0", "--set", "env_kwargs={colour: red}"],
            "env_kwargs {'colour': 'red'}",
        ),
        (
            ["--env", "userenvs:ReachDisc-v0", "--env-wrappers", "userenvs.envs:Nope"],
            "env_wrappers: 'userenvs.envs:Nope' cannot be imported",
        ),
        (["--env", "CartPole-v1", "--env-wrappers", "[{nam: x}]"], "env_wrappers entries are"),
    ],
)
def test_broken_envs_and_options_are_one_line_exit_2(userenvs, args, message, tmp_path):
    env = {"PYTHONPATH": str(userenvs), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "distrl.launch", *args, "--workers", "0",
         "--logdir", str(tmp_path / "runs")], capture_output=True, text=True, timeout=120,
        env=env, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_unsupported_spaces_name_themselves_and_what_is_supported():
    with pytest.raises(ConfigError, match=r"action space Tuple.*supported: Discrete"):
        env_spec("TupleActionsDemo-v0", options=EnvOptions(imports=("tests.envs.spaces",)))


@pytest.mark.slow
def test_the_external_actor_makes_the_env_with_imports_kwargs_and_wrappers(userenvs, tmp_path):
    """``python -m distrl.actor --env-imports/--env-kwargs/--env-wrappers`` against a learner
    serving the same custom env, both as separate processes."""
    from tests.service.test_end_to_end import free_port, wait_until_serving

    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(userenvs)}
    learner = subprocess.Popen(
        [sys.executable, "-m", "distrl.launch", "--workers", "0", "--serve", address,
         "--env", "userenvs:ReachDisc-v0", "--env-kwargs", "{size: 3}", "--max-seconds", "120",
         "--logdir", str(tmp_path / "runs"), "--stop-reward", "1000"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until_serving(address, learner)
        actor = [
            sys.executable,
            "-m",
            "distrl.actor",
            "--server",
            address,
            "--env",
            "ReachDisc-v0",
            "--env-imports",
            "userenvs",
            "--env-kwargs",
            "{size: 3}",
            "--max-steps",
            "1000",
            "--envs",
            "2",
            "--json",
            str(tmp_path / "out.json"),
        ]
        wrappers = ["--env-wrappers", "[{name: 'userenvs.envs:ScaleReward', kwargs: {scale: 3.0}}]"]
        done = subprocess.run([*actor, *wrappers], env=env, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        returns = json.loads((tmp_path / "out.json").read_text())["episode_returns"]
        assert returns and all(r % 3 == 0 and 0 <= r <= 60 for r in returns)  # scaled by 3
        assert any(r % 2 for r in returns)  # odd multiples: not some other scale
        bad = subprocess.run([*actor, "--env-kwargs", "{nope: 1}"], env=env,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
        assert bad.returncode == 2
        assert bad.stderr.strip().splitlines()[-1].startswith("distrl.actor: error: "), bad.stderr
    finally:
        learner.kill()


@pytest.mark.parametrize(("algo", "keys"), [("ppo", {"lr": 1e-3, "n_epochs": 4}),
                                            ("a2c", {"lr": 3e-3})])  # fmt: skip
def test_gaussian_policies_learn_a_continuous_env_on_ray(userenvs, ray_cluster, tmp_path, algo,
                                                          keys):  # fmt: skip
    """A2C and PPO on a Box action space (a diagonal Gaussian): ReachBox pays minus the
    distance to the goal each of 20 steps; random pushes score about -40, going straight there
    and staying about -4."""
    config = distrl.make_config(
        algo=algo, env="userenvs:ReachBox-v0", workers=2, envs_per_worker=4, rollout_len=16,
        max_steps=150_000, stop_reward=-8, logdir=str(tmp_path / "runs"), progress_interval=60,
        **{algo: keys},
    )  # fmt: skip
    trainer = distrl.Trainer(config)
    summary = trainer.train()
    assert summary.solved, summary
    greedy = trainer.policy().act(np.array([[0.0, 2.0], [4.0, 2.0]], np.float32),
                                  deterministic=True)  # fmt: skip
    assert greedy.shape == (2, 1) and greedy[0, 0] > 0 > greedy[1, 0]  # towards the goal
    assert np.abs(greedy).max() <= 1.0  # within the box


def test_a_dict_observation_flattens_as_gymnasium_does_one_or_batched():
    import gymnasium as gym

    spec = env_spec("IllegalMoves-v0", options=EnvOptions(imports=("tests.envs.spaces",)))
    assert spec.observation_parts == (("action_mask", (6,)), ("observation", (6,)))
    env = gym.make("IllegalMoves-v0")
    obs, _ = env.reset(seed=3)
    expected = gym.spaces.flatten(env.observation_space, obs)
    np.testing.assert_array_equal(spec.flatten_observation(obs), expected)
    batch = {key: np.stack([value, value]) for key, value in obs.items()}
    np.testing.assert_array_equal(spec.flatten_observation(batch), np.stack([expected] * 2))
    with pytest.raises(ValueError, match="observation entry 'observation' has shape"):
        spec.flatten_observation({**obs, "observation": np.zeros(5)})
