"""Atari through ale-py: the standard preprocessing, seed 002's, and raw full-game scores.

``standard`` (Mnih et al. 2015, as in SB3 and CleanRL): the emulator steps one frame at a time
(``frameskip=1`` on the base env, whatever the id's default) and gymnasium's
``AtariPreprocessing`` does the only frame skipping: 4 frames per agent step, max-pooled over
the last two, up to 30 no-op actions at reset, 84x84 grayscale; then a 4-frame stack, oldest
first. Observations are ``uint8 [4, 84, 84]``.

``karpathy`` (seed 002): the env's own frame skipping, then crop rows 35-195, downsample by 2,
erase the two background colours, binarise; the last 2 such frames are stacked (``uint8
[2, 80, 80]`` of 0/1) and the model takes their difference itself.

For training only, :class:`TrainingSignals` ends an episode at each lost life (the game goes on
underneath) and clips rewards to their sign. Whatever it does, it reports the raw, unclipped
full-game score in ``info["raw_return"]`` (and ``info["raw_length"]`` in agent steps) when the
game really ends: that is what distrl logs and what stop rules use.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

_registered = False


def register_ale() -> None:
    """Register ale-py's env ids with gymnasium (in every process that makes envs)."""
    global _registered
    if not _registered:
        import ale_py

        gym.register_envs(ale_py)
        _registered = True


def is_atari(env_id: str) -> bool:
    register_ale()
    try:
        entry = gym.spec(env_id).entry_point
    except gym.error.Error:
        return False
    return isinstance(entry, str) and entry.startswith("ale_py")


class TrainingSignals(gym.Wrapper):
    """Episodic life and reward clipping (when asked), and the raw score of every game."""

    def __init__(self, env: gym.Env, *, episodic_life: bool, clip_rewards: bool) -> None:
        super().__init__(env)
        self.episodic_life, self.clip_rewards = episodic_life, clip_rewards
        self.lives = 0
        self.game_over = True
        self.raw_return, self.raw_length = 0.0, 0

    def _ale_lives(self) -> int:
        return int(self.env.unwrapped.ale.lives())  # type: ignore[attr-defined]

    def reset(self, **kwargs: Any) -> Any:
        if self.game_over:
            obs, info = self.env.reset(**kwargs)
            self.raw_return, self.raw_length = 0.0, 0
        else:  # a life was lost, the game goes on: one no-op step instead of a reset
            obs, reward, terminated, truncated, info = self.env.step(0)
            self.raw_return += float(reward)
            self.raw_length += 1
            if terminated or truncated:  # the game ended on that very step: a real reset
                obs, info = self.env.reset(**kwargs)
                self.raw_return, self.raw_length = 0.0, 0
        self.lives = self._ale_lives()
        self.game_over = False
        return obs, info

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.raw_return += float(reward)
        self.raw_length += 1
        self.game_over = bool(terminated or truncated)
        if self.game_over:
            info = {**info, "raw_return": self.raw_return, "raw_length": self.raw_length}
        lives = self._ale_lives()
        if self.episodic_life and 0 < lives < self.lives:
            terminated = True  # a life lost ends the training episode, not the game
        self.lives = lives
        if self.clip_rewards:
            reward = float(np.sign(float(reward)))
        return obs, reward, terminated, truncated, info


def karpathy_frame(frame: np.ndarray) -> np.ndarray:
    """Seed 002's preprocessing of one 210x160 RGB frame to an 80x80 0/1 ``uint8`` image."""
    image = frame[35:195:2, ::2, 0].copy()  # crop, downsample by 2, red channel
    for background in (144, 109):  # Pong's two background colours
        image[image == background] = 0
    return (image != 0).astype(np.uint8)  # paddles and ball


class KarpathyFrames(gym.ObservationWrapper):
    """Each frame through :func:`karpathy_frame`."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = gym.spaces.Box(0, 1, (80, 80), np.uint8)

    def observation(self, frame: np.ndarray) -> np.ndarray:
        return karpathy_frame(frame)


def make_atari_env(
    env_id: str, config: Any, *, training: bool, render_mode: str | None = None
) -> gym.Env:
    """One preprocessed Atari env (``config`` is an :class:`~distrl.config.AtariConfig`)."""
    register_ale()
    kwargs: dict[str, Any] = {"render_mode": render_mode}
    if config.sticky_actions is not None:
        kwargs["repeat_action_probability"] = config.sticky_actions
    if config.preprocess == "karpathy":
        env = gym.make(env_id, **kwargs)
        env = TrainingSignals(env, episodic_life=False, clip_rewards=False)
        env = KarpathyFrames(env)
        return gym.wrappers.FrameStackObservation(env, 2)
    env = gym.make(env_id, frameskip=1, **kwargs)  # the wrapper below skips frames, only it
    env = gym.wrappers.AtariPreprocessing(
        env,
        noop_max=config.noop_max,
        frame_skip=config.frame_skip,
        screen_size=84,
        grayscale_obs=True,
        terminal_on_life_loss=False,
        scale_obs=False,
    )
    env = TrainingSignals(
        env,
        episodic_life=training and config.episodic_life,
        clip_rewards=training and config.clip_rewards,
    )
    return gym.wrappers.FrameStackObservation(env, config.frame_stack)
