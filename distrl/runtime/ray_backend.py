"""The Ray backend: rollout workers and the learner as Ray actors.

Data flow (see docs/architecture.md): the learner publishes each weights version with exactly one
``ray.put`` and hands the driver that reference; the driver passes the same reference to every
worker's ``sample`` (Ray resolves it from the object store on each node); the fragments' references
go straight into ``learner.update``, so experience never passes through the driver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import ray

from distrl.agents import registry
from distrl.config import Config, ConfigError
from distrl.envs import EnvSpec
from distrl.runtime.backend import spawn_seeds, worker_class
from distrl.runtime.code import runtime_env
from distrl.runtime.learners import (  # noqa: F401  (INLINE_WEIGHTS_BYTES: re-exported)
    INLINE_WEIGHTS_BYTES,
    LearnerHost,
    form_group,
    learner_gpus,
    update_group,
)
from distrl.runtime.replay_shards import SHARDS, ShardedReplay, without_shards
from distrl.runtime.starting import start_guarded, started
from distrl.types import Rollout, UpdateResult, WeightsHandle, WeightsMessage

log = logging.getLogger(__name__)


def node_of(actor: Any) -> ray.ObjectRef:
    """The Ray node id an actor runs on (resolves to a hex string)."""
    return actor.__ray_call__.remote(lambda self: ray.get_runtime_context().get_node_id())


class WorkerFailuresExceeded(RuntimeError):
    """More rollout workers died than ``max_worker_failures`` allows, or none is left."""


class LearnerFailuresExceeded(RuntimeError):
    """The learner died more often than ``learner_restarts`` allows."""


# Returns the newest checkpoint's learner arrays and scalars, or None if there is none yet.
LearnerRestore = Callable[[], tuple[dict[str, np.ndarray], dict] | None]


class RayBackend:
    """Rollout workers and the learner as Ray actors.

    A worker that dies (its process killed, its node lost) is found when the learner cannot
    resolve its request: the request is dropped (one per restart, as each worker has one in
    flight), the update goes on with the other workers' data, and the worker is recreated at once
    (it receives fresh weights with its next request). A replacement that cannot start within
    ``worker_start_timeout`` (no room left, e.g. its node is gone) is given up: training goes on
    with fewer workers. Beyond ``max_worker_failures`` restarts, :class:`WorkerFailuresExceeded`.

    A learner that dies is recreated and loaded from ``restore`` (the newest checkpoint), up to
    ``learner_restarts`` times; the requests in flight are dropped, and the version continues
    above the last one published so that every worker accepts the restored weights.
    """

    def __init__(
        self, config: Config, spec: EnvSpec, restore: LearnerRestore | None = None
    ) -> None:
        learner_seed, worker_seeds = spawn_seeds(config.seed, config.workers)
        self._config, self._spec, self._worker_seeds = config, spec, worker_seeds
        self._learner_seed, self._restore = learner_seed, restore
        self._code = runtime_env(config)  # the user's local env/model modules, if any
        self._rollout_settings = config.rollout_settings()  # what every worker reads
        self.learners = [self._new_learner() for _ in range(config.resources.learners)]
        self.learner = self.learners[0]  # publishes the weights, owns checkpoints
        # Actor classes and handles are dynamic proxies (method.remote(...)): typed as Any.
        # Spread over the cluster's nodes; inside a placement group (a Tune trial) stay in it.
        in_group = ray.util.get_current_placement_group() is not None
        spread = {} if in_group else {"scheduling_strategy": "SPREAD"}
        self._remote_worker: Any = ray.remote(start_guarded(worker_class(config))).options(
            num_cpus=config.resources.worker_cpus, runtime_env=self._code, **spread
        )
        self.workers: list[Any] = [self._new_worker(i, seed) for i, seed in enumerate(worker_seeds)]
        # request -> (index, actor) of the worker computing it
        self._owner: dict[ray.ObjectRef, tuple[int, Any]] = {}
        self.worker_restarts = 0
        self.learner_restarts = 0
        self.dropped_requests = 0  # finished requests lost with a learner that died
        self._version = 0
        self.num_workers = len(self.workers)
        self.gradients = config.async_unit == "gradients"
        self.replay: ShardedReplay | None = None  # replay shards (Ape-X), if the section asks
        try:  # bad input that only an actor can find: one line, and no actor left behind
            devices = [started(d) for d in ray.get([a.ready.remote() for a in self.learners])]
            self.learner_device = devices[0]
            for ready in ray.get([w.ready.remote() for w in self.workers]):
                started(ready)
            form_group(self.learners)
        except ConfigError:
            self.shutdown()
            raise
        self._weights: WeightsHandle = ray.get(self.learner.weights.remote())
        nodes = ray.get([node_of(w) for w in self.workers])
        self.worker_nodes = len(set(nodes))
        own = config.algorithm_sections().own
        if getattr(own, "replay_shards", 0):
            self.replay = ShardedReplay(own, spec, learner_seed, self._code, spread)
            shard_nodes = ray.get([node_of(s) for s in self.replay.shards])
            self.replay.place_workers(dict(enumerate(nodes)), shard_nodes)
        learners = f"{len(self.learners)} learners" if len(self.learners) > 1 else "learner"
        log.info("%s on %s, %d rollout workers ready on %d node(s)", learners,
                 self.learner_device, self.num_workers, self.worker_nodes)  # fmt: skip

    def _new_learner(self) -> Any:
        gpus = learner_gpus(self._config)
        remote_learner: Any = ray.remote(start_guarded(LearnerHost))
        options: dict = {"num_cpus": self._config.resources.learner_cpus, "num_gpus": gpus}
        in_group = ray.util.get_current_placement_group() is not None
        if self._config.resources.learners > 1 and not in_group:  # one per node while they fit
            options["scheduling_strategy"] = "SPREAD"
        return remote_learner.options(**options, runtime_env=self._code).remote(
            algorithm=registry.get(self._config.algo),  # pickled: registering in the driver
            sections=self._config.algorithm_sections(),  # is enough (sections are plain data)
            threads=self._config.resources.learner_threads,
            spec=self._spec,
            seed=self._learner_seed,
            use_gpu=gpus > 0,
        )

    def active_workers(self) -> list[int]:
        """Indices of the workers still taking part (a worker given up on is None)."""
        return [i for i, w in enumerate(self.workers) if w is not None]

    def weights(self) -> WeightsHandle:
        return self._weights  # replaced whole after each update: any thread may read it

    def fetch(self, handle: WeightsHandle) -> WeightsMessage:
        return handle.message if handle.message is not None else ray.get(handle.ref)

    def _refresh_weights(self) -> WeightsHandle:
        self._weights = ray.get(self.learner.weights.remote())
        return self._weights

    def _new_worker(self, index: int, seed: Any) -> Any:
        return self._remote_worker.remote(
            settings=self._rollout_settings,
            spec=self._spec,
            worker_index=index,
            seed=seed,
            algorithm=registry.get(self._config.algo),  # pickled, as the learner's
        )

    def external(self, rollout: Rollout) -> ray.ObjectRef:
        return ray.put(rollout)  # into the object store once; the learner resolves it

    def submit(self, worker: int, weights: WeightsHandle) -> ray.ObjectRef:
        actor = self.workers[worker]
        # Small weights inside the call; else the reference, which Ray resolves in the worker
        # (every worker shares the one copy in the object store).
        call = actor.compute_gradients if self.gradients else actor.sample
        ref = call.remote(weights.payload)
        self._owner[ref] = (worker, actor)
        return ref

    def wait_ready(self, handles: list[ray.ObjectRef]) -> list[int]:
        ready, _ = ray.wait(handles, num_returns=1)
        if not self.gradients:
            # Fragments that finished meanwhile join the same update: one learner call for
            # several is cheaper, and none of them waits for a straggler.
            ready, _ = ray.wait(handles, num_returns=len(handles), timeout=0)
        return [handles.index(ref) for ref in ready]

    def update(self, handles: list[ray.ObjectRef]) -> tuple[UpdateResult, WeightsHandle]:
        """One learner call on these requests; returns its result and the newest weights."""
        # The references go to the learner as arguments: Ray resolves them there, so the
        # experience never passes through this (the driver's) process.
        if self.replay is not None:
            return self._update_from_shards(handles)
        if len(self.learners) > 1:
            return self._update_group(handles)
        if self.gradients:
            (gradients,) = handles
            call = self.learner.apply_gradients.remote(gradients)
        else:
            call = self.learner.update.remote(*handles)
        try:
            result, weights = ray.get(call)
        except ray.exceptions.RayError as error:
            if isinstance(error, ray.exceptions.RayActorError) and not self._learner_alive():
                for h in handles:  # offered to the learner that died: dropped, and counted
                    self._owner.pop(h, None)
                self.dropped_requests += len(handles)
                self._restart_learner()
                return self._nothing_learned(), self._refresh_weights()
            live = self._drop_lost(handles)
            if len(live) == len(handles):
                raise  # no worker was lost: the learner itself failed
            if not live:  # nothing left to learn from this time
                return self._nothing_learned(), self._refresh_weights()
            return self.update(live)
        for h in handles:
            self._owner.pop(h, None)
        self._version, self._weights = result.version, weights
        result.metrics.update(self._fault_metrics())
        return result, weights

    def _update_group(self, handles: list[ray.ObjectRef]) -> tuple[UpdateResult, WeightsHandle]:
        """One update of the data-parallel learners (``distrl.runtime.learners``)."""
        try:
            result, weights, lost = update_group(self.learners, handles)
        except ray.exceptions.RayActorError:  # a learner died: the group restarts
            for h in handles:
                self._owner.pop(h, None)
            self.dropped_requests += len(handles)
            self._restart_learner()
            return self._nothing_learned(), self._refresh_weights()
        except ray.exceptions.RayError:  # a learner failed: the others wait for it in vain
            self._kill_learners()
            raise
        for h in handles:
            if h not in lost:
                self._owner.pop(h, None)
        for h in lost:  # its worker died: recreated (one restart per worker, as elsewhere)
            index, actor = self._owner.pop(h)
            if self.workers[index] is actor:
                self._restart(index)
        self._version, self._weights = result.version, weights
        result.metrics.update(self._fault_metrics())
        return result, weights

    def _kill_learners(self) -> None:
        for actor in self.learners:
            ray.kill(actor)

    def _update_from_shards(
        self, handles: list[ray.ObjectRef]
    ) -> tuple[UpdateResult, WeightsHandle]:
        """One update with replay shards (``distrl.runtime.replay_shards``): the fragments go to
        the shards, the learner trains on the shards' draws; nothing passes through here."""
        assert self.replay is not None
        fragments = [(self._owner.get(h, (None, None))[0], h) for h in handles]
        summaries, failed = self.replay.store(fragments)
        for h in handles:
            if h not in failed:
                self._owner.pop(h, None)
        lost = self._drop_lost(failed) if failed else []  # dead workers are recreated there
        if lost:  # their workers were fine: the shard they went to was lost
            for h in lost:
                self._owner.pop(h, None)
            log.warning("a replay shard was lost; %d fragment(s) dropped", len(lost))
            self.dropped_requests += len(lost)
        try:
            steps = ray.get(self.learner.owe.remote(sum(s.env_steps for s in summaries),
                                                    self.replay.size))  # fmt: skip
            samples, slots, added, smallest = self.replay.draw(steps) if steps else ([], [], 0, 1)
            call = self.learner.update_sampled.options(num_returns=1 + len(samples))
            refs = call.remote(summaries, added, smallest, *samples)
            first = refs[0] if samples else refs
            if samples:
                self.replay.reprioritize(slots, refs[1:])
            result, weights = ray.get(first)
        except ray.exceptions.RayError:
            if self._learner_alive():  # a shard died between storing and drawing
                log.warning("a replay shard was lost; this update learned nothing")
                return self._nothing_learned(), self._weights
            self._restart_learner()  # the transitions are safe in the shards
            return self._nothing_learned(), self._refresh_weights()
        self._version, self._weights = result.version, weights
        added_all, insert_s = self.replay.inserts()
        result.metrics.update({**self._fault_metrics(), "replay/size": float(self.replay.size),
                               "replay/added": float(added_all),
                               "replay/insert_s": insert_s})  # fmt: skip
        return result, weights

    def _fault_metrics(self) -> dict[str, float]:
        return {
            "worker/restarts": float(self.worker_restarts),
            "worker/active": float(len(self.active_workers())),
            "learner/restarts": float(self.learner_restarts),
            "learner/dropped_requests": float(self.dropped_requests),
        }

    def _learner_alive(self) -> bool:
        try:
            ray.get(self.learner.ready.remote())
        except ray.exceptions.RayActorError:
            return False
        return True

    def _restart_learner(self) -> None:
        self.learner_restarts += 1
        if self.learner_restarts > self._config.faults.learner_restarts:
            raise LearnerFailuresExceeded(
                f"the learner died {self.learner_restarts} times, more than "
                f"faults.learner_restarts={self._config.faults.learner_restarts}; stopping"
            )
        log.warning("the learner died; restarting it (restart %d)", self.learner_restarts)
        self._kill_learners()  # a group restarts whole: its members wait for the one lost
        self.learners = [self._new_learner() for _ in self.learners]
        self.learner = self.learners[0]
        devices = [started(d) for d in ray.get([a.ready.remote() for a in self.learners])]
        self.learner_device = devices[0]
        form_group(self.learners)
        saved = self._restore() if self._restore is not None else None
        if saved is None:
            log.warning("no checkpoint to restore the learner from: it starts untrained")
            arrays, scalars = ray.get(self.learner.checkpoint.remote(False))
        else:
            arrays, scalars = without_shards(*saved)  # the shards kept their transitions
        # Workers only load versions newer than theirs: continue above the last one published.
        restored = int(scalars["version"])
        scalars = {**scalars, "version": max(restored, self._version) + 1}
        ray.get([a.restore.remote(arrays, scalars) for a in self.learners])
        self._version = scalars["version"]
        log.warning("learner restored from the checkpoint at version %d (now version %d)",
                    restored, self._version)  # fmt: skip

    def _drop_lost(self, handles: list[ray.ObjectRef]) -> list[ray.ObjectRef]:
        """The requests whose worker is alive; dead workers are recreated. Only on this failure
        path does the driver fetch requests itself (to learn which of them failed)."""
        live = []
        for h in handles:
            try:
                ray.get(h)
            except ray.exceptions.RayActorError:
                index, actor = self._owner.pop(h)
                # A second request queued on a worker already replaced (sync with overlap)
                # is dropped without restarting its replacement.
                if self.workers[index] is actor:
                    self._restart(index)
            else:
                live.append(h)
        return live

    def _restart(self, index: int) -> None:
        self.worker_restarts += 1
        if self.worker_restarts > self._config.faults.max_worker_failures:
            raise WorkerFailuresExceeded(
                f"{self.worker_restarts} rollout worker failures, more than "
                f"faults.max_worker_failures={self._config.faults.max_worker_failures}; stopping"
            )
        log.warning("rollout worker %d died; recreating it (restart %d)", index,
                    self.worker_restarts)  # fmt: skip
        ray.kill(self.workers[index])  # no-op if gone; frees its resources otherwise
        (seed,) = self._worker_seeds[index].spawn(1)  # a fresh stream for the new process
        worker = self._new_worker(index, seed)
        ready, _ = ray.wait(
            [worker.ready.remote()], timeout=self._config.faults.worker_start_timeout
        )
        if ready:
            started(ray.get(ready[0]))
            self.workers[index] = worker
            return
        ray.kill(worker)  # e.g. its node is gone and no other has room: go on without it
        self.workers[index] = None
        left = len(self.active_workers())
        log.warning("rollout worker %d could not be restarted within %.0f s (no room in the "
                    "cluster?); continuing with %d workers", index,
                    self._config.faults.worker_start_timeout, left)  # fmt: skip
        if left == 0:
            raise WorkerFailuresExceeded("no rollout worker is left; stopping")

    def _nothing_learned(self) -> UpdateResult:
        return UpdateResult(
            version=self._version,
            env_steps=0,
            episode_returns=np.zeros(0),
            episode_lengths=np.zeros(0, dtype=np.int64),
            metrics=self._fault_metrics(),
            applied=False,
        )

    def learner_checkpoint(self, include_replay: bool) -> tuple[dict, dict]:
        if self.replay is None:
            return ray.get(self.learner.checkpoint.remote(include_replay))
        arrays, scalars = ray.get(self.learner.checkpoint.remote(False))
        if include_replay:
            shards, counters = self.replay.checkpoint()
            arrays = {**arrays, **{SHARDS + k: v for k, v in shards.items()}}
            scalars = {**scalars, **counters}
        return arrays, scalars

    def restore_learner(self, arrays: dict, scalars: dict) -> None:
        if self.replay is not None:
            shards = {k.removeprefix(SHARDS): v for k, v in arrays.items() if k.startswith(SHARDS)}
            self.replay.restore(shards, scalars)
            if "replay" in scalars:  # the learner's own buffer cannot hold it (one slot)
                log.warning("the checkpoint's replay was the learner's own; this run keeps it "
                            "in replay shards, which start empty")  # fmt: skip
                arrays = {k: v for k, v in arrays.items() if not k.startswith("replay/")}
                scalars = {k: v for k, v in scalars.items() if k != "replay"}
        elif "replay_shards" in scalars:
            log.warning("the checkpoint's replay was in %d replay shards; this run has none "
                        "(replay_shards 0), so its learner starts with an empty replay",
                        len(scalars["replay_shards"]))  # fmt: skip
        restored = without_shards(arrays, scalars)
        ray.get([a.restore.remote(*restored) for a in self.learners])
        self._refresh_weights()

    def policy_bytes(self) -> bytes | None:
        return ray.get(self.learner.policy_bytes.remote())

    def shutdown(self) -> None:
        if self.replay is not None:
            self.replay.shutdown()
        self._kill_learners()
        for actor in self.workers:
            if actor is not None:
                ray.kill(actor)
