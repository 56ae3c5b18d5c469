"""Numerical faults: skip non-finite updates, and roll back when they keep coming.

The learners skip a step whose loss or gradient holds a NaN or Inf (inside the compiled step,
so nothing is applied). One such step is usually a bad batch; many in a row mean the weights or
the optimizer's moments have gone bad. Then :class:`NonFiniteGuard` restores its last snapshot
of known-good state (weights and optimizer slots, taken every ``SNAPSHOT_EVERY`` good updates)
and either halves the learning rates (``nonfinite_action: lower_lr``) or stops the run
(``stop``), so a diverged run never silently trains on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from distrl.agents.variables import assign_arrays, variables_to_arrays


class NonFiniteUpdates(RuntimeError):
    """``nonfinite_limit`` updates in a row were non-finite and ``nonfinite_action`` is stop."""


class NonFiniteGuard:
    """Counts skipped updates and rolls back after ``limit`` of them in a row.

    Usage, after each update::

        if guard.record(finite=step_was_applied):
            version += 1  # rolled back: the weights changed, publish them
    """

    SNAPSHOT_EVERY = 50  # good updates between snapshots

    def __init__(
        self,
        *,
        limit: int,
        action: str,
        variables: Callable[[], dict[str, list]],
        optimizers: Sequence[Any],
    ) -> None:
        self.limit, self.action = limit, action
        self._variables, self._optimizers = variables, optimizers
        self.skipped = 0  # non-finite updates, all told
        self.in_a_row = 0
        self.rollbacks = 0
        self._snapshot = variables_to_arrays(variables())
        self._good_since_snapshot = 0

    @classmethod
    def of_section(
        cls, nonfinite: Any, variables: Callable[[], dict[str, list]], optimizers: Sequence[Any]
    ) -> NonFiniteGuard:
        """The guard the ``nonfinite`` section asks for (``limit``, ``action``)."""
        return cls(limit=nonfinite.limit, action=nonfinite.action,
                   variables=variables, optimizers=optimizers)  # fmt: skip

    def record(self, *, finite: bool) -> bool:
        """Account for one update; True if it rolled the learner back."""
        if finite:
            self.in_a_row = 0
            self._good_since_snapshot += 1
            if self._good_since_snapshot >= self.SNAPSHOT_EVERY:
                self._snapshot = variables_to_arrays(self._variables())
                self._good_since_snapshot = 0
            return False
        self.skipped += 1
        self.in_a_row += 1
        if self.in_a_row < self.limit:
            return False
        if self.action == "stop":
            raise NonFiniteUpdates(
                f"{self.in_a_row} updates in a row had a NaN/Inf loss or gradient "
                f"(nonfinite_limit={self.limit}); stopping (nonfinite_action=stop)"
            )
        # The snapshot holds the learning rate of its time: halve the current one instead.
        lowered = [0.5 * float(np.asarray(o.learning_rate)) for o in self._optimizers]
        assign_arrays(self._variables(), self._snapshot)
        for optimizer, lr in zip(self._optimizers, lowered, strict=True):
            optimizer.learning_rate.assign(lr)
        self.rollbacks += 1
        self.in_a_row = 0
        return True

    def metrics(self) -> dict[str, float]:
        return {
            "learner/nonfinite_skipped": float(self.skipped),
            "learner/nonfinite_rollbacks": float(self.rollbacks),
        }

    def state(self) -> dict[str, int]:
        return {"nonfinite_skipped": self.skipped, "nonfinite_rollbacks": self.rollbacks}

    def load_state(self, scalars: dict) -> None:
        self.skipped = int(scalars.get("nonfinite_skipped", 0))
        self.rollbacks = int(scalars.get("nonfinite_rollbacks", 0))
        self.in_a_row = 0
        self._snapshot = variables_to_arrays(self._variables())  # the restored state is good
        self._good_since_snapshot = 0
