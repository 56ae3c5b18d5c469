"""The REINFORCE learner: gathers complete episodes from fragments, then one policy-gradient step.

Usage (what the runtime does, in one process or across Ray)::

    learner = PGLearner(spec=spec, config=config, seed=seed)
    result = learner.update([rollout, ...])   # stores the steps; trains once enough episodes
    weights = learner.weights()               # a new version after each gradient step

Workers send fixed-length fragments, so an episode usually spans several. The learner keeps the
unfinished part of each (worker, env copy) stream and, once ``pg.episodes_per_update`` episodes
are complete, takes one gradient step on all of them:
``-sum_t A_t log pi(a_t | s_t)`` with ``A_t`` the normalised Monte Carlo return (minus V(s_t)
with ``pg.baseline``), plus the value loss and an entropy bonus, over chunks of ``pg.chunk``
steps whose gradients are summed, so a long Atari episode never needs one huge batch.

A truncated episode is treated as ended (its return is not bootstrapped). Steps of a worker that
recreated its envs (``Rollout.env_errors``) do not continue the episodes it had under way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from distrl.agents.guard import NonFiniteGuard
from distrl.agents.learner import LearnerBase
from distrl.agents.normalizing import Normalizer
from distrl.agents.pg.config import PGConfig
from distrl.agents.pg.returns import discounted_returns, normalize_returns
from distrl.agents.scheduling import Schedules
from distrl.config import AlgorithmSections
from distrl.distributions.tensorflow_forms import action_signature
from distrl.distributions.tensorflow_forms import for_spec as tf_distribution_for
from distrl.envs import EnvSpec
from distrl.models.builders import build_model
from distrl.schedules import value_at
from distrl.types import Rollout, UpdateResult

Segment = tuple[np.ndarray, np.ndarray, np.ndarray]  # observations, actions, rewards of one run


def _joined(parts: list[Segment]) -> Segment:
    obs, actions, rewards = zip(*parts, strict=True)
    return np.concatenate(obs), np.concatenate(actions), np.concatenate(rewards)


class PGLearner(LearnerBase):
    COUNTERS = ("episodes_trained",)
    normalizer: Normalizer  # always set here (the base class allows None)
    schedules: Schedules

    def __init__(
        self, *, spec: EnvSpec, sections: AlgorithmSections, seed: int, device: str = "/CPU:0"
    ) -> None:
        self.spec, self.device = spec, device
        self.config: PGConfig = sections.own
        self.version = 0
        self.env_errors = 0
        self.episodes_trained = 0
        keras.utils.set_random_seed(seed)
        with tf.device(device):
            self.model = build_model(spec, sections.model, sections.normalize)
            self.optimizer = keras.optimizers.Adam(learning_rate=value_at(self.config.lr, 0.0))
            self.optimizer.build(self.model.trainable_variables)
        self.normalizer = Normalizer(sections.normalize, self.model)
        self.schedules = Schedules(sections.budget)
        self.schedules.track("learning_rate", self.config.lr, self.optimizer.learning_rate)
        self.guard = NonFiniteGuard.of_section(
            sections.nonfinite, self._variables, [self.optimizer]
        )
        self.distribution = tf_distribution_for(spec)  # categorical, or one per action part
        self._partial: dict[tuple[int, int], list[Segment]] = {}  # unfinished episodes
        self._complete: list[Segment] = []  # finished, waiting for the next gradient step
        obs = tf.TensorSpec([None, *spec.observation_shape], spec.observation_dtype)
        scalar = tf.TensorSpec([], tf.float32)
        self._chunk_grads = tf.function(
            self._chunk_grads_impl,
            input_signature=[
                obs,
                action_signature(spec),
                tf.TensorSpec([None], tf.float32),
                scalar,
            ],
        )
        grads = [tf.TensorSpec(v.shape, v.dtype) for v in self.model.trainable_variables]
        self._apply = tf.function(self._apply_impl, input_signature=[grads])

    def _policy_model(self) -> keras.Model:
        return self.model

    def _variables(self) -> dict[str, list]:
        """Weights and optimizer slots (unfinished episodes are not kept)."""
        return {"model": self.model.weights, "optimizer": self.optimizer.variables}

    # --- the compiled parts -------------------------------------------------------------------

    def _chunk_grads_impl(
        self, obs: tf.Tensor, actions: tf.Tensor, targets: tf.Tensor, total: tf.Tensor
    ) -> tuple[list[tf.Tensor], dict[str, tf.Tensor]]:
        """Gradients of this chunk's share of the batch loss (sums divided by ``total``)."""
        c = self.config
        with tf.GradientTape() as tape:
            logits, value = self.model(obs, training=True)
            value = tf.squeeze(value, -1)
            logp = self.distribution.log_prob(logits, actions)
            advantages = targets - tf.stop_gradient(value) if c.baseline else targets
            policy_loss = -tf.reduce_sum(advantages * logp) / total
            entropy = self.distribution.entropy(logits)
            loss = policy_loss - c.entropy_coef * tf.reduce_sum(entropy) / total
            value_loss = tf.reduce_sum(tf.square(targets - value)) / total
            if c.baseline:
                loss += c.value_coef * value_loss
        grads = tape.gradient(loss, self.model.trainable_variables)
        grads = [tf.zeros_like(v) if g is None else g
                 for g, v in zip(grads, self.model.trainable_variables, strict=True)]  # fmt: skip
        stats = {"learner/policy_loss": policy_loss, "learner/value_loss": value_loss,
                 "learner/entropy": tf.reduce_sum(entropy) / total}  # fmt: skip
        return grads, stats

    def _apply_impl(self, grads: list[tf.Tensor]) -> tf.Tensor:
        """Clip and apply, unless the gradient holds a NaN/Inf; returns the unclipped norm."""
        norm = tf.linalg.global_norm(grads)

        def step() -> tf.Tensor:
            clipped = grads
            if self.config.max_grad_norm is not None:
                clipped, _ = tf.clip_by_global_norm(grads, self.config.max_grad_norm, norm)
            self.optimizer.apply_gradients(
                zip(clipped, self.model.trainable_variables, strict=True)
            )
            return tf.constant(True)

        tf.cond(tf.math.is_finite(norm), step, lambda: tf.constant(False))
        return norm

    # --- bookkeeping --------------------------------------------------------------------------

    def _collect(self, rollout: Rollout) -> None:
        """Split ``rollout``'s env streams at episode ends; keep the finished episodes."""
        w = rollout.worker_index
        if rollout.env_errors:  # its envs were recreated: the old episodes will not finish
            for key in [k for k in self._partial if k[0] == w]:
                del self._partial[key]
        done = rollout.terminated | rollout.truncated
        for b in range(rollout.rewards.shape[1]):
            start = 0
            for t in [*np.flatnonzero(done[:, b]), None]:
                end = None if t is None else t + 1
                seg = (rollout.observations[start:end, b], rollout.actions[start:end, b],
                       rollout.rewards[start:end, b])  # fmt: skip
                if len(seg[2]):
                    self._partial.setdefault((w, b), []).append(seg)
                if t is not None:
                    parts = self._partial.pop((w, b), [])
                    if parts:
                        self._complete.append(_joined(parts))
                    start = t + 1

    def update(self, rollouts: Sequence[Rollout]) -> UpdateResult:
        start = time.perf_counter()
        self.schedules.advance(sum(r.env_steps for r in rollouts))
        self.env_errors += sum(r.env_errors for r in rollouts)
        lags = [self.version - r.policy_version for r in rollouts]
        self.normalizer.before_step(rollouts)
        for r in self.normalizer.scaled_rewards(rollouts):
            self._collect(r)
        metrics: dict[str, float] = {}
        applied = False
        if len(self._complete) >= self.config.episodes_per_update:
            metrics = self._train(self._complete)
            self.episodes_trained += len(self._complete)
            self._complete = []
            finite = bool(np.isfinite(metrics["learner/grad_norm"]))
            applied = self.guard.record(finite=finite) or finite
        self.normalizer.after_step(rollouts)
        metrics.update(self.normalizer.metrics())
        self.version += int(applied)
        metrics["learner/episodes_trained"] = float(self.episodes_trained)
        metrics["learner/learning_rate"] = float(np.asarray(self.optimizer.learning_rate))
        metrics["learner/pending_episodes"] = float(len(self._partial))
        return self._result(start, metrics, lags, applied=applied, sources=rollouts)

    def _train(self, episodes: list[Segment]) -> dict[str, float]:
        c = self.config
        returns = np.concatenate(
            [discounted_returns(rew, c.gamma, c.reset_at_reward) for _, _, rew in episodes]
        )
        targets = normalize_returns(returns, c.normalize).astype(np.float32)
        obs = np.concatenate([o for o, _, _ in episodes])
        actions = np.concatenate([a for _, a, _ in episodes]).astype(np.int64)  # [N] or [N, K]
        total = tf.constant(float(len(targets)))
        summed: list[tf.Tensor] | None = None
        stats: dict[str, float] = {}
        with tf.device(self.device):
            for i in range(0, len(targets), c.chunk):
                part = slice(i, i + c.chunk)
                grads, chunk_stats = self._chunk_grads(
                    obs[part], actions[part], targets[part], total
                )
                summed = (
                    grads if summed is None else [s + g for s, g in zip(summed, grads, strict=True)]
                )
                for k, v in chunk_stats.items():
                    stats[k] = stats.get(k, 0.0) + float(v)
            assert summed is not None
            stats["learner/grad_norm"] = float(self._apply(summed))
        stats["learner/batch_size"] = float(len(targets))
        stats["learner/episodes_per_update"] = float(len(episodes))
        stats["learner/return_mean"] = float(returns.mean())
        return stats
