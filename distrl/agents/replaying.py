"""What the replay learners (DQN, DDPG/TD3, SAC) share: their buffer, uniform or prioritized
by their section's ``prioritized`` switch, how fragments become transitions
(:class:`Transitions`), how a batch is drawn, and the bookkeeping of an update
(:class:`ReplayLearner`), whether the replay is the learner's own or lives in replay shards
(``replay_shards``: the runtime stores and samples, the learner trains on what it is given).
No TensorFlow here: the train steps are the learners'."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from distrl.agents.learner import LearnerBase
from distrl.replay import PrioritizedReplayBuffer, ReplayBuffer, TransitionBatch
from distrl.replay.prioritized import importance_weights
from distrl.returns import nstep
from distrl.types import EnvSpec, FragmentSummary, Rollout, UpdateResult


def replay_layout(spec: EnvSpec, section: Any, capacity: int) -> dict[str, Any]:
    """A buffer of ``capacity`` transitions for ``spec``: one column per action dimension (one
    for a discrete action)."""
    return {
        "capacity": capacity,
        "obs_shape": spec.observation_shape,
        "obs_dtype": spec.observation_dtype,
        "action_dim": 1 if spec.action_kind == "discrete" else spec.num_actions,
    }


def learner_capacity(section: Any) -> int:
    """The learner's own buffer: the whole ``buffer_size``, or one slot when replay shards hold
    the transitions (``replay_shards``)."""
    return 1 if section.replay_shards else section.buffer_size


def shard_capacity(section: Any) -> int:
    """Each replay shard's share of ``buffer_size``."""
    return -(-section.buffer_size // section.replay_shards)


def make_replay(keys: Any, **buffer: Any) -> ReplayBuffer:
    """A buffer for a section with :class:`distrl.replay.settings.PriorityKeys`."""
    if keys.prioritized:
        return PrioritizedReplayBuffer(alpha=keys.priority_alpha, eps=keys.priority_eps, **buffer)
    return ReplayBuffer(**buffer)


@dataclass(frozen=True)
class Transitions:
    """How a fragment becomes replay transitions: ``n_step`` returns (each transition ends
    where its episode or the fragment does, and bootstraps from the true next observation of its
    last step, discounted by ``gamma ** steps``), with the worker's initial priorities if it
    sent any (Ape-X)."""

    n_step: int = 1
    gamma: float = 0.99

    @classmethod
    def of(cls, section: Any) -> Transitions:
        return cls(getattr(section, "n_step", 1), section.gamma)

    def batch(self, rollout: Rollout) -> TransitionBatch:
        T, B = rollout.rewards.shape
        obs_shape = rollout.observations.shape[2:]
        following, rewards, ends = rollout.next_observations(), rollout.rewards, rollout.terminated
        steps = None
        if self.n_step > 1:
            n = nstep(rollout.rewards, rollout.terminated, rollout.truncated, n=self.n_step,
                      gamma=self.gamma)  # fmt: skip
            columns = np.broadcast_to(np.arange(B), (T, B))
            following, rewards = following[n.last, columns], n.returns
            ends, steps = rollout.terminated[n.last, columns], n.steps.reshape(T * B)
        return TransitionBatch(
            obs=rollout.observations.reshape(T * B, *obs_shape),
            actions=rollout.actions.reshape(T * B, -1).astype(np.float32),
            rewards=rewards.reshape(T * B).astype(np.float32),
            next_obs=following.reshape(T * B, *obs_shape),
            terminated=ends.reshape(T * B).astype(np.float32),
            steps=steps,
        )

    def store(self, replay: ReplayBuffer, rollout: Rollout) -> None:
        batch = self.batch(rollout)
        if isinstance(replay, PrioritizedReplayBuffer) and rollout.priorities is not None:
            replay.add(batch, priorities=rollout.priorities.reshape(-1))
        else:
            replay.add(batch)


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

    With replay shards the runtime stores the fragments and asks :meth:`owe` how many gradient
    steps they earned; it draws that many batches from the shards and passes them, with the
    fragments' :class:`FragmentSummary`, to :meth:`update_sampled`, which returns the TD errors
    for the shards' priorities.

    A subclass sets ``config`` (a section with ``replay_ratio``, ``learning_starts``,
    ``batch_size``, ``gamma`` and the priority keys), ``replay``, ``rng``, ``guard``, the
    counters, and implements :meth:`_train_batch`; it may override :meth:`_after_update` and
    :meth:`_extra_metrics`.
    """

    COUNTERS: tuple[str, ...] = ("gradient_steps", "skipped_steps")
    config: Any
    replay: ReplayBuffer
    rng: np.random.Generator
    gradient_steps: int
    skipped_steps: int
    _owed_steps: float = 0.0  # gradient steps earned by env steps and not yet taken
    _started: bool = False  # whether the replay held enough to train at the last :meth:`owe`

    def _train_batch(self, batch: TransitionBatch, weights: np.ndarray) -> dict[str, Any]:
        """``[G, N, ...]`` transitions -> the train step's stats, with ``skipped`` (steps whose
        gradients were not finite) and ``td_errors`` ``[G, N]``."""
        raise NotImplementedError

    def _store(self, rollout: Rollout) -> None:
        Transitions.of(self.config).store(self.replay, rollout)

    def _after_update(self, env_steps: int, started: bool) -> None:
        """Called once per update with the new env steps and whether training has started."""

    def _extra_metrics(self) -> dict[str, float]:
        return {}

    def owe(self, env_steps: int, stored: int) -> int:
        """The gradient steps earned by ``env_steps`` new env steps with ``stored`` transitions
        in the replay (none before ``learning_starts``); fractions carry over."""
        c = self.config
        self._started = stored >= max(c.learning_starts, c.batch_size)
        if self._started:
            self._owed_steps += c.replay_ratio * env_steps
        steps = int(self._owed_steps)
        self._owed_steps -= steps
        return steps

    def update(self, rollouts: Sequence[Rollout]) -> UpdateResult:
        """Store ``rollouts`` and train for the gradient steps their env steps earned."""
        start = time.perf_counter()
        for r in rollouts:
            self._store(r)
        env_steps = sum(r.env_steps for r in rollouts)
        steps = self.owe(env_steps, self.replay.size)
        if not steps:
            return self._learn(start, rollouts, None)[0]
        drawn = draw(self.replay, self.config, (steps, self.config.batch_size), self.rng)
        result, td_errors = self._learn(start, rollouts, drawn)
        reprioritize(self.replay, drawn[1], td_errors)
        return result

    def update_sampled(
        self,
        summaries: Sequence[FragmentSummary],
        added: int,
        smallest: float,
        *samples: tuple[TransitionBatch, np.ndarray],
    ) -> tuple[UpdateResult, list[np.ndarray]]:
        """Train on batches the runtime drew from replay shards: ``samples`` are each shard's
        ``(transitions [G, n_k], p^alpha [G, n_k])``, joined along the batch; ``added``: the
        transitions ever stored in all shards (beta's schedule), ``smallest``: the smallest
        ``p^alpha`` they hold (the weights' scale). Returns the result and each shard's TD
        errors ``[G, n_k]`` for its priorities."""
        start = time.perf_counter()
        drawn = None
        if samples:
            draws = [b for b, _ in samples]  # every field is an array (rows() keeps steps)
            batch = TransitionBatch(*(np.concatenate(p, axis=1) for p in zip(*draws, strict=True)))
            priorities = np.concatenate([p for _, p in samples], axis=1)
            smallest = min(smallest, float(priorities.min()))
            weights = (
                importance_weights(priorities, smallest, self.config.beta(added))
                if self.config.prioritized
                else np.ones(priorities.shape, np.float32)
            )
            drawn = (batch, None, weights)
        result, td_errors = self._learn(start, summaries, drawn)
        if td_errors is None:
            return result, []
        splits = np.cumsum([p.shape[1] for _, p in samples])[:-1]
        return result, np.split(np.asarray(td_errors), splits, axis=1)

    def _learn(
        self,
        start: float,
        sources: Sequence[Rollout | FragmentSummary],
        drawn: tuple[TransitionBatch, Any, np.ndarray] | None,
    ) -> tuple[UpdateResult, Any]:
        """One update: the gradient steps of ``drawn`` (``[G, N]`` transitions, slots, weights;
        None: no step owed) and the bookkeeping of ``sources``; the result and the TD errors."""
        lags = [self.version - r.policy_version for r in sources]
        version_before = self.version
        self.env_errors += sum(r.env_errors for r in sources)
        env_steps = sum(r.env_steps for r in sources)
        metrics: dict[str, float] = {}
        td_errors = None
        if drawn is not None:
            batch, _, weights = drawn
            steps = weights.shape[0]
            stats = self._train_batch(batch, weights)
            td_errors = stats.pop("td_errors")
            skipped = int(stats.pop("skipped"))
            self.gradient_steps += steps - skipped
            self.skipped_steps += skipped
            rolled_back = self.guard.record(finite=skipped == 0)
            if skipped < steps or rolled_back:  # the acting network changed: a new version
                self.version += 1
            metrics = {k: float(v) for k, v in stats.items()}
        self._after_update(env_steps, self._started)
        metrics.update({"learner/gradient_steps": float(self.gradient_steps),
                        "learner/skipped_steps": float(self.skipped_steps),
                        "learner/replay_size": float(self.replay.size),
                        **self._extra_metrics()})  # fmt: skip
        applied = version_before != self.version
        return self._result(start, metrics, lags, applied=applied, sources=sources), td_errors

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
