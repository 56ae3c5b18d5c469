"""What every learner shares: the weights it publishes, the counters its checkpoints keep, and
the :class:`UpdateResult` with the policy-lag, guard, env-error and timing metrics.

A learner subclasses :class:`LearnerBase`, sets ``version``, ``env_errors`` and ``guard`` in its
constructor, and says which model acts (``_policy_model``) and which variables a checkpoint
holds (``_variables``); ``COUNTERS`` names its own integer counters to keep.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from distrl.agents.guard import NonFiniteGuard
from distrl.agents.variables import assign_arrays, keras_file_bytes, variables_to_arrays
from distrl.types import FragmentSummary, Gradients, Rollout, UpdateResult, WeightsMessage

if TYPE_CHECKING:
    from distrl.agents.data_parallel import Collective
    from distrl.agents.normalizing import Normalizer
    from distrl.agents.scheduling import Schedules


class LearnerBase:
    COUNTERS: tuple[str, ...] = ()  # the subclass's own integer counters, kept in checkpoints
    # Compiled functions (attribute names, on the learner or its parts) the learner never
    # calls, so ``warm_up`` does not trace them (A2C's loss object also serves A3C workers).
    NOT_WARMED: tuple[str, ...] = ()

    version: int  # weights versions published; 0 is the initial weights
    env_errors: int  # env exceptions the workers recovered from (reported with their data)
    guard: NonFiniteGuard
    # Learners that bound policy lag (``_admit``) set these two counters in their constructor.
    stale_discarded: int  # fragments dropped for lagging beyond max_policy_lag
    stale_corrected: int  # fragments beyond it kept, to be corrected with V-trace
    _names: tuple[str, ...] | None = None
    # Learners with schedules (agents/scheduling.py) or the normalize section
    # (agents/normalizing.py) set these; checkpoints keep their state.
    schedules: Schedules | None = None
    normalizer: Normalizer | None = None
    # One learner of several training data-parallel (``resources.learners``): set by
    # ``join_group`` in learners whose registry entry says ``data_parallel``.
    group: Collective | None = None

    def join_group(self, collective: Collective) -> None:
        """Learn as one of ``collective.size`` data-parallel learners from now on
        (``distrl.agents.data_parallel``)."""
        self.group = collective

    def _policy_model(self) -> Any:
        """The Keras model that acts: what ``weights`` publishes and ``policy_bytes`` saves."""
        raise NotImplementedError

    def _variables(self) -> dict[str, list]:
        """Every variable a checkpoint holds, by group (weights, optimizer slots, targets)."""
        raise NotImplementedError

    def weights(self) -> WeightsMessage:
        model = self._policy_model()
        if self._names is None:
            self._names = tuple(v.path for v in model.weights)
        return WeightsMessage(version=self.version, names=self._names, weights=model.get_weights())

    def warm_up(self) -> None:
        """Trace the learner's compiled functions now rather than in its first update.

        Every ``tf.function`` attribute with an ``input_signature`` is traced (nothing runs, no
        variable changes). The runtimes call this while the rollout workers start, so the
        tracing (about 1 s for PPO's fused epochs on the 2-core machine) no longer delays the
        first update.
        """
        import tensorflow as tf

        # The learner's own attributes, and those of its parts defined in distrl.agents (A2C's
        # loss object holds the forward pass that computes targets).
        parts = [v for v in vars(self).values() if type(v).__module__.startswith("distrl.agents")]
        for owner in (self, *parts):
            for name, value in vars(owner).items():
                if name in self.NOT_WARMED:
                    continue
                compiled = isinstance(value, tf.types.experimental.PolymorphicFunction)
                if compiled and getattr(value, "input_signature", None) is not None:
                    value.get_concrete_function()

    def policy_bytes(self) -> bytes:
        """The acting model as a ``.keras`` file (standard layers only)."""
        return keras_file_bytes(self._policy_model())

    def checkpoint(self, *, include_replay: bool = False) -> tuple[dict[str, np.ndarray], dict]:
        """Everything needed to continue exactly: variables and counters."""
        scalars = {
            "version": self.version,
            "env_errors": self.env_errors,
            **{name: getattr(self, name) for name in self.COUNTERS},
            **self.guard.state(),
        }
        if self.schedules is not None:
            scalars["schedule_steps"] = self.schedules.steps
        arrays = variables_to_arrays(self._variables())
        if self.normalizer is not None:
            extra_arrays, extra_scalars = self.normalizer.state()
            arrays.update(extra_arrays)
            scalars.update(extra_scalars)
        return arrays, scalars

    def restore(self, arrays: dict[str, np.ndarray], scalars: dict) -> None:
        assign_arrays(self._variables(), arrays)
        self.version = int(scalars["version"])
        self.env_errors = int(scalars.get("env_errors", 0))
        for name in self.COUNTERS:
            setattr(self, name, int(scalars.get(name, 0)))
        self.guard.load_state(scalars)
        if self.schedules is not None:
            self.schedules.restore(int(scalars.get("schedule_steps", 0)))
        if self.normalizer is not None:
            self.normalizer.load(arrays, scalars)

    def _admit(self, rollouts: Sequence[Rollout], lag: Any) -> tuple[list[int], list, bool]:
        """For learners that bound policy lag: count the fragments' env errors, and return their
        lags, the ones to learn from (``split_stale``; the subclass keeps ``stale_discarded``
        and ``stale_corrected``) and whether any lagged beyond ``lag.max_policy_lag``."""
        self.env_errors += sum(r.env_errors for r in rollouts)
        lags = [self.version - r.policy_version for r in rollouts]
        use, discarded, corrected = split_stale(rollouts, self.version, lag)
        self.stale_discarded += discarded
        self.stale_corrected += corrected
        return lags, use, discarded + corrected > 0

    def _result(
        self,
        start: float,
        metrics: dict[str, float],
        lags: list[int],
        *,
        applied: bool,
        sources: Sequence[Rollout | Gradients | FragmentSummary],
    ) -> UpdateResult:
        """The update's result from the fragments (or gradients) it learned from; ``start``:
        ``time.perf_counter()`` when the update began."""
        if lags:  # a data-parallel learner's share may be empty
            metrics["learner/policy_lag_mean"] = float(np.mean(lags))
            metrics["learner/policy_lag_max"] = float(np.max(lags))
        metrics.update(self.guard.metrics())
        metrics["worker/env_errors"] = float(self.env_errors)
        metrics["timing/update_s"] = time.perf_counter() - start
        return UpdateResult(
            version=self.version,
            env_steps=sum(s.env_steps for s in sources),
            episode_returns=np.concatenate([np.zeros(0), *(s.episode_returns for s in sources)]),
            episode_lengths=np.concatenate(
                [np.zeros(0, np.int64), *(s.episode_lengths for s in sources)]
            ),
            episode_workers=np.concatenate(
                [np.zeros(0), *(np.full(len(s.episode_returns), s.worker_index) for s in sources)]
            ).astype(np.int64),
            metrics=metrics,
            applied=applied,
        )


def split_stale(
    rollouts: Sequence[Rollout], version: int, lag: Any
) -> tuple[list[Rollout], int, int]:
    """For learners that bound policy lag (the ``lag`` section): the fragments
    to learn from, and how many were discarded and kept (to be corrected) for lagging more."""
    bound = lag.max_policy_lag
    stale = [bound is not None and version - r.policy_version > bound for r in rollouts]
    if not any(stale):
        return list(rollouts), 0, 0
    if lag.stale_data == "discard":
        return [r for r, s in zip(rollouts, stale, strict=True) if not s], sum(stale), 0
    return list(rollouts), 0, sum(stale)
