"""Atari preprocessing on real ale-py emulators: shapes, dtypes, ranges, frame-stack order,
exactly one layer of frame skipping, and raw scores untouched by the training signals."""

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from distrl.config import AtariConfig, ConfigError, build_config
from distrl.envs import env_spec, make_vector_env
from distrl.envs.ale_vector import AleVectorEnv
from distrl.envs.atari import TrainingSignals, is_atari, karpathy_frame, make_atari_env


def random_steps(envs, n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        out.append(envs.step(rng.integers(0, envs.single_action_space.n, envs.num_envs)))
    return out


def test_atari_ids_are_recognised():
    assert is_atari("ALE/Pong-v5") and is_atari("PongNoFrameskip-v4")
    assert not is_atari("CartPole-v1") and not is_atari("NoSuchEnv-v0")


@pytest.mark.parametrize("vectorizer", ["ale", "gymnasium"])
def test_standard_preprocessing_shapes_dtypes_and_ranges(vectorizer):
    config = build_config({"env": "ALE/Pong-v5", "atari.vectorizer": vectorizer})
    spec = env_spec(config.env, config.atari)
    assert spec.observation_shape == (4, 84, 84) and spec.observation_dtype == "uint8"
    assert spec.action_kind == "discrete" and spec.num_actions == 6
    envs = make_vector_env(config.env, 2, atari=config.atari)
    obs, _ = envs.reset(seed=[0, 1])
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
    steps = random_steps(envs, 50)
    frames = np.stack([s[0] for s in steps])
    assert frames.dtype == np.uint8 and frames.max() > frames.min()  # real gray pixels
    rewards = np.concatenate([s[1] for s in steps])
    assert set(np.unique(rewards)) <= {-1.0, 0.0, 1.0}  # clipped for training
    assert isinstance(envs, AleVectorEnv) == (vectorizer == "ale")
    envs.close()


@pytest.mark.parametrize("vectorizer", ["ale", "gymnasium"])
def test_frame_stack_is_oldest_first_and_shifts_by_one(vectorizer):
    envs = make_vector_env("ALE/Pong-v5", 1, atari=AtariConfig(vectorizer=vectorizer))
    prev, _ = envs.reset(seed=3)
    for obs, _, terminated, truncated, _ in random_steps(envs, 40):
        if not (terminated[0] or truncated[0]):
            np.testing.assert_array_equal(obs[0, :-1], prev[0, 1:])  # newest frame last
        prev = obs
    envs.close()


@pytest.mark.parametrize("env_id", ["ALE/Pong-v5", "PongNoFrameskip-v4"])
def test_exactly_four_emulator_frames_per_agent_step(env_id):
    env = make_atari_env(env_id, AtariConfig(), training=True)
    ale = env.unwrapped.ale
    assert env.unwrapped._frameskip == 1  # the emulator itself never skips: one layer only
    env.reset(seed=0)
    for action in [0, 2, 3, 1, 0, 5] * 5:
        before = ale.getEpisodeFrameNumber()
        _, _, terminated, truncated, _ = env.step(action)
        assert ale.getEpisodeFrameNumber() - before == 4
        assert not (terminated or truncated)
    env.close()


class RawRewardCounter(gym.Wrapper):
    """Test probe under TrainingSignals: the raw rewards of the current game, all lives."""

    def reset(self, **kwargs):
        self.total = 0.0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.total += float(reward)
        return obs, reward, terminated, truncated, info


def test_episodic_life_and_clipping_never_change_the_logged_raw_score():
    base = gym.wrappers.AtariPreprocessing(gym.make("ALE/Breakout-v5", frameskip=1),
                                           noop_max=30, frame_skip=4)  # fmt: skip
    probe = RawRewardCounter(base)
    env = TrainingSignals(probe, episodic_life=True, clip_rewards=True)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    life_ends, clipped, games = 0, 0.0, []
    while len(games) < 2:
        _, reward, terminated, truncated, info = env.step(int(rng.integers(0, 4)))
        clipped += reward
        if "raw_return" in info:  # the game (all 5 lives) is over
            games.append((info["raw_return"], probe.total, clipped))
            clipped = 0.0
        if terminated or truncated:
            life_ends += 1
            env.reset()
    assert life_ends >= 2 * 5  # training episodes ended at every lost life
    for raw, probed, clipped_sum in games:
        assert raw == probed  # the logged score is the raw game score, all lives
        assert raw >= clipped_sum  # Breakout's 4- and 7-point bricks count 1 when clipped


def test_ale_vector_env_steps_four_frames_and_one_layer_of_skipping():
    envs = AleVectorEnv("PongNoFrameskip-v4", 2, AtariConfig(), training=True)
    _, info = envs.reset(seed=[0, 1])
    before = info["episode_frame_number"].copy()
    for _, _, terminated, truncated, info in random_steps(envs, 30):
        assert not (terminated.any() or truncated.any())
        np.testing.assert_array_equal(info["episode_frame_number"] - before, 4)
        before = info["episode_frame_number"].copy()
    envs.close()


def test_ale_vector_env_life_loss_ends_training_episodes_but_not_the_game():
    # Two copies of the same Breakout games (same seeds, same actions): one with the training
    # signals, one without. The emulators must see the same games, frame for frame, and
    # report the same raw scores; only the training copy ends episodes at lost lives.
    config = AtariConfig(sticky_actions=0.0)
    train = AleVectorEnv("ALE/Breakout-v5", 2, config, training=True)
    plain = AleVectorEnv("ALE/Breakout-v5", 2, config, training=False)
    obs_t, _ = train.reset(seed=[5, 6])
    obs_p, _ = plain.reset(seed=[5, 6])
    rng = np.random.default_rng(0)
    ends = {"train": 0, "plain": 0}
    scores = {"train": [], "plain": []}
    clipped, raw = np.zeros(2), np.zeros(2)
    while len(scores["plain"]) < 3:
        actions = rng.integers(0, 4, 2)
        obs_t, r_t, term_t, trunc_t, info_t = train.step(actions)
        obs_p, r_p, term_p, trunc_p, info_p = plain.step(actions)
        np.testing.assert_array_equal(obs_t, obs_p)  # the same game underneath
        assert set(np.unique(r_t)) <= {-1.0, 0.0, 1.0}
        clipped += r_t
        raw += r_p
        ends["train"] += int((term_t | trunc_t).sum())
        ends["plain"] += int((term_p | trunc_p).sum())
        for name, info in (("train", info_t), ("plain", info_p)):
            final = info.get("final_info", {})
            for b in np.flatnonzero(final.get("_raw_return", ())):
                scores[name].append(float(final["raw_return"][b]))
        for b in np.flatnonzero(term_p | trunc_p):  # a whole game ended (both copies)
            assert raw[b] >= clipped[b]  # 4- and 7-point bricks count 1 when clipped
            raw[b] = clipped[b] = 0.0
    assert scores["train"] == scores["plain"]  # raw full-game scores, all lives
    assert ends["train"] >= 5 * ends["plain"]  # Breakout: 5 lives per game
    train.close()
    plain.close()


def test_the_ale_vectorizer_needs_standard_preprocessing():
    with pytest.raises(ConfigError, match=r"atari\.vectorizer ale needs atari\.preprocess"):
        build_config({"atari.vectorizer": "ale", "atari.preprocess": "karpathy"})
    with pytest.raises(ConfigError, match=r"atari\.vectorizer must be one of"):
        build_config({"atari.vectorizer": "envpool"})
    karpathy = build_config({"env": "ALE/Pong-v5", "atari.preprocess": "karpathy"})
    envs = make_vector_env(karpathy.env, 1, atari=karpathy.atari)  # auto: the Python wrappers
    assert not isinstance(envs, AleVectorEnv)
    envs.close()


def test_karpathy_frames_match_seed_002():
    frame = np.full((210, 160, 3), 144, np.uint8)  # background type 1
    frame[100:104, 20:22] = 236  # a paddle
    frame[60:62, 80:82] = 109  # background type 2 stays 0
    out = karpathy_frame(frame)
    assert out.shape == (80, 80) and out.dtype == np.uint8
    assert out.sum() == 2 and out[33, 10] == out[34, 10] == 1  # rows 66, 68 of the crop
    config = build_config({"env": "ALE/Pong-v5", "atari.preprocess": "karpathy"})
    assert env_spec(config.env, config.atari).observation_shape == (2, 80, 80)
    envs = make_vector_env(config.env, 1, atari=config.atari)
    obs, _ = envs.reset(seed=0)
    assert set(np.unique(obs)) <= {0, 1}
    np.testing.assert_array_equal(obs[0, 0], obs[0, 1])  # at reset: difference zero
    envs.close()


@pytest.mark.slow
def test_a_short_pong_run_with_two_workers_logs_raw_scores(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "distrl.launch", "--preset", "pong-a2c", "--workers", "2",
         "--envs-per-worker", "2", "--max-steps", "4000", "--logdir", str(tmp_path / "run"),
         "--json-summary", str(tmp_path / "summary.json")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = json.loads((tmp_path / "summary.json").read_text())["run_dir"]
    rows = [json.loads(line) for line in (Path(run_dir) / "episodes.jsonl").open()]
    assert rows, "no Pong game finished"
    for row in rows:  # whole games, raw: between -21 and 21, never per-life or clipped sums
        assert -21 <= row["return"] <= 21 and row["return"] == int(row["return"])
        assert row["length"] > 500
    assert json.loads((tmp_path / "summary.json").read_text())["env_steps"] >= 4000
