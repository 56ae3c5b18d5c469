"""Build gymnasium vector envs and describe their spaces without any framework imports."""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from distrl.config import AtariConfig, ConfigError
from distrl.envs.ale_vector import AleVectorEnv
from distrl.envs.atari import is_atari, make_atari_env
from distrl.envs.custom import FLATTENED, EnvOptions, check, import_modules, make_env
from distrl.types import EnvSpec


def env_spec(
    env_id: str, atari: AtariConfig | None = None, options: EnvOptions | None = None
) -> EnvSpec:
    """Describe ``env_id`` by building one copy, preprocessed as the workers will see it (Atari:
    ``atari``, default settings if None; others: ``options``, checked once with gymnasium's env
    checker); unknown, broken or unsupported envs raise ConfigError."""
    options = options or EnvOptions()
    bare = import_modules(options, env_id)
    atari_id = options.factory is None and is_atari(bare)  # registers ale-py's ids first
    try:
        registered = gym.spec(bare) if options.factory is None else None
    except gym.error.Error as e:
        raise ConfigError(f"unknown env id {env_id!r}: {e}") from None
    if atari_id:
        env = make_one(env_id, atari, training=False)
    else:
        check(env_id, options)
        env = make_env(env_id, options)
    if registered is None:  # a factory's env: its own spec, if gymnasium.make made it
        registered = env.unwrapped.spec or gym.envs.registration.EnvSpec(env_id)
    try:
        obs_space, act_space = env.observation_space, env.action_space
        unflattened = env.env.observation_space if isinstance(
            env, gym.wrappers.FlattenObservation) else None  # fmt: skip
    finally:
        env.close()
    if not isinstance(obs_space, gym.spaces.Box):
        raise ConfigError(
            f"env {env_id!r}: observation space {obs_space} is not supported; supported: Box "
            "(vectors, images HxWxC or CxHxW), and Dict or Tuple of Box (flattened)"
        )
    bounds: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
    nvec: tuple[int, ...] = ()
    if isinstance(act_space, gym.spaces.Discrete):
        if int(act_space.start) != 0:
            raise ConfigError(f"env {env_id!r}: Discrete actions must start at 0")
        kind, n = "discrete", int(act_space.n)
    elif isinstance(act_space, gym.spaces.MultiDiscrete):
        if act_space.nvec.ndim != 1 or np.any(act_space.start != 0):
            raise ConfigError(
                f"env {env_id!r}: MultiDiscrete actions must be one-dimensional and start at 0"
            )
        nvec = tuple(int(k) for k in act_space.nvec)
        kind, n = "multi_discrete", sum(nvec)
    elif isinstance(act_space, gym.spaces.MultiBinary):
        if len(act_space.shape) != 1:
            raise ConfigError(f"env {env_id!r}: MultiBinary actions must be one-dimensional")
        nvec = (2,) * int(act_space.shape[0])
        kind, n = "multi_binary", len(nvec)
    elif isinstance(act_space, gym.spaces.Box):
        kind, n = "continuous", int(np.prod(act_space.shape))
        low, high = act_space.low.reshape(-1), act_space.high.reshape(-1)
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise ConfigError(f"env {env_id!r}: continuous actions need finite bounds")
        bounds = (tuple(float(x) for x in low), tuple(float(x) for x in high))
    else:
        raise ConfigError(
            f"env {env_id!r}: action space {act_space} is not supported; supported: Discrete, "
            "Box (continuous, finite bounds), MultiDiscrete and MultiBinary"
        )
    mask_offset = _mask_offset(env_id, unflattened, kind, n)
    parts = _observation_parts(unflattened)
    return EnvSpec(
        env_id=env_id,
        observation_shape=tuple(obs_space.shape),
        observation_dtype=np.dtype(obs_space.dtype).name,
        action_kind=kind,
        num_actions=n,
        reward_threshold=registered.reward_threshold,
        max_episode_steps=registered.max_episode_steps,
        action_low=bounds[0],
        action_high=bounds[1],
        action_nvec=nvec,
        mask_offset=mask_offset,
        observation_parts=parts,
    )


