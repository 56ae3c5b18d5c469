"""An env with an action space distrl does not support (imported by test_custom_envs)."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import register


class MultiDiscreteDemo(gym.Env):
    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.MultiDiscrete([3, 3])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, True, False, {}


if "MultiDiscreteDemo-v0" not in gym.registry:
    register(id="MultiDiscreteDemo-v0", entry_point=MultiDiscreteDemo)
