"""The user's own environments: modules to import, ``module:EnvId`` ids, make kwargs, wrappers.

Every process that makes an env (the driver for the spec and evaluation, every rollout worker,
an external actor) calls :func:`make_env` with the same :class:`EnvOptions`, so an id that the
user's package registers works the same with ``--workers 0``, on an embedded Ray and on a
cluster, as long as the package can be imported there (see docs/custom-envs.md).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from distrl.config import ConfigError
from distrl.config.fields import factory_name

FLATTENED = (gym.spaces.Dict, gym.spaces.Tuple)  # observation spaces flattened for the models


@dataclass(frozen=True)
class EnvOptions:
    """How to make the env beyond its id (``env_imports``, ``env_kwargs``, ``env_wrappers``)."""

    imports: tuple[str, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    # "package.module:Name", or {"name": "package.module:Name", "kwargs": {...}}
    wrappers: tuple[Any, ...] = ()
    # The API's env given as a gymnasium.Env subclass (made with ``kwargs``) or a zero-argument
    # callable returning an env, instead of a registered id (see :func:`factory_name`).
    factory: Any = None

    @classmethod
    def of(cls, config: Any) -> EnvOptions:
        """The options in anything with ``env_imports``, ``env_kwargs`` and ``env_wrappers``: a
        run config, or the ``RolloutSettings`` the runtime gives a worker."""
        return cls(tuple(config.env_imports), dict(config.env_kwargs or {}),
                   tuple(config.env_wrappers), getattr(config, "env_factory", None))  # fmt: skip


def from_factory(factory: Any, kwargs: Mapping[str, Any]) -> gym.Env:
    """One env from a class (with ``kwargs``) or a zero-argument callable, checked to be one."""
    label = factory_name(factory)
    if isinstance(factory, type):
        try:
            env = factory(**kwargs)
        except TypeError as e:
            raise ConfigError(f"env {label} with env_kwargs {dict(kwargs)}: {e}") from None
    else:
        if kwargs:
            raise ConfigError(f"env {label} is a callable: env_kwargs go to env classes only")
        env = factory()
    if not isinstance(env, gym.Env):
        raise ConfigError(f"env {label} must make a gymnasium.Env; it made {type(env).__name__}")
    return env


def import_modules(options: EnvOptions, env_id: str) -> str:
    """Import what registers the env (``imports``, and ``module`` of ``module:EnvId``); the
    id gymnasium knows it by."""
    modules = list(options.imports)
    if ":" in env_id:
        module, _, env_id = env_id.partition(":")
        modules.append(module)
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise ConfigError(
                f"env module {name!r} cannot be imported ({e}); install it, or put its folder "
                "on PYTHONPATH (docs/custom-envs.md)"
            ) from None
    return env_id


def _resolve(name: Any, key: str) -> Any:
    module, sep, attr = str(name).partition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"{key} entries must be package.module:Name; got {name!r}")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"{key}: {name!r} cannot be imported: {e}") from None


def wrapper_specs(options: EnvOptions) -> list[tuple[Any, dict[str, Any]]]:
    """``(wrapper class, kwargs)`` per entry of ``options.wrappers``, checked."""
    specs = []
    for entry in options.wrappers:
        if isinstance(entry, Mapping):
            unknown = set(entry) - {"name", "kwargs"}
            if "name" not in entry or unknown:
                raise ConfigError(
                    "env_wrappers entries are package.module:Name or {name, kwargs}; "
                    f"got {entry!r}"
                )
            kwargs = dict(entry.get("kwargs") or {})
            specs.append((_resolve(entry["name"], "env_wrappers"), kwargs))
        else:
            specs.append((_resolve(entry, "env_wrappers"), {}))
    return specs


def make_env(env_id: str, options: EnvOptions, *, render_mode: str | None = None) -> gym.Env:
    """One copy of a non-Atari env: made with the kwargs, wrapped by the user's wrappers in
    order, then ``Dict``/``Tuple`` observations flattened into one vector for the models."""
    bare = import_modules(options, env_id)
    kwargs = dict(options.kwargs)
    if render_mode is not None:  # an env without rendering need not take the keyword
        kwargs["render_mode"] = render_mode
    try:
        env = (from_factory(options.factory, kwargs) if options.factory is not None
               else gym.make(bare, **kwargs))  # fmt: skip
    except gym.error.Error as e:
        raise ConfigError(f"unknown env id {env_id!r}: {e}") from None
    except TypeError as e:  # a keyword the env does not take
        raise ConfigError(f"env {env_id!r} with env_kwargs {dict(options.kwargs)}: {e}") from None
    for wrapper, kwargs in wrapper_specs(options):
        try:
            env = wrapper(env, **kwargs)
        except TypeError as e:
            raise ConfigError(f"env_wrappers: {wrapper.__name__}{kwargs}: {e}") from None
    if isinstance(env.observation_space, FLATTENED):
        env = gym.wrappers.FlattenObservation(env)
    return env


def check(env_id: str, options: EnvOptions) -> None:
    """One reset and one step of a fresh copy, as the workers will see it: the observations
    must lie in the observation space and reset/step must keep gymnasium's API, else one line
    (instead of workers retrying a broken env ten times and a traceback). An env that raises
    is left to the workers' error recovery, which is there for exactly that."""
    env = make_env(env_id, options)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gymnasium's own checker warns; we decide here
            try:
                reset = env.reset(seed=0)
                step = env.step(env.action_space.sample())
            except Exception:
                return
        problem = _api_problem(env, reset, step)
    finally:
        env.close()
    if problem is not None:
        raise ConfigError(f"env {env_id!r} is broken: {problem}")


def _api_problem(env: gym.Env, reset: Any, step: Any) -> str | None:
    """What breaks gymnasium's reset/step API or the observation space, or None."""
    space = env.observation_space
    if not (isinstance(reset, tuple) and len(reset) == 2):
        return "reset() must return (observation, info)"
    if not (isinstance(step, tuple) and len(step) == 5):
        return "step() must return (observation, reward, terminated, truncated, info)"
    for where, obs in (("reset()", reset[0]), ("step()", step[0])):
        if not space.contains(obs):
            shape = getattr(obs, "shape", None)
            return (f"the observation of {where} (shape {shape}) is not in its observation "
                    f"space {space}")  # fmt: skip
    reward = step[1]
    if not isinstance(reward, int | float | np.integer | np.floating) or not np.isfinite(reward):
        return f"step() returned the reward {reward!r}, not a finite number"
    if not all(isinstance(flag, bool | np.bool_) for flag in step[2:4]):
        return "step()'s terminated and truncated must be bools"
    return None
