"""Building an algorithm's parts from a whole run config, as the runtime does, for tests that
drive a learner or an acting policy directly."""

from distrl.agents import make_learner, make_policy
from distrl.config import Config
from distrl.types import EnvSpec


def learner_of(config: Config, *, spec: EnvSpec, seed: int = 0, device: str = "/CPU:0"):
    """The learner ``config.algo`` builds from the sections it reads."""
    sections = config.algorithm_sections()
    return make_learner(
        algorithm=config.algo, sections=sections, spec=spec, seed=seed, device=device
    )


def worker_of(config: Config, *, spec: EnvSpec, seed: int = 0, index: int = 0, cls=None):
    """A rollout worker (or ``cls``, e.g. GradientWorker) as the runtime makes one for
    ``config``, with the seed sequence of ``seed``."""
    import numpy as np

    from distrl.rollout import RolloutWorker

    return (cls or RolloutWorker)(
        settings=config.rollout_settings(),
        algorithm=config.algo,
        spec=spec,
        worker_index=index,
        seed=np.random.SeedSequence(seed),
    )


def served_run(config: Config):
    """What the gRPC service knows of a run with this config."""
    from distrl.agents import registry
    from distrl.service.server import ServedRun

    return ServedRun(
        registry.get(config.algo), config.algorithm_sections(), config.rollout_len, config.seed
    )


def policy_of(config: Config, *, spec: EnvSpec, tf_threads: int | None = 1, num_envs: int = 1):
    """The acting policy ``config.algo`` builds, as a rollout worker's."""
    return make_policy(
        algorithm=config.algo,
        sections=config.algorithm_sections(),
        spec=spec,
        tf_threads=tf_threads,
        num_envs=num_envs,
    )
