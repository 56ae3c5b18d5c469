"""Environment factory: ids to vector envs, and spaces to a plain :class:`EnvSpec`."""

from distrl.envs.custom import EnvOptions
from distrl.envs.factory import EnvSpec, env_spec, make_vector_env

__all__ = ["EnvOptions", "EnvSpec", "env_spec", "make_vector_env"]
