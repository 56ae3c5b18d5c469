"""Environment factory: ids to vector envs, and spaces to a plain :class:`EnvSpec`."""

from distrl.envs.factory import EnvSpec, env_spec, make_vector_env

__all__ = ["EnvSpec", "env_spec", "make_vector_env"]
