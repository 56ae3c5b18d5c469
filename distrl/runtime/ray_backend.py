"""The Ray backend: rollout workers and the learner as Ray actors.

Data flow (see docs/architecture.md): the learner publishes each weights version with exactly one
``ray.put`` and hands the driver that reference; the driver passes the same reference to every
worker's ``sample`` (Ray resolves it from the object store on each node); the fragments' references
go straight into ``learner.update``, so experience never passes through the driver.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import ray

from distrl.config import Config
from distrl.envs import EnvSpec
from distrl.runtime.backend import spawn_seeds, worker_class
from distrl.types import Gradients, UpdateResult, WeightsMessage

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
        return self._published(self.learner.update(rollouts))

    def apply_gradients(self, gradients: Gradients) -> tuple[UpdateResult, list[ray.ObjectRef]]:
        return self._published(self.learner.apply_gradients(gradients))

    def state(self, include_replay: bool) -> tuple[dict, dict]:
        return self.learner.state(include_replay=include_replay)

    def load_state(self, arrays: dict, scalars: dict) -> None:
        self.learner.load_state(arrays, scalars)
        self._weights_ref = ray.put(self.learner.weights())  # the restored version's one put

    def policy_bytes(self) -> bytes:
        return self.learner.policy_bytes()

    def _published(self, result: UpdateResult) -> tuple[UpdateResult, list[ray.ObjectRef]]:
        if result.applied:  # a new version: its one put
            self._weights_ref = ray.put(self.learner.weights())
        return result, [self._weights_ref]


def learner_gpus(config: Config) -> float:
    """``--learner-gpus`` if given, else 1 when the cluster has a GPU, else 0."""
    if config.learner_gpus is not None:
        return config.learner_gpus
    return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0


class WorkerFailuresExceeded(RuntimeError):
    """More rollout workers died than ``max_worker_failures`` allows."""


class RayBackend:
    """Rollout workers and the learner as Ray actors.

        A worker that dies (its process killed, its node lost) is found when the learner cannot
        resolve its request: the request is dropped (one per restart, as each worker has one in
    flight), the update goes on with the other
        workers' data, and the worker is recreated at once (it receives fresh weights with its next
        request). Beyond ``config.max_worker_failures`` restarts, :class:`WorkerFailuresExceeded`.
    """

    def __init__(self, config: Config, spec: EnvSpec) -> None:
        learner_seed, worker_seeds = spawn_seeds(config.seed, config.workers)
        gpus = learner_gpus(config)
        # Actor classes and handles are dynamic proxies (method.remote(...)): typed as Any.
        remote_learner: Any = ray.remote(LearnerHost)
        self.learner = remote_learner.options(num_cpus=config.learner_cpus, num_gpus=gpus).remote(
            config=config, spec=spec, seed=learner_seed, use_gpu=gpus > 0
        )
        self._remote_worker: Any = ray.remote(worker_class(config)).options(
            num_cpus=config.worker_cpus, scheduling_strategy="SPREAD"
        )
        self._config, self._spec, self._worker_seeds = config, spec, worker_seeds
        self.workers: list[Any] = [self._new_worker(i, seed) for i, seed in enumerate(worker_seeds)]
        self._owner: dict[ray.ObjectRef, int] = {}  # request -> the worker computing it
        self.worker_restarts = 0
        self._version = 0
        self.num_workers = len(self.workers)
        self.gradients = config.async_unit == "gradients"
        self.learner_device = ray.get(self.learner.ready.remote())
        ray.get([w.ready.remote() for w in self.workers])
        log.info("learner on %s, %d rollout workers ready", self.learner_device, self.num_workers)

    def initial_weights(self) -> ray.ObjectRef:
        (ref,) = ray.get(self.learner.weights_ref.remote())
        return ref

    def _new_worker(self, index: int, seed: Any) -> Any:
        return self._remote_worker.remote(
            config=self._config, spec=self._spec, worker_index=index, seed=seed
        )

    def submit(self, worker: int, weights: ray.ObjectRef) -> ray.ObjectRef:
        actor = self.workers[worker]
        ref = (actor.compute_gradients if self.gradients else actor.sample).remote(weights)
        self._owner[ref] = worker
        return ref

    def wait_ready(self, handles: list[ray.ObjectRef]) -> list[int]:
        ready, _ = ray.wait(handles, num_returns=1)
        if not self.gradients:
            # Fragments that finished meanwhile join the same update: one learner call for
            # several is cheaper, and none of them waits for a straggler.
            ready, _ = ray.wait(handles, num_returns=len(handles), timeout=0)
        return [handles.index(ref) for ref in ready]

    def update(self, handles: list[ray.ObjectRef]) -> tuple[UpdateResult, ray.ObjectRef]:
        # The references go to the learner as arguments: Ray resolves them there, so the
        # experience never passes through this (the driver's) process.
        if self.gradients:
            (gradients,) = handles
            call = self.learner.apply_gradients.remote(gradients)
        else:
            call = self.learner.update.remote(*handles)
        try:
            result, (weights,) = ray.get(call)
        except ray.exceptions.RayError:
            live = self._drop_lost(handles)
            if len(live) == len(handles):
                raise  # no worker was lost: the learner itself failed
            if not live:  # nothing left to learn from this time
                return self._nothing_learned(), ray.get(self.learner.weights_ref.remote())[0]
            return self.update(live)
        for h in handles:
            self._owner.pop(h, None)
        self._version = result.version
        result.metrics["worker/restarts"] = float(self.worker_restarts)
        return result, weights

    def _drop_lost(self, handles: list[ray.ObjectRef]) -> list[ray.ObjectRef]:
        """The requests whose worker is alive; dead workers are recreated. Only on this failure
        path does the driver fetch requests itself (to learn which of them failed)."""
        live = []
        for h in handles:
            try:
                ray.get(h)
            except ray.exceptions.RayActorError:
                self._restart(self._owner.pop(h))
            else:
                live.append(h)
        return live

    def _restart(self, index: int) -> None:
        self.worker_restarts += 1
        if self.worker_restarts > self._config.max_worker_failures:
            raise WorkerFailuresExceeded(
                f"{self.worker_restarts} rollout worker failures, more than "
                f"max_worker_failures={self._config.max_worker_failures}; stopping"
            )
        log.warning("rollout worker %d died; recreating it (restart %d)", index,
                    self.worker_restarts)  # fmt: skip
        ray.kill(self.workers[index])  # no-op if gone; frees its resources otherwise
        (seed,) = self._worker_seeds[index].spawn(1)  # a fresh stream for the new process
        self.workers[index] = self._new_worker(index, seed)

    def _nothing_learned(self) -> UpdateResult:
        return UpdateResult(
            version=self._version,
            env_steps=0,
            episode_returns=np.zeros(0),
            episode_lengths=np.zeros(0, dtype=np.int64),
            metrics={"worker/restarts": float(self.worker_restarts)},
            applied=False,
        )

    def learner_state(self, include_replay: bool) -> tuple[dict, dict]:
        return ray.get(self.learner.state.remote(include_replay))

    def load_learner_state(self, arrays: dict, scalars: dict) -> None:
        ray.get(self.learner.load_state.remote(arrays, scalars))

    def policy_bytes(self) -> bytes:
        return ray.get(self.learner.policy_bytes.remote())

    def latest_weights(self) -> WeightsMessage:
        (ref,) = ray.get(self.learner.weights_ref.remote())
        return ray.get(ref)

    def shutdown(self) -> None:
        for actor in [*self.workers, self.learner]:
            ray.kill(actor)
