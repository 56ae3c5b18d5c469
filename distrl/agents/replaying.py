"""What the replay learners (DQN, DDPG/TD3, SAC) share: their buffer, uniform or prioritized
by their section's ``prioritized`` switch, how a batch is drawn from it, and the bookkeeping of
an update (:class:`ReplayLearner`). No TensorFlow here: the train steps are the learners'."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from distrl.agents.learner import LearnerBase
from distrl.replay import PrioritizedReplayBuffer, ReplayBuffer, TransitionBatch
from distrl.types import Rollout, UpdateResult


def make_replay(keys: Any, **buffer: Any) -> ReplayBuffer:
    """A buffer for a section with :class:`distrl.replay.settings.PriorityKeys`."""
    if keys.prioritized:
        return PrioritizedReplayBuffer(alpha=keys.priority_alpha, eps=keys.priority_eps, **buffer)
    return ReplayBuffer(**buffer)


def draw(
    replay: ReplayBuffer, keys: Any, shape: tuple[int, ...], rng: np.random.Generator
) -> tuple[TransitionBatch, np.ndarray | None, np.ndarray]:
    """``(batch, slots or None, importance weights)`` of ``shape``; uniform buffers weigh every
    transition 1. Beta rises linearly from ``priority_beta`` to 1 over ``priority_beta_steps``
    transitions added."""
    if isinstance(replay, PrioritizedReplayBuffer):
        return replay.sample_prioritized(shape, rng, keys.beta(replay.added))
    return replay.sample(shape, rng), None, np.ones(shape, np.float32)


def reprioritize(replay: ReplayBuffer, slots: np.ndarray | None, td_errors: Any) -> None:
    """Set the drawn transitions' priorities from their TD errors (prioritized buffers)."""
    if slots is not None:
        assert isinstance(replay, PrioritizedReplayBuffer)
        replay.update_priorities(slots, np.asarray(td_errors))


class ReplayLearner(LearnerBase):
    """What DQN, DDPG/TD3 and SAC share around their compiled train steps: store each fragment,
    owe ``replay_ratio`` gradient steps per env step once ``learning_starts`` transitions are
    stored, draw the owed steps' batches at once, count skipped steps, publish a new version
    when anything changed, and keep the replay and the sampling RNG in checkpoints.

    A subclass sets ``config`` (a section with ``replay_ratio``, ``learning_starts``,
    ``batch_size`` and the priority keys), ``replay``, ``rng``, ``guard``, the counters, and
    implements :meth:`_train_batch`; it may override :meth:`_store`, :meth:`_after_update` and
    :meth:`_extra_metrics`.
    """

    COUNTERS: tuple[str, ...] = ("gradient_steps", "skipped_steps")
    config: Any
    replay: ReplayBuffer
    rng: np.random.Generator
    gradient_steps: int
    skipped_steps: int
    _owed_steps: float = 0.0  # gradient steps earned by env steps and not yet taken

    def _train_batch(self, batch: TransitionBatch, weights: np.ndarray) -> dict[str, Any]:
        """``[G, N, ...]`` transitions -> the train step's stats, with ``skipped`` (steps whose
        gradients were not finite) and ``td_errors`` ``[G, N]``."""
        raise NotImplementedError

    def _store(self, rollout: Rollout) -> None:
        self.replay.add_rollout(rollout)

    def _after_update(self, env_steps: int, started: bool) -> None:
        """Called once per update with the new env steps and whether training has started."""

    def _extra_metrics(self) -> dict[str, float]:
        return {}

    def update(self, rollouts: Sequence[Rollout]) -> UpdateResult:
        """Store ``rollouts`` and train for the gradient steps their env steps earned."""
        start = time.perf_counter()
        c = self.config
        lags = [self.version - r.policy_version for r in rollouts]
        version_before = self.version
        self.env_errors += sum(r.env_errors for r in rollouts)
        for r in rollouts:
            self._store(r)
        env_steps = sum(r.env_steps for r in rollouts)
        started = self.replay.size >= max(c.learning_starts, c.batch_size)
        if started:
            self._owed_steps += c.replay_ratio * env_steps
        steps = int(self._owed_steps)
        self._owed_steps -= steps
        metrics: dict[str, float] = {}
        if steps > 0:
            batch, slots, weights = draw(self.replay, c, (steps, c.batch_size), self.rng)
            stats = self._train_batch(batch, weights)
            reprioritize(self.replay, slots, stats.pop("td_errors"))
            skipped = int(stats.pop("skipped"))
            self.gradient_steps += steps - skipped
            self.skipped_steps += skipped
            rolled_back = self.guard.record(finite=skipped == 0)
            if skipped < steps or rolled_back:  # the acting network changed: a new version
                self.version += 1
            metrics = {k: float(v) for k, v in stats.items()}
        self._after_update(env_steps, started)
        metrics.update({"learner/gradient_steps": float(self.gradient_steps),
                        "learner/skipped_steps": float(self.skipped_steps),
                        "learner/replay_size": float(self.replay.size),
                        **self._extra_metrics()})  # fmt: skip
        applied = version_before != self.version
        return self._result(start, metrics, lags, applied=applied, sources=rollouts)

    def checkpoint(self, *, include_replay: bool = False) -> tuple[dict[str, np.ndarray], dict]:
        """Networks, targets, optimizer slots, counters, the sampling RNG; the replay buffer
        only if asked (it can be large)."""
        arrays, scalars = super().checkpoint()
        scalars["owed_steps"] = self._owed_steps
        scalars["rng"] = self.rng.bit_generator.state
        if include_replay:
            arrays.update({f"replay/{k}": v for k, v in self.replay.arrays().items()})
            scalars["replay"] = self.replay.counters()
        return arrays, scalars

    def restore(self, arrays: dict[str, np.ndarray], scalars: dict) -> None:
        super().restore(arrays, scalars)
        self._owed_steps = float(scalars["owed_steps"])
        self.rng.bit_generator.state = scalars["rng"]
        if "replay" in scalars:
            replay = {k.removeprefix("replay/"): v for k, v in arrays.items() if "replay/" in k}
            self.replay.load(replay, scalars["replay"])
