"""The user's own environments: modules to import, ``module:EnvId`` ids, make kwargs, wrappers.

Every process that makes an env (the driver for the spec and evaluation, every rollout worker,
an external actor) calls :func:`make_env` with the same :class:`EnvOptions`, so an id that the
user's package registers works the same with ``--workers 0``, on an embedded Ray and on a
cluster, as long as the package can be imported there (see docs/custom-envs.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from distrl.config import ConfigError

FLATTENED = (gym.spaces.Dict, gym.spaces.Tuple)  # observation spaces flattened for the models


@dataclass(frozen=True)
class EnvOptions:
    """How to make the env beyond its id (``env_imports``, ``env_kwargs``, ``env_wrappers``)."""

    imports: tuple[str, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    # "package.module:Name", or {"name": "package.module:Name", "kwargs": {...}}
    wrappers: tuple[Any, ...] = ()

    @classmethod
    def of(cls, config: Any) -> EnvOptions:
        """The options of a :class:`distrl.config.Config`."""
        return cls(tuple(config.env_imports), dict(config.env_kwargs or {}),
                   tuple(config.env_wrappers))  # fmt: skip


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
    try:
        kwargs = dict(options.kwargs)
        if render_mode is not None:  # an env without rendering need not take the keyword
            kwargs["render_mode"] = render_mode
        env = gym.make(bare, **kwargs)
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
    """gymnasium's env checker on one fresh copy of the env itself, then one reset and step
    through the user's wrappers: a broken env is one line, before any worker starts
    (observations outside their space, wrong reset/step signatures, ...)."""
    from gymnasium.utils.env_checker import check_env

    env = make_env(env_id, options)
    try:
        check_env(env.unwrapped, skip_render_check=True)
        obs, _ = env.reset(seed=0)
        if not env.observation_space.contains(obs):
            raise AssertionError("the observation of reset() through env_wrappers is outside "
                                 "the wrapped observation space")  # fmt: skip
        env.step(env.action_space.sample())
    except Exception as e:  # the checker raises AssertionError, errors of the env itself too
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"env {env_id!r} fails gymnasium's env checker: {first}") from None
    finally:
        env.close()
