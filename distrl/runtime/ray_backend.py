"""The Ray backend: rollout workers and the learner as Ray actors.

Data flow (see docs/architecture.md): the learner publishes each weights version with exactly one
``ray.put`` and hands the driver that reference; the driver passes the same reference to every
worker's ``sample`` (Ray resolves it from the object store on each node); the fragments' references
go straight into ``learner.update``, so experience never passes through the driver.
"""

from __future__ import annotations

import logging
from typing import Any

import ray

from distrl.config import Config
from distrl.envs import EnvSpec
from distrl.rollout import RolloutWorker
from distrl.runtime.backend import spawn_seeds
from distrl.types import UpdateResult

log = logging.getLogger(__name__)


class LearnerHost:
    """Wraps the plain learner for Ray: publishes each weights version once to the object store.

    Object references are returned inside a list so that Ray hands the caller the reference
    itself rather than resolving it.
    """

    def __init__(self, *, config: Config, spec: EnvSpec, seed: int, use_gpu: bool) -> None:
        from distrl.agents import make_learner
        from distrl.tfsetup import configure_tensorflow

        self.device = configure_tensorflow(threads=None, use_gpu=use_gpu)
        self.learner = make_learner(config=config, spec=spec, seed=seed, device=self.device)
        self._weights_ref = ray.put(self.learner.weights())

    def ready(self) -> str:
        return self.device

    def weights_ref(self) -> list[ray.ObjectRef]:
        return [self._weights_ref]

    def update(self, *rollouts: Any) -> tuple[UpdateResult, list[ray.ObjectRef]]:
        result = self.learner.update(rollouts)
        self._weights_ref = ray.put(self.learner.weights())  # the one put of this version
        return result, [self._weights_ref]


def learner_gpus(config: Config) -> float:
    """``--learner-gpus`` if given, else 1 when the cluster has a GPU, else 0."""
    if config.learner_gpus is not None:
        return config.learner_gpus
    return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0


class RayBackend:
    def __init__(self, config: Config, spec: EnvSpec) -> None:
        learner_seed, worker_seeds = spawn_seeds(config.seed, config.workers)
        gpus = learner_gpus(config)
        # Actor classes and handles are dynamic proxies (method.remote(...)): typed as Any.
        remote_learner: Any = ray.remote(LearnerHost)
        self.learner = remote_learner.options(num_cpus=config.learner_cpus, num_gpus=gpus).remote(
            config=config, spec=spec, seed=learner_seed, use_gpu=gpus > 0
        )
        remote_worker: Any = ray.remote(RolloutWorker).options(
            num_cpus=config.worker_cpus, scheduling_strategy="SPREAD"
        )
        self.workers: list[Any] = [
            remote_worker.remote(config=config, spec=spec, worker_index=i, seed=seed)
            for i, seed in enumerate(worker_seeds)
        ]
        self.num_workers = len(self.workers)
        self.learner_device = ray.get(self.learner.ready.remote())
        ray.get([w.ready.remote() for w in self.workers])
        log.info("learner on %s, %d rollout workers ready", self.learner_device, self.num_workers)

    def initial_weights(self) -> ray.ObjectRef:
        (ref,) = ray.get(self.learner.weights_ref.remote())
        return ref

    def sample(self, weights: ray.ObjectRef) -> list[ray.ObjectRef]:
        return [w.sample.remote(weights) for w in self.workers]

    def update(self, fragments: list[ray.ObjectRef]) -> tuple[UpdateResult, ray.ObjectRef]:
        result, (weights,) = ray.get(self.learner.update.remote(*fragments))
        return result, weights

    def shutdown(self) -> None:
        for actor in [*self.workers, self.learner]:
            ray.kill(actor)
