"""The A2C learner: Keras model, optimizer, policy-lag control and the compiled train steps.

Usage (what the runtime does, in one process or across Ray)::

    learner = A2CLearner(spec=spec, config=config, seed=seed)
    weights = learner.weights()                 # WeightsMessage(version=0, ...)
    result = learner.update([rollout, ...])     # one gradient step on all fragments
    result = learner.apply_gradients(grads)     # or: one step with a worker's gradients (A3C)
    weights = learner.weights()                 # the new version
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from distrl.agents import data_parallel
from distrl.agents.a2c.config import A2CConfig
from distrl.agents.a2c.losses import A2CLoss, as_floats
from distrl.agents.guard import NonFiniteGuard
from distrl.agents.learner import LearnerBase
from distrl.agents.normalizing import Normalizer
from distrl.agents.scheduling import Schedules
from distrl.config import AlgorithmSections
from distrl.envs import EnvSpec
from distrl.models.builders import build_model
from distrl.schedules import value_at
from distrl.types import FragmentSummary, Gradients, Rollout, UpdateResult


class RMSprop(keras.optimizers.RMSprop):
    """Keras's RMSprop (epsilon inside the square root, as TF1) whose mean-square accumulators
    start at ``ms_init`` instead of 0: TF1's ``RMSPropOptimizer``, and SB3's ``RMSpropTFLike``
    that A2C's references use, start them at 1, so the first updates are about ``lr * g``
    until the accumulators decay (some hundreds of updates at rho 0.99)."""

    def __init__(self, *, ms_init: float = 0.0, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.ms_init = ms_init

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)
        if self.ms_init:
            for ms in self._velocities:
                ms.assign(tf.fill(ms.shape, tf.cast(self.ms_init, ms.dtype)))

    def get_config(self) -> dict:
        return {**super().get_config(), "ms_init": self.ms_init}


def make_optimizer(config: A2CConfig) -> keras.optimizers.Optimizer:
    if config.optimizer == "rmsprop":
        return RMSprop(
            learning_rate=value_at(config.lr, 0.0),
            rho=config.rmsprop_rho,
            epsilon=config.optimizer_eps,
            ms_init=config.rmsprop_ms_init,
        )
    return keras.optimizers.Adam(learning_rate=value_at(config.lr, 0.0),
                                 epsilon=config.optimizer_eps)  # fmt: skip


class A2CLearner(LearnerBase):
    """Advantage actor-critic on fragments of experience (A2C), or on workers' gradients (A3C).

    Every fragment or gradient carries the weights version it was acted with; its *policy lag*
    is how many updates the learner has made since. Data lagging more than
    ``lag.max_policy_lag`` is counted, then discarded or (trajectories, ``lag.stale_data:
    correct``) trained on with V-trace.
    """

    normalizer: Normalizer  # always set here (the base class allows None)
    schedules: Schedules

    COUNTERS = ("stale_discarded", "stale_corrected")
    NOT_WARMED = ("_gradients", "_gradients_own_baseline")  # the A3C workers' (A2CLoss)

    def __init__(
        self, *, spec: EnvSpec, sections: AlgorithmSections, seed: int, device: str = "/CPU:0"
    ) -> None:
        self.spec = spec
        self.config: A2CConfig = sections.own
        self.lag = sections.lag  # correction resolved for this run's loop
        self.device = device
        self.version = 0  # weights version: updates applied
        self.stale_discarded = 0  # fragments or gradients dropped for exceeding max_policy_lag
        self.stale_corrected = 0  # fragments beyond it trained on with V-trace instead
        self.env_errors = 0  # env exceptions the workers recovered from (reported with data)
        keras.utils.set_random_seed(seed)
        with tf.device(device):
            self.model = build_model(spec, sections.model, sections.normalize)
            self.optimizer = make_optimizer(self.config)
            self.optimizer.build(self.model.trainable_variables)
        self.normalizer = Normalizer(sections.normalize, self.model)
        self.schedules = Schedules(sections.budget)
        self.schedules.track("learning_rate", self.config.lr, self.optimizer.learning_rate)
        self.loss = A2CLoss(self.model, spec, self.config, device,
                            burn_in=sections.model.lstm_burn_in)  # fmt: skip
        # Updates skipped for a NaN/Inf loss or gradient; rollback after too many in a row.
        self.guard = NonFiniteGuard.of_section(
            sections.nonfinite, self._variables, [self.optimizer]
        )
        self._train_step = tf.function(
            self._train_step_impl, input_signature=self.loss.batch_signature
        )
        self._train_step_own_baseline = tf.function(
            self._train_step_own_baseline_impl, input_signature=self.loss.baseline_signature
        )
        grad_signature = [[tf.TensorSpec(v.shape, v.dtype) for v in self.model.trainable_variables]]
        self._apply_step = tf.function(self._apply_impl, input_signature=grad_signature)

    def _policy_model(self) -> keras.Model:
        """The actor-critic: obs -> [logits, value] (published and saved whole)."""
        return self.model

    def _variables(self) -> dict[str, list]:
        return {"model": self.model.weights, "optimizer": self.optimizer.variables}

    # --- the compiled parts -------------------------------------------------------------------

    def _apply_impl(self, grads: list[tf.Tensor]) -> tf.Tensor:
        """Clip by global norm and take one optimizer step; returns the unclipped norm.

        A NaN or Inf anywhere in the gradients makes the norm non-finite: then nothing is
        applied (the weights and the optimizer's moments stay as they were).
        """
        grad_norm = tf.linalg.global_norm(grads)

        def step() -> tf.Tensor:
            clipped = grads
            if self.config.max_grad_norm is not None:
                clipped, _ = tf.clip_by_global_norm(
                    grads, self.config.max_grad_norm, use_norm=grad_norm
                )
            self.optimizer.apply_gradients(
                zip(clipped, self.model.trainable_variables, strict=True)
            )
            return tf.constant(True)

        tf.cond(tf.math.is_finite(grad_norm), step, lambda: tf.constant(False))
        return grad_norm

    def _train_step_impl(
        self, obs: tf.Tensor, actions: tf.Tensor, advantages: tf.Tensor, targets: tf.Tensor
    ) -> dict[str, tf.Tensor]:
        grads, stats = self.loss.gradients(obs, actions, advantages, targets)
        return {**stats, "learner/grad_norm": self._apply_impl(grads)}

    def _train_step_own_baseline_impl(
        self, obs: tf.Tensor, actions: tf.Tensor, targets: tf.Tensor
    ) -> dict[str, tf.Tensor]:
        return self._train_step_impl(obs, actions, None, targets)

    # --- bookkeeping around them --------------------------------------------------------------

    def _stepped(self, grad_norm: float) -> bool:
        """Did the weights change? A non-finite gradient norm means the step was skipped (and
        counted); after ``nonfinite_limit`` in a row the guard rolls the weights back."""
        finite = bool(np.isfinite(grad_norm))
        rolled_back = self.guard.record(finite=finite)
        return finite or rolled_back

    def _is_stale(self, policy_version: int) -> bool:
        bound = self.lag.max_policy_lag
        return bound is not None and self.version - policy_version > bound

    def update(self, rollouts: Sequence[Rollout]) -> UpdateResult:
        """One gradient step on the concatenation of ``rollouts`` (all of the same length)."""
        if self.group is not None:
            return self._update_in_group(rollouts)
        start = time.perf_counter()
        self.schedules.advance(sum(r.env_steps for r in rollouts))
        lags, use, stale = self._admit(rollouts, self.lag)
        use = self.normalizer.scaled_rewards(use)
        self.normalizer.before_step(use)
        metrics: dict[str, float] = {}
        applied = False  # stays so if all was stale and discarded, or the step was not finite
        if use:
            cpu = time.process_time()  # where the learner's CPU goes (benchmarks/atari_breakdown)
            batch, metrics = self.loss.prepare(use, use_vtrace=self.lag.vtrace or stale)
            targets_cpu = time.process_time()
            own_baseline = batch.advantages is None
            step = self._train_step_own_baseline if own_baseline else self._train_step
            with tf.device(self.device):
                stats = step(*batch.tensors())
            metrics.update(as_floats(stats))
            metrics["learner/batch_size"] = float(len(batch.actions))
            metrics["timing/targets_cpu_s"] = targets_cpu - cpu
            metrics["timing/train_step_cpu_s"] = time.process_time() - targets_cpu
            applied = self._stepped(metrics["learner/grad_norm"])
        self.normalizer.after_step(use)
        metrics.update(self.normalizer.metrics())
        self.version += int(applied)
        return self._result(start, metrics, lags, applied=applied, sources=rollouts)

    def _update_in_group(self, rollouts: Sequence[Rollout]) -> UpdateResult:
        """:meth:`update` as one of several data-parallel learners (``rollouts``: this one's
        share of the batch, perhaps none): the group's mean gradient, the same step on all."""
        assert self.group is not None
        start = time.perf_counter()
        steps = data_parallel.total(self.group, sum(r.env_steps for r in rollouts))
        self.schedules.advance(int(steps))
        lags, use, stale = self._admit(rollouts, self.lag)
        metrics: dict[str, float] = {}
        grads, rows = None, 0
        if use:
            batch, metrics = self.loss.prepare(use, use_vtrace=self.lag.vtrace or stale)
            grads, stats = self.loss.compute_gradients(batch)
            metrics.update(stats)
            rows = len(batch.actions)
        shapes = [tuple(v.shape) for v in self.model.trainable_variables]
        flat = None if grads is None else data_parallel.ravel(grads)
        size = sum(int(np.prod(s)) for s in shapes)
        mean, _ = data_parallel.mean_gradients(self.group, flat, rows, size)
        applied = False
        if mean is not None:
            with tf.device(self.device):
                grad_norm = float(self._apply_step(data_parallel.unravel(mean, shapes)))
            metrics["learner/grad_norm"] = grad_norm
            applied = self._stepped(grad_norm)
        metrics["learner/batch_size"] = float(rows)
        self.version += int(applied)
        return self._result(start, metrics, lags, applied=applied, sources=rollouts)

    def apply_gradients(self, gradients: Gradients) -> UpdateResult:
        """A3C: one optimizer step with a worker's gradients, unless they are too stale."""
        start = time.perf_counter()
        self.schedules.advance(gradients.env_steps)
        self.env_errors += gradients.env_errors
        lag = self.version - gradients.policy_version
        applied = not self._is_stale(gradients.policy_version)
        metrics = dict(gradients.metrics)
        if applied:
            with tf.device(self.device):
                grad_norm = float(self._apply_step(gradients.grads))
            metrics["learner/grad_norm"] = grad_norm
            applied = self._stepped(grad_norm)
            self.version += int(applied)
        else:
            self.stale_discarded += 1
        return self._result(start, metrics, [lag], applied=applied, sources=[gradients])

    def _result(
        self,
        start: float,
        metrics: dict[str, float],
        lags: list[int],
        *,
        applied: bool,
        sources: Sequence[Rollout | Gradients | FragmentSummary],
    ) -> UpdateResult:
        metrics["learner/stale_discarded"] = float(self.stale_discarded)
        metrics["learner/stale_corrected"] = float(self.stale_corrected)
        metrics["learner/learning_rate"] = float(np.asarray(self.optimizer.learning_rate))
        return super()._result(start, metrics, lags, applied=applied, sources=sources)
