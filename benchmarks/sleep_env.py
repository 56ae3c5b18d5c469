"""An env that costs (almost) no CPU: each step sleeps a fixed time.

With it, a benchmark measures distrl's own costs (driver, Ray calls, learner, broadcast) with
many more workers than the machine has cores: a sleeping worker leaves its core to the others.
Importing the module registers ``Sleep-v0``; use it as ``benchmarks.sleep_env:Sleep-v0`` with
``env_kwargs: {step_s: ...}``.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np


class SleepEnv(gym.Env):
    """4 float observations (a counter's sine and cosine, twice), 2 actions, reward 1 per step,
    episodes of ``length`` steps; ``step`` sleeps ``step_s`` seconds."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, step_s: float = 0.005, length: int = 200) -> None:
        self.step_s, self.length = step_s, length
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._t = 0

    def _obs(self) -> np.ndarray:
        x = 0.1 * self._t
        return np.array([np.sin(x), np.cos(x), np.sin(2 * x), np.cos(2 * x)], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        time.sleep(self.step_s)
        self._t += 1
        return self._obs(), 1.0, False, self._t >= self.length, {}


if "Sleep-v0" not in gym.registry:
    gym.register("Sleep-v0", entry_point=SleepEnv)
