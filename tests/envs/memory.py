"""Envs that need memory: what the agent must act on is not in its current observation.
Imported (``env_imports: [tests.envs.memory]``) by the tests and benchmarks that use them, in
every process; each registers its gymnasium id.

- ``Recall-v0``: the first observation shows a cue (-1 or +1); the next ``delay`` show none; at
  the last step the action must name the cue (reward +1, else -1). A feed-forward policy can
  do no better than chance (mean return 0); a recurrent one reaches +1. ``RecallImage-v0``:
  the same as 8x8 images (for the CNN torso).
- ``CartPoleNoVelocity-v1``: CartPole-v1 observing only the cart's position and the pole's
  angle (the velocities removed), the usual test of recurrent policies (as in sb3-contrib's
  RecurrentPPO benchmarks): velocities must be inferred from successive observations.
"""

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import register


class Recall(gym.Env):
    def __init__(self, delay: int = 4) -> None:
        self.delay = delay
        self.observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cue = int(self.np_random.integers(2))
        self.t = 0
        return np.array([2.0 * self.cue - 1.0, 0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        obs = np.array([0.0, self.t / (self.delay + 1)], np.float32)  # the clock, never the cue
        if self.t <= self.delay:
            return obs, 0.0, False, False, {}
        return obs, 1.0 if int(action) == self.cue else -1.0, True, False, {}


class RecallImage(Recall):
    """Recall seen as 8x8 one-channel images: the first shows the cue (all pixels 0 or 255),
    the rest a clock (one pixel lit per step)."""

    def __init__(self, delay: int = 4) -> None:
        super().__init__(delay)
        self.observation_space = spaces.Box(0, 255, (8, 8, 1), np.uint8)

    def _image(self, vector):
        image = np.zeros((8, 8, 1), np.uint8)
        if self.t == 0:
            image[:] = 255 if vector[0] > 0 else 0
            image[0, 0] = 128  # the first step is always marked
        else:
            image[self.t % 8, self.t // 8] = 255
        return image

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return self._image(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return self._image(obs), reward, terminated, truncated, info


class NoVelocity(gym.ObservationWrapper):
    """Keeps the entries ``keep`` of a Box observation."""

    def __init__(self, env: gym.Env, keep: tuple[int, ...] = (0, 2)) -> None:
        super().__init__(env)
        self.keep = list(keep)
        box = env.observation_space
        self.observation_space = spaces.Box(box.low[self.keep], box.high[self.keep],
                                            dtype=box.dtype)  # fmt: skip

    def observation(self, observation):
        return observation[self.keep]


def cartpole_no_velocity(**kwargs):
    return NoVelocity(gym.make("CartPole-v1", **kwargs))


for name, entry in (
    ("Recall-v0", Recall),
    ("RecallImage-v0", RecallImage),
    ("CartPoleNoVelocity-v1", cartpole_no_velocity),
):
    if name not in gym.registry:
        register(id=name, entry_point=entry)
