"""The learner as Ray actors: :class:`LearnerHost` wraps a learner for Ray, and a group of
them trains data-parallel (``resources.learners``).

A group of N learners: every learner holds the same model and optimizer state; each update's
fragments are dealt out among them by reference (learner ``i`` gets fragments ``i, i+N, ...``,
resolved where it runs, never in the driver); each learner computes gradients on its share and
the group sums them with a ring all-reduce over TCP between the learners
(``distrl.runtime.ring``; ``distrl.agents.data_parallel`` says what is summed); all apply the
same step. Learner 0 publishes the weights and owns checkpoints.
A learner that dies ends the group's update: the driver restarts the whole group from the last
checkpoint, as it restarts a single learner.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np
import ray

from distrl.agents.registry import Algorithm, Learner
from distrl.config import AlgorithmSections, Config
from distrl.envs import EnvSpec
from distrl.runtime.ring import SocketRing
from distrl.types import Gradients, UpdateResult, WeightsHandle, WeightsMessage

RING_TIMEOUT_S = 600.0  # a learner waiting this long for its peers gives up (a backstop)
DEATH_GRACE_S = 30.0  # after a member's failure: how long to look for the one that died


# Weights up to this size travel inside each worker call (Ray copies arguments under its 100 KiB
# max_direct_call_object_size into the task itself) instead of as an object-store reference that
# every worker resolves: 1.1-4x faster to reach the workers for a 0.04 MiB MLP
# (benchmarks/cluster_scale.py). Larger ones (a Nature CNN is 6.4 MiB) are put once and shared.
INLINE_WEIGHTS_BYTES = 64 * 1024


def inline_or_none(message: WeightsMessage) -> WeightsMessage | None:
    """``message`` if it is small enough to send by value, else None."""
    size = sum(w.nbytes for w in message.weights)
    return message if size <= INLINE_WEIGHTS_BYTES else None


class LearnerHost:
    """Wraps the plain learner for Ray: publishes each weights version once to the object store
    (and sends it by value as well when it is small: ``INLINE_WEIGHTS_BYTES``), as a
    :class:`WeightsHandle` whose reference the caller receives unresolved."""

    def __init__(
        self,
        *,
        algorithm: Algorithm,
        sections: AlgorithmSections,
        threads: int | None,
        spec: EnvSpec,
        seed: int,
        use_gpu: bool,
    ) -> None:
        from distrl.tfsetup import configure_tensorflow

        self.device = configure_tensorflow(
            threads=threads, use_gpu=use_gpu, precision=sections.model.precision
        )
        self.learner: Learner = algorithm.make_learner(
            spec=spec, sections=sections, seed=seed, device=self.device
        )
        self._publishes = True  # False in every member of a group but learner 0
        self._publish()
        # (version, time.time()) of each publication: with the workers' weight_loads, how long
        # a version takes to reach them (benchmarks/cluster_scale.py).
        self._publish_log: deque[tuple[int, float]] = deque([(self.learner.version, time.time())],
                                                          maxlen=4096)  # fmt: skip
        warm_up = getattr(self.learner, "warm_up", None)  # a user's learner may not have one
        if warm_up is not None:
            warm_up()  # while the workers start, not in the first update

    def ready(self) -> str:
        return self.device

    def weights(self) -> WeightsHandle:
        """The newest published weights."""
        return self._handle

    def publications(self) -> list[tuple[int, float]]:
        return list(self._publish_log)

    def update(self, *rollouts: Any) -> tuple[UpdateResult, WeightsHandle]:
        return self._published(self.learner.update(rollouts))

    def listen(self) -> tuple[str, int]:
        """Open this learner's end of a data-parallel group's ring; its address."""
        self._ring = SocketRing(ray.util.get_node_ip_address(), RING_TIMEOUT_S)
        return self._ring.address

    def join(self, addresses: list[tuple[str, int]], rank: int) -> None:
        """Become learner ``rank`` of the ring of ``addresses`` (every member calls it at
        once); only learner 0 publishes weights from then on."""
        self._ring.connect(addresses, rank)
        self.learner.join_group(self._ring)  # type: ignore[attr-defined]
        self._publishes = rank == 0

    def update_share(self, refs: list[ray.ObjectRef]) -> tuple[UpdateResult, WeightsHandle, list]:
        """A group member's update on its share of the fragments (references, resolved here).
        A fragment whose worker died is left out, and its position returned, so that the group's
        update goes on (every member must take part in each of its collectives)."""
        rollouts, lost = [], []
        for i, ref in enumerate(refs):
            try:
                rollouts.append(ray.get(ref))
            except ray.exceptions.RayActorError:
                lost.append(i)
        result, handle = self._published(self.learner.update(rollouts))
        return result, handle, lost

    def owe(self, env_steps: int, stored: int) -> int:
        """Replay shards: the gradient steps these env steps earned (``ReplayLearner.owe``)."""
        return self.learner.owe(env_steps, stored)  # type: ignore[attr-defined]

    def update_sampled(self, summaries: list, added: int, smallest: float, *samples: Any) -> Any:
        """Replay shards: train on the shards' draws. Called with ``num_returns`` 1 + the number
        of draws: ``(result, weights)`` and then each draw's TD errors, as separate objects."""
        result, td_errors = self.learner.update_sampled(  # type: ignore[attr-defined]
            summaries, added, smallest, *samples
        )
        published = self._published(result)
        return [published, *td_errors] if samples else published

    def apply_gradients(self, gradients: Gradients) -> tuple[UpdateResult, WeightsHandle]:
        return self._published(self.learner.apply_gradients(gradients))

    def checkpoint(self, include_replay: bool) -> tuple[dict, dict]:
        return self.learner.checkpoint(include_replay=include_replay)

    def restore(self, arrays: dict, scalars: dict) -> None:
        self.learner.restore(arrays, scalars)
        self._publish()  # the restored version's one put
        self._publish_log.append((self.learner.version, time.time()))

    def policy_bytes(self) -> bytes | None:
        return self.learner.policy_bytes()

    def _publish(self) -> None:
        message = self.learner.weights()
        self._handle = WeightsHandle(
            version=message.version, message=inline_or_none(message), ref=ray.put(message)
        )

    def _published(self, result: UpdateResult) -> tuple[UpdateResult, WeightsHandle]:
        if result.applied and self._publishes:  # a new version: its one put
            self._publish()
            self._publish_log.append((result.version, time.time()))
        return result, self._handle