def _observation_parts(space: gym.Space | None) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The entries of a flattened Dict/Tuple observation of boxes (empty for anything else:
    nested spaces and Discrete entries are flattened by gymnasium but not described here)."""
    if isinstance(space, gym.spaces.Dict):
        items = list(space.spaces.items())
    elif isinstance(space, gym.spaces.Tuple):
        items = [(str(i), s) for i, s in enumerate(space.spaces)]
    else:
        return ()
    if not all(isinstance(s, gym.spaces.Box | gym.spaces.MultiBinary) for _, s in items):
        return ()
    return tuple((str(k), tuple(int(d) for d in s.shape or ())) for k, s in items)


MASK_KEY = "action_mask"  # RLlib's and PettingZoo's name for it in a Dict observation


def _mask_offset(env_id: str, space: gym.Space | None, kind: str, n: int) -> int:
    """Where a Dict observation's ``action_mask`` starts in the flattened observation (-1:
    none). The mask is a MultiBinary or a 0/1 Box with one entry per logit: per action of a
    Discrete, per choice of each part of a MultiDiscrete (the parts one after another)."""
    if not isinstance(space, gym.spaces.Dict) or MASK_KEY not in space.spaces:
        return -1
    mask = space.spaces[MASK_KEY]
    if kind not in ("discrete", "multi_discrete"):
        raise ConfigError(
            f"env {env_id!r}: an action_mask needs Discrete or MultiDiscrete actions; got {kind}"
        )
    if not isinstance(mask, gym.spaces.MultiBinary | gym.spaces.Box) or mask.shape != (n,):
        raise ConfigError(
            f"env {env_id!r}: action_mask must be a MultiBinary({n}) or a Box of shape ({n},) "
            f"(one entry per action); got {mask}"
        )
    offset = 0
    for key, sub in space.spaces.items():  # FlattenObservation's order
        if key == MASK_KEY:
            return offset
        offset += gym.spaces.flatdim(sub)
    raise AssertionError("unreachable")


class StepDelay(gym.vector.VectorWrapper):
    """Sleeps ``delay`` seconds in every ``step``: a straggler, for tests and benchmarks."""

    def __init__(self, env: gym.vector.VectorEnv, delay: float) -> None:
        super().__init__(env)
        self.delay = delay

    def step(self, actions: Any) -> Any:
        time.sleep(self.delay)
        return self.env.step(actions)


def make_one(
    env_id: str,
    atari: AtariConfig | None,
    *,
    training: bool,
    render_mode: str | None = None,
    options: EnvOptions | None = None,
) -> gym.Env:
    """One env copy: Atari ids preprocessed (distrl/envs/atari.py), others as registered, with
    the user's kwargs and wrappers (distrl/envs/custom.py)."""
    options = options or EnvOptions()
    bare = import_modules(options, env_id)
    if options.factory is None and is_atari(bare):
        return make_atari_env(
            bare, atari or AtariConfig(), training=training, render_mode=render_mode
        )
    return make_env(env_id, options, render_mode=render_mode)


def uses_ale_vector(atari: AtariConfig) -> bool:
    """Whether Atari workers step ale-py's C++ vector env (else gymnasium's wrappers)."""
    if atari.vectorizer == "auto":
        return atari.preprocess == "standard"
    return atari.vectorizer == "ale"


def make_vector_env(
    env_id: str,
    num_envs: int,
    step_delay: float = 0.0,
    *,
    atari: AtariConfig | None = None,
    training: bool = True,
    options: EnvOptions | None = None,
) -> gym.vector.VectorEnv:
    """A synchronous vector env that resets finished copies within the same ``step`` call.

    With SAME_STEP autoreset the returned observation of a finished copy is already the first of
    its next episode, and the true final observation is in ``info["final_obs"]``: the worker keeps
    the latter for bootstrapping truncated steps, never the reset observation. ``training``
    turns on Atari's training-only signals (episodic life, reward clipping).
    """
    envs: gym.vector.VectorEnv
    options = options or EnvOptions()
    bare = import_modules(options, env_id)
    if options.factory is None and is_atari(bare):
        atari = atari or AtariConfig()
        if uses_ale_vector(atari):
            envs = AleVectorEnv(bare, num_envs, atari, training=training)
        else:
            envs = gym.vector.SyncVectorEnv(
                [lambda: make_one(bare, atari, training=training)] * num_envs,
                autoreset_mode=AutoresetMode.SAME_STEP,
            )
    elif options == EnvOptions() and ":" not in env_id and not _needs_flattening(bare):
        envs = gym.make_vec(
            bare,
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        )
    else:  # the user's kwargs and wrappers, or flattening, on every copy
        envs = gym.vector.SyncVectorEnv(
            [lambda: make_env(env_id, options)] * num_envs,
            autoreset_mode=AutoresetMode.SAME_STEP,
        )
    return StepDelay(envs, step_delay) if step_delay > 0 else envs


def _needs_flattening(env_id: str) -> bool:
    """Whether the registered env's observations are Dict/Tuple (cached per process)."""
    if env_id not in _FLATTEN:
        env = gym.make(env_id)
        _FLATTEN[env_id] = isinstance(env.observation_space, FLATTENED)
        env.close()
    return _FLATTEN[env_id]


_FLATTEN: dict[str, bool] = {}
