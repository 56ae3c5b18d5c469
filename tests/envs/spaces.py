"""Small envs with the action spaces beyond Discrete and Box, each with a known optimum, and
one with an action space distrl does not support. Imported by the tests that use them
(``env_imports``), in every process."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import register


class TupleActionsDemo(gym.Env):
    """Not supported: Tuple actions."""

    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.Tuple((spaces.Discrete(2), spaces.Discrete(2)))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, True, False, {}


class MatchTarget(gym.Env):
    """One-step episodes: the observation shows a random target, one-hot per part; the reward
    is the number of parts the action matches. ``MultiDiscrete([3, 3])`` (optimum 2) or
    ``MultiBinary(4)`` (the target's bits as -1/+1; optimum 4)."""

    def __init__(self, kind: str = "multi_discrete") -> None:
        self.kind = kind
        if kind == "multi_discrete":
            self.action_space = spaces.MultiDiscrete([3, 3])
            size = 6
        else:
            self.action_space = spaces.MultiBinary(4)
            size = 4
        self.observation_space = spaces.Box(-1.0, 1.0, (size,), np.float32)

    def _observe(self):
        if self.kind == "multi_discrete":
            self.target = self.np_random.integers(0, 3, size=2)
            obs = np.zeros(6, np.float32)
            obs[self.target[0]] = obs[3 + self.target[1]] = 1.0
            return obs
        self.target = self.np_random.integers(0, 2, size=4)
        return (2.0 * self.target - 1.0).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._observe(), {}

    def step(self, action):
        reward = float(np.sum(np.asarray(action) == self.target))
        return self._observe(), reward, True, False, {}


class IllegalMoves(gym.Env):
    """Ten steps of choosing among 6 actions, of which a random 3 are legal at each step (the
    ``action_mask`` of a Dict observation). The legal action the observation marks scores 1,
    another legal one 0, an illegal one -10 and ends the episode. Optimum: 10."""

    N = 6

    def __init__(self, mask_key: str = "action_mask") -> None:
        self.mask_key = mask_key  # another name: the same information, but not a mask to distrl
        self.action_space = spaces.Discrete(self.N)
        self.observation_space = spaces.Dict({
            mask_key: spaces.MultiBinary(self.N),
            "observation": spaces.Box(0.0, 1.0, (self.N,), np.float32),
        })  # fmt: skip

    def _observe(self):
        self.legal = np.zeros(self.N, np.int8)
        self.legal[self.np_random.choice(self.N, size=self.N // 2, replace=False)] = 1
        self.target = int(self.np_random.choice(np.flatnonzero(self.legal)))
        marked = np.zeros(self.N, np.float32)
        marked[self.target] = 1.0
        return {self.mask_key: self.legal.copy(), "observation": marked}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._observe(), {}

    def step(self, action):
        self.t += 1
        if not self.legal[int(action)]:
            return self._observe(), -10.0, True, False, {"illegal": True}
        reward = 1.0 if int(action) == self.target else 0.0
        return self._observe(), reward, self.t >= 10, False, {}


class NoLegalMove(IllegalMoves):
    """Its third observation's mask allows nothing: an env bug distrl names."""

    def _observe(self):
        obs = super()._observe()
        if getattr(self, "t", 0) == 2:
            obs["action_mask"][:] = 0
        return obs


class ResetCrash(gym.Env):
    """Raises in every ``reset``: a simulator that cannot start."""

    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        raise RuntimeError("simulator cannot start")

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, True, False, {}


class SmallImage(gym.Env):
    """48x48 RGB observations: too small for the Atari CNN (nature_cnn wants 84x84)."""

    observation_space = spaces.Box(0, 255, (48, 48, 3), np.uint8)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros((48, 48, 3), np.uint8), {}

    def step(self, action):
        return np.zeros((48, 48, 3), np.uint8), 0.0, True, False, {}


for name, entry, kwargs in [
    ("TupleActionsDemo-v0", TupleActionsDemo, {}),
    ("MatchTargetParts-v0", MatchTarget, {"kind": "multi_discrete"}),
    ("MatchTargetBits-v0", MatchTarget, {"kind": "multi_binary"}),
    ("IllegalMoves-v0", IllegalMoves, {}),
    ("IllegalMovesUnmasked-v0", IllegalMoves, {"mask_key": "legal"}),
    ("NoLegalMove-v0", NoLegalMove, {}),
    ("ResetCrash-v0", ResetCrash, {}),
    ("SmallImage-v0", SmallImage, {}),
]:
    if name not in gym.registry:
        register(id=name, entry_point=entry, kwargs=kwargs)