def learner_gpus(config: Config) -> float:
    """``--learner-gpus`` if given, else 1 when the cluster has a GPU, else 0."""
    if config.resources.learner_gpus is not None:
        return config.resources.learner_gpus
    return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0


def form_group(learners: list[Any]) -> None:
    """Join ``learners`` (started LearnerHost actors) into one ring (``distrl.runtime.ring``),
    with the weights and optimizer state of the first; nothing to do for one learner."""
    if len(learners) == 1:
        return
    addresses = ray.get([a.listen.remote() for a in learners])
    ray.get([a.join.remote(addresses, rank) for rank, a in enumerate(learners)])
    arrays, scalars = ray.get(learners[0].checkpoint.remote(False))
    ray.get([a.restore.remote(arrays, scalars) for a in learners[1:]])


def update_group(
    learners: list[Any], handles: list[ray.ObjectRef]
) -> tuple[UpdateResult, WeightsHandle, list[ray.ObjectRef]]:
    """One update of the group on ``handles``: the merged result, learner 0's weights and the
    requests whose worker died. A member's failure is raised at once (the others are then
    waiting for it in their collective: the caller restarts the group)."""
    n = len(learners)
    shares = [handles[i::n] for i in range(n)]
    calls = [a.update_share.remote(share) for a, share in zip(learners, shares, strict=True)]
    pending = list(calls)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        try:
            ray.get(done[0])
        except ray.exceptions.RayError:
            raise _first_death(calls) from None
    outcomes = ray.get(calls)
    lost = [shares[i][j] for i, (_, _, gone) in enumerate(outcomes) for j in gone]
    (first, weights, _), *rest = outcomes
    return merge([first, *(r for r, _, _ in rest)]), weights, lost


def _first_death(calls: list[ray.ObjectRef]) -> ray.exceptions.RayError:
    """What ended a group's update: a member that died (RayActorError), which the others'
    connection errors follow, if one did within ``DEATH_GRACE_S``; else the first error."""
    ready, _ = ray.wait(calls, num_returns=len(calls), timeout=DEATH_GRACE_S)
    errors = []
    for ref in ready:
        try:
            ray.get(ref)
        except ray.exceptions.RayError as e:
            errors.append(e)
    deaths = [e for e in errors if isinstance(e, ray.exceptions.RayActorError)]
    return (deaths or errors)[0]


def merge(results: list[UpdateResult]) -> UpdateResult:
    """One result for the group's update: learner 0's version and metrics, every member's env
    steps and episodes, and the policy lag over all of them."""
    first = results[0]
    metrics = dict(first.metrics)
    lags = [r.metrics for r in results if "learner/policy_lag_max" in r.metrics]
    if lags:
        metrics["learner/policy_lag_max"] = max(m["learner/policy_lag_max"] for m in lags)
        metrics["learner/policy_lag_mean"] = float(np.mean([m["learner/policy_lag_mean"]
                                                            for m in lags]))  # fmt: skip
    metrics["learner/batch_size"] = sum(r.metrics.get("learner/batch_size", 0.0) for r in results)
    return UpdateResult(
        version=first.version,
        env_steps=sum(r.env_steps for r in results),
        episode_returns=np.concatenate([r.episode_returns for r in results]),
        episode_lengths=np.concatenate([r.episode_lengths for r in results]),
        episode_workers=np.concatenate([r.episode_workers for r in results]),
        metrics=metrics,
        applied=first.applied,
    )
