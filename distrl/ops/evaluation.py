"""Evaluation episodes on a separate, plain env: no exploration noise, no training wrappers.

Used by ``python -m distrl.evaluate`` (a checkpoint's Keras policy) and by ``--eval-every``
during training (the workers' NumPy policy with the learner's newest weights). Returns are raw
full-episode returns.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

Act = Callable[[np.ndarray, np.random.Generator], Any]  # one obs [*obs] -> one action


def evaluate(
    act: Act,
    env_id: str,
    *,
    episodes: int,
    seed: int = 0,
    video_dir: str | Path | None = None,
    on_episode: Callable[[int, float, int], None] | None = None,
    atari: Any = None,
    options: Any = None,
    on_start: Callable[[], None] | None = None,
) -> np.ndarray:
    """Run ``episodes`` episodes of ``env_id`` with ``act``; their returns.

    With ``video_dir``, every episode is recorded there as MP4 (gymnasium's RecordVideo).
    ``on_episode(index, return, length)`` is called after each one (progress display);
    ``on_start()`` before each (a recurrent policy zeroes its state there).
    """
    from distrl.envs.factory import make_one

    # Atari: the same observation preprocessing as training, none of its training signals
    # (no episodic life, no reward clipping), so the returns are raw full-game scores.
    render_mode = "rgb_array" if video_dir is not None else None
    env = make_one(env_id, atari, training=False, render_mode=render_mode, options=options)
    if video_dir is not None:
        env = gym.wrappers.RecordVideo(
            env, str(video_dir), episode_trigger=lambda _: True, disable_logger=True
        )
    rng = np.random.default_rng(seed)
    returns = np.zeros(episodes)
    seeds = np.random.SeedSequence(seed).generate_state(episodes).tolist()
    try:
        for i in range(episodes):
            obs, _ = env.reset(seed=seeds[i])
            if on_start is not None:
                on_start()
            done, total, length = False, 0.0, 0
            while not done:
                obs, reward, terminated, truncated, _ = env.step(act(obs, rng))
                total += float(reward)
                length += 1
                done = terminated or truncated
            returns[i] = total
            if on_episode is not None:
                on_episode(i, total, length)
    finally:
        env.close()
    return returns


class PeriodicEvaluator:
    """``--eval-every``: every ``every`` learner updates, play ``episodes`` greedy episodes with
    the newest weights in this (the driver's) process, apart from the training returns.

    ``weights`` fetches the learner's current ``WeightsMessage``; ``policy`` is a worker policy
    (NumPy for the built-in models) that acts greedily with it.
    """

    def __init__(
        self,
        *,
        env_id: str,
        every: int,
        episodes: int,
        policy: Any,
        weights: Callable[[], Any],
        seed: int,
        atari: Any = None,
        options: Any = None,
    ) -> None:
        self.env_id, self.every, self.episodes = env_id, every, episodes
        self.policy, self.weights, self.seed, self.atari = policy, weights, seed, atari
        self.options = options  # the user's env imports, kwargs and wrappers
        self._next = every

    def maybe_run(self, updates: int) -> np.ndarray | None:
        """The evaluation returns if one was due at ``updates``, else None."""
        if updates < self._next:
            return None
        self._next = updates + self.every
        self.policy.set_weights(self.weights())
        return evaluate(self._act, self.env_id, episodes=self.episodes, seed=self.seed + updates,
                        atari=self.atari, options=self.options, on_start=self._start)  # fmt: skip

    def _start(self) -> None:
        self.policy.episodes_ended(np.ones(1, dtype=bool))  # a recurrent policy's state: zeros

    def _act(self, obs: np.ndarray, rng: np.random.Generator) -> Any:
        return self.policy.act_greedy(obs[None])[0]
