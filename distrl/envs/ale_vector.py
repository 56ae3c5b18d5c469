"""ale-py's C++ vector env behind the interface the rollout worker expects.

``AtariVectorEnv`` runs every copy's emulator, frame skipping (4, max-pooled over the last two
frames), no-op resets, 84x84 grayscale and the frame stack in C++, which is about 30% faster
per core than the same steps through gymnasium's Python wrappers (BENCHMARKS.md). It is used
for ``atari.preprocess: standard``, where its preprocessing is the one
:func:`distrl.envs.atari.make_atari_env` builds, and presents what the worker relies on:

- SAME_STEP autoreset, the true last observation of an ended episode in ``info["final_obs"]``;
- the training-only signals of :class:`~distrl.envs.atari.TrainingSignals`, computed here:
  the emulator always gets the raw game (no clipping, no life-loss resets in C++), a lost life
  ends the training episode while the game goes on (the next observation is the same frame),
  rewards are clipped to their sign;
- the raw full-game score and length (agent steps) in ``info["final_info"]["raw_return"]`` /
  ``["raw_length"]`` with their ``_``-masks, for the envs whose game really ended.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from distrl.config import AtariConfig

# Gymnasium's AtariPreprocessing does not press FIRE after a reset; neither does distrl.
_FIRE_RESET = False


def ale_game(env_id: str) -> str:
    """The ROM name of a registered ale-py id (``PongNoFrameskip-v4`` -> ``pong``)."""
    return str(gym.spec(env_id).kwargs["game"])


class AleVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` copies of an ale-py game, preprocessed in C++ (see the module docstring)."""

    def __init__(self, env_id: str, num_envs: int, config: AtariConfig, *, training: bool) -> None:
        from ale_py.vector_env import AtariVectorEnv

        kwargs = gym.spec(env_id).kwargs
        sticky = config.sticky_actions
        if sticky is None:
            sticky = float(kwargs.get("repeat_action_probability", 0.25))
        frames = kwargs.get("max_num_frames_per_episode") or 108_000
        self.envs = AtariVectorEnv(
            ale_game(env_id),
            num_envs,
            num_threads=1,  # one rollout worker reserves one CPU
            max_num_frames_per_episode=int(frames),
            repeat_action_probability=sticky,
            full_action_space=bool(kwargs.get("full_action_space", False)),
            autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
            img_height=84,
            img_width=84,
            grayscale=True,
            stack_num=config.frame_stack,
            frameskip=config.frame_skip,
            maxpool=True,
            noop_max=config.noop_max,
            episodic_life=False,  # done here, so that the raw game goes on
            reward_clipping=False,
            use_fire_reset=_FIRE_RESET,
        )
        self.num_envs = num_envs
        self.single_observation_space = self.envs.single_observation_space
        self.single_action_space = self.envs.single_action_space
        self.observation_space = self.envs.observation_space
        self.action_space = self.envs.action_space
        self.metadata = {**self.envs.metadata, "autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
        self.episodic_life = training and config.episodic_life
        self.clip_rewards = training and config.clip_rewards
        self._lives = np.zeros(num_envs, dtype=np.int64)
        self._no_loss = np.zeros(num_envs, dtype=bool)  # episodic life off: never a lost life
        self._raw_return = np.zeros(num_envs, dtype=np.float64)
        self._raw_length = np.zeros(num_envs, dtype=np.int64)

    def reset(self, *, seed: Any = None, options: Any = None) -> tuple[np.ndarray, dict]:
        if seed is not None and not isinstance(seed, int):
            # one per copy; the emulator takes C ints (the workers' seeds are 32-bit unsigned)
            seed = np.asarray(seed, dtype=np.int64) % 2**31
        obs, info = self.envs.reset(seed=seed)
        self._lives[:] = info["lives"]
        self._raw_return[:] = 0.0
        self._raw_length[:] = 0
        return obs, info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        step = self.envs.step(np.asarray(actions, dtype=np.int64))
        obs, raw, terminated, truncated = step[:4]
        info: dict[str, Any] = step[4]  # the emulator's arrays; the final_* entries are added
        self._raw_return += raw
        self._raw_length += 1
        game_over = terminated | truncated
        lives = info["lives"]
        life_lost = (lives < self._lives) & ~game_over if self.episodic_life else self._no_loss
        self._lives = lives  # for an ended game, the lives of the one that has begun
        rewards = (np.sign(raw) if self.clip_rewards else raw).astype(np.float32)
        if game_over.any() or life_lost.any():
            final_obs = info["final_obs"] if "final_obs" in info else obs.copy()
            final_obs[life_lost] = obs[life_lost]  # the game goes on from this very frame
            info["final_obs"], info["_final_obs"] = final_obs, game_over | life_lost
        if game_over.any():
            info["final_info"] = {
                "raw_return": np.where(game_over, self._raw_return, 0.0),
                "_raw_return": game_over,
                "raw_length": np.where(game_over, self._raw_length, 0),
                "_raw_length": game_over,
            }
            self._raw_return[game_over] = 0.0
            self._raw_length[game_over] = 0
        return obs, rewards, terminated | life_lost, truncated, info

    def close(self, **kwargs: Any) -> None:
        self.envs.close()
