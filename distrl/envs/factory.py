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
    atari_id = is_atari(bare)  # registers ale-py's ids first
    try:
        registered = gym.spec(bare)
    except gym.error.Error as e:
        raise ConfigError(f"unknown env id {env_id!r}: {e}") from None
    if atari_id:
        env = make_one(env_id, atari, training=False)
    else:
        check(env_id, options)
        env = make_env(env_id, options)
    try:
        obs_space, act_space = env.observation_space, env.action_space
    finally:
        env.close()
    if not isinstance(obs_space, gym.spaces.Box):
        raise ConfigError(
            f"env {env_id!r}: observation space {obs_space} is not supported; supported: Box "
            "(vectors, images HxWxC or CxHxW), and Dict or Tuple of Box (flattened)"
        )
    bounds: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
    if isinstance(act_space, gym.spaces.Discrete):
        kind, n = "discrete", int(act_space.n)
    elif isinstance(act_space, gym.spaces.Box):
        kind, n = "continuous", int(np.prod(act_space.shape))
        low, high = act_space.low.reshape(-1), act_space.high.reshape(-1)
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise ConfigError(f"env {env_id!r}: continuous actions need finite bounds")
        bounds = (tuple(float(x) for x in low), tuple(float(x) for x in high))
    else:
        raise ConfigError(
            f"env {env_id!r}: action space {act_space} is not supported; supported: Discrete "
            "and Box (continuous, finite bounds)"
        )
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
    )


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
    if is_atari(bare):
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
    if is_atari(bare):
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
