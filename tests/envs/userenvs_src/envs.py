"""Small envs of a user's package: discrete and continuous reaching, Dict observations, images,
and one that breaks its own observation space."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class ReachDisc(gym.Env):
    """A point on a line moves left (0) or right (1); +1 for each step taken towards the goal at
    ``size``. 20 steps: random play scores about 10, the best policy 20."""

    def __init__(self, size: float = 5.0):
        self.size = float(size)
        self.observation_space = spaces.Box(-100.0, 100.0, (2,), np.float32)
        self.action_space = spaces.Discrete(2)

    def _obs(self):
        return np.array([self.pos, self.size], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = float(self.np_random.uniform(-1, 1))
        return self._obs(), {}

    def step(self, action):
        towards = 1 if self.pos < self.size else 0
        reward = 1.0 if action == towards else 0.0
        self.pos += 1.0 if action == 1 else -1.0
        return self._obs(), reward, False, False, {}


class ReachBox(gym.Env):
    """The same with a continuous push in [-1, 1]; reward minus the distance to the goal."""

    def __init__(self, goal: float = 2.0):
        self.goal = float(goal)
        self.observation_space = spaces.Box(-100.0, 100.0, (2,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self):
        return np.array([self.pos, self.goal], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = float(self.np_random.uniform(-1, 1))
        return self._obs(), {}

    def step(self, action):
        self.pos += float(np.clip(action, -1, 1)[0])
        return self._obs(), -abs(self.goal - self.pos), False, False, {}


class DictReach(ReachDisc):
    """ReachDisc with its observation as a Dict (distrl flattens it for the models)."""

    def __init__(self, size: float = 5.0):
        super().__init__(size)
        box = spaces.Box(-100.0, 100.0, (1,), np.float32)
        self.observation_space = spaces.Dict({"goal": box, "position": box})

    def _obs(self):
        return {"goal": np.array([self.size], np.float32),
                "position": np.array([self.pos], np.float32)}  # fmt: skip


class Pixels(gym.Env):
    """A 32x32 RGB image with one bright square left or right; +1 for naming its side."""

    observation_space = spaces.Box(0, 255, (32, 32, 3), np.uint8)
    action_space = spaces.Discrete(2)

    def _obs(self):
        image = np.zeros((32, 32, 3), np.uint8)
        column = 4 if self.side == 0 else 24
        image[12:20, column : column + 4] = 255
        return image

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.side = int(self.np_random.integers(2))
        return self._obs(), {}

    def step(self, action):
        reward = 1.0 if action == self.side else 0.0
        self.side = int(self.np_random.integers(2))
        return self._obs(), reward, False, False, {}


class Broken(ReachDisc):
    """Its observations do not fit its observation space (3 numbers for a space of 2)."""

    def _obs(self):
        return np.array([self.pos, self.size, 0.0], np.float32)


class ScaleReward(gym.RewardWrapper):
    """A user's wrapper with a keyword argument."""

    def __init__(self, env, scale: float = 1.0):
        super().__init__(env)
        self.scale = scale

    def reward(self, reward):
        return self.scale * reward
