"""Backends: where rollout workers and the learner run, behind one small interface."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from distrl.agents.registry import Learner
from distrl.config import Config
from distrl.envs import EnvSpec
from distrl.rollout import GradientWorker, RolloutWorker
from distrl.types import Rollout, UpdateResult, WeightsHandle, WeightsMessage


class Experience(Protocol):
    """Experience from outside Ray, waiting for the learner (the service's inbox)."""

    def drain(self, wait_s: float = 0.0) -> list[Rollout]: ...


class Backend(Protocol):
    """What the training loops need. Request handles are opaque: values in-process, ObjectRefs
    on Ray. Weights travel as :class:`WeightsHandle`: :meth:`weights` gives the newest, and
    :meth:`fetch` turns any handle into arrays.

    A *request* is one fragment (``async_unit: trajectories``) or one fragment's gradients
    (``gradients``) from one worker.
    """

    num_workers: int
    worker_nodes: int  # how many nodes the rollout workers started on

    def weights(self) -> WeightsHandle:
        """The newest published weights (after a restore: the restored ones). Any thread may
        call it (the service does)."""

    def fetch(self, handle: WeightsHandle) -> WeightsMessage:
        """The arrays ``handle`` stands for, in this process (any thread may call it)."""

    def active_workers(self) -> list[int]:
        """The workers taking part now (fewer than ``num_workers`` once one was given up on)."""

    def external(self, rollout: Rollout) -> Any:
        """A handle for a fragment made outside the workers, to pass to ``update``."""

    def submit(self, worker: int, weights: WeightsHandle) -> Any:
        """Start one request on worker ``worker`` with ``weights``; a handle to its result."""

    def wait_ready(self, handles: list[Any]) -> list[int]:
        """Block until at least one of ``handles`` is done; the positions of those to learn from
        now: the first done, plus (trajectories only) any others already done."""

    def update(self, handles: list[Any]) -> tuple[UpdateResult, WeightsHandle]:
        """One learner update on the requests ``handles``; its result and the newest weights."""

    def learner_checkpoint(self, include_replay: bool) -> tuple[dict[str, np.ndarray], dict]:
        """The learner's arrays and counters (``learner.checkpoint``), fetched to this process."""

    def restore_learner(self, arrays: dict[str, np.ndarray], scalars: dict) -> None:
        """Restore the learner; :meth:`weights` are the restored ones from then on."""

    def policy_bytes(self) -> bytes | None:
        """The policy as a ``.keras`` file (None: the learner has no Keras policy)."""

    def shutdown(self) -> None: ...


def spawn_seeds(seed: int, num_workers: int) -> tuple[int, list[np.random.SeedSequence]]:
    """The learner's integer seed and one SeedSequence per worker, independent streams all."""
    learner_seq, *worker_seqs = np.random.SeedSequence(seed).spawn(1 + num_workers)
    return int(learner_seq.generate_state(1)[0]), worker_seqs


def worker_class(config: Config) -> type[RolloutWorker] | type[GradientWorker]:
    return GradientWorker if config.async_unit == "gradients" else RolloutWorker


class LocalBackend:
    """``--workers 0``: one worker and the learner in this process, called directly."""

    def __init__(self, config: Config, spec: EnvSpec, with_worker: bool = True) -> None:
        from distrl.agents import make_learner
        from distrl.tfsetup import configure_tensorflow

        learner_seed, (worker_seed,) = spawn_seeds(config.seed, 1)
        use_gpu = (
            None if config.resources.learner_gpus is None else config.resources.learner_gpus > 0
        )
        device = configure_tensorflow(threads=config.resources.learner_threads, use_gpu=use_gpu,
                                      precision=config.model.precision)  # fmt: skip
        self.learner: Learner = make_learner(
            algorithm=config.algo,
            sections=config.algorithm_sections(),
            spec=spec,
            seed=learner_seed,
            device=device,
        )
        warm_up = getattr(self.learner, "warm_up", None)  # a user's learner may not have one
        if warm_up is not None:
            warm_up()
        # Without its worker (serving with --workers 0) the learner learns only from outside.
        self.worker = (
            worker_class(config)(
                settings=config.rollout_settings(),
                algorithm=config.algo,
                spec=spec,
                worker_index=0,
                seed=worker_seed,
                tf_threads=None,
            )
            if with_worker
            else None
        )
        self.num_workers = int(with_worker)
        self.worker_nodes = 1
        self._publish()

    def _publish(self) -> None:
        # A copy of the arrays, taken in the training thread: the service reads it from others.
        message = self.learner.weights()
        self._weights = WeightsHandle(version=message.version, message=message)

    def weights(self) -> WeightsHandle:
        return self._weights

    def fetch(self, handle: WeightsHandle) -> WeightsMessage:
        assert handle.message is not None  # in one process weights always travel by value
        return handle.message

    def active_workers(self) -> list[int]:
        return [] if self.worker is None else [0]

    def external(self, rollout: Rollout) -> Rollout:
        return rollout

    def submit(self, worker: int, weights: WeightsHandle) -> Any:
        assert self.worker is not None, "no worker to submit to (see active_workers)"
        message = self.fetch(weights)
        if isinstance(self.worker, GradientWorker):
            return self.worker.compute_gradients(message)
        return self.worker.sample(message)

    def wait_ready(self, handles: list[Any]) -> list[int]:
        return [0]  # in-process requests are done when submit returns

    def update(self, handles: list[Any]) -> tuple[UpdateResult, WeightsHandle]:
        if isinstance(self.worker, GradientWorker):
            (gradients,) = handles
            result = self.learner.apply_gradients(gradients)
        else:
            result = self.learner.update(handles)
        if result.applied:  # a new version
            self._publish()
        return result, self._weights

    def learner_checkpoint(self, include_replay: bool) -> tuple[dict[str, np.ndarray], dict]:
        return self.learner.checkpoint(include_replay=include_replay)

    def restore_learner(self, arrays: dict[str, np.ndarray], scalars: dict) -> None:
        self.learner.restore(arrays, scalars)
        self._publish()

    def policy_bytes(self) -> bytes | None:
        return self.learner.policy_bytes()

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.close()
