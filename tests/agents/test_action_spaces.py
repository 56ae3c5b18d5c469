"""Multi-part actions and action masks, trained end to end in process (``--workers 0``) on the
small envs of ``tests/envs/spaces.py``, whose optimum is known; and masks on 2 Ray workers."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

import distrl
from distrl.config import ConfigError

SPACES = {"env_imports": ["tests.envs.spaces"]}


def trainer(tmp_path, algo, env, steps, **overrides):
    config = distrl.make_config(algo=algo, env=env, workers=0, max_steps=steps,
                                logdir=str(tmp_path / "runs"), **SPACES, **overrides)  # fmt: skip
    return distrl.Trainer(config)


def train(tmp_path, algo, env, steps, **overrides):
    return trainer(tmp_path, algo, env, steps, **overrides).train()


def episode_returns(summary):
    lines = (Path(summary.run_dir) / "episodes.jsonl").read_text().splitlines()
    return [json.loads(line)["return"] for line in lines]


# Random play scores 2/3 on the parts (3 choices each) and 2 on the bits; the optimum is 2 and 4.
@pytest.mark.parametrize("algo", ["a2c", "ppo"])
@pytest.mark.parametrize(("env", "optimum"), [("MatchTargetParts-v0", 2.0),
                                              ("MatchTargetBits-v0", 4.0)])  # fmt: skip
def test_multi_part_actions_train_to_the_optimum(tmp_path, algo, env, optimum):
    summary = train(tmp_path, algo, env, 20_000)
    assert summary.final_mean_return >= optimum - 0.15, summary


def test_reinforce_trains_multi_binary_actions(tmp_path):
    summary = train(tmp_path, "pg", "MatchTargetBits-v0", 30_000)
    assert summary.final_mean_return >= 3.85, summary


def test_masked_ppo_takes_no_illegal_action_and_solves_where_unmasked_ppo_takes_them(tmp_path):
    run = trainer(tmp_path, "ppo", "IllegalMoves-v0", 40_000, stop_reward=9.5)
    masked = run.train()
    returns = episode_returns(masked)
    assert len(returns) >= 1000  # at least 10k steps of 10-step episodes
    assert min(returns) >= 0, "an illegal action was taken"  # each one scores -10
    assert masked.solved and masked.final_mean_return >= 9.5
    # The mask is part of the saved model: plain Keras, without distrl, picks legal actions.
    run.save_policy(str(tmp_path / "policy.keras"))
    model = keras.models.load_model(tmp_path / "policy.keras")
    rng = np.random.default_rng(0)
    legal = (rng.random((300, 6)) < 0.5).astype(np.float32)
    legal[np.arange(300), rng.integers(0, 6, 300)] = 1.0
    marked = np.eye(6, dtype=np.float32)[rng.integers(0, 6, 300)]
    logits, _ = model(np.concatenate([legal, marked], axis=1))  # Dict keys in sorted order
    assert legal[np.arange(300), np.argmax(logits, axis=-1)].all()
    unmasked = train(tmp_path, "ppo", "IllegalMovesUnmasked-v0", 10_000)
    assert sum(r < 0 for r in episode_returns(unmasked)) > 100  # the same env, mask unused


def test_a_mask_that_allows_nothing_names_the_env_and_the_step(tmp_path):
    message = r"NoLegalMove-v0: the action_mask of env copy \d+ allows no action at step 2 "
    with pytest.raises(distrl.TrainingFailed, match=message):
        train(tmp_path, "a2c", "NoLegalMove-v0", 2_000)


def test_algorithms_without_masks_refuse_a_masked_env(tmp_path):
    with pytest.raises(ConfigError, match="algo dqn does not act on action masks"):
        train(tmp_path, "dqn", "IllegalMoves-v0", 1_000)


def test_an_env_class_and_a_masked_lambda_train_on_two_ray_workers(ray_cluster, tmp_path):
    """``env=`` a gymnasium.Env subclass (made with env_kwargs) or a zero-argument callable:
    Ray pickles it to the workers. The class's env has multi-binary actions (random play scores
    2 of 4); the callable's is the masked one, whose workers never play an illegal move."""
    from tests.envs.spaces import IllegalMoves, MatchTarget

    runs = [("a2c", MatchTarget, {"kind": "multi_binary"}, 3.0),
            ("ppo", lambda: IllegalMoves(), None, None)]  # fmt: skip
    for algo, env, kwargs, floor in runs:
        config = distrl.make_config(algo=algo, env=env, env_kwargs=kwargs, workers=2,
                                    max_steps=8_000, logdir=str(tmp_path / "runs"),
                                    progress_interval=60)  # fmt: skip
        summary = distrl.Trainer(config).train()
        assert summary.workers == 2, summary
        if floor is not None:
            assert summary.final_mean_return >= floor, summary
        else:
            returns = episode_returns(summary)
            assert len(returns) >= 600 and min(returns) >= 0  # never -10: never illegal


def test_a_run_of_an_env_class_resumes_with_the_class_given_again(tmp_path):
    from tests.envs.spaces import MatchTarget

    config = distrl.make_config(algo="a2c", env=MatchTarget, workers=0, max_steps=1_000,
                                logdir=str(tmp_path / "runs"),
                                checkpoint_dir=str(tmp_path / "ck"))  # fmt: skip
    first = distrl.Trainer(config).train()
    assert config.env == "MatchTarget" and "env_factory" not in config.to_dict()
    with pytest.raises(ConfigError, match="unknown env id 'MatchTarget'"):
        distrl.Trainer.restore(str(tmp_path / "ck"), max_steps=2_000).prepare()
    again = distrl.Trainer.restore(str(tmp_path / "ck"), env=MatchTarget, max_steps=2_000)
    assert again.train().env_steps > first.env_steps
