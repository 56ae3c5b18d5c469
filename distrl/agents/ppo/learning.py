"""The PPO learner: targets for a batch of fragments, then ``n_epochs`` passes of shuffled
minibatches of the clipped objective, and one new weights version per batch.

Usage (what the runtime does, in one process or across Ray)::

    learner = PPOLearner(spec=spec, config=config, seed=seed)
    result = learner.update([rollout, ...])     # epochs of minibatch steps on these fragments
    weights = learner.weights()                 # the new version

Fresh data (sync mode) gets GAE(lambda) targets. Data acted with an older version (mode async,
``overlap``, or a straggler) gets V-trace targets and advantages instead, as APPO does; the
ratio is always taken against the acting policy's log-probs, which the workers record.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from distrl import distributions
from distrl.agents import data_parallel, recurrent
from distrl.agents.fragments import done_positions, explained_variance, flat_actions_of
from distrl.agents.guard import NonFiniteGuard
from distrl.agents.learner import LearnerBase
from distrl.agents.normalizing import Normalizer
from distrl.agents.ppo.config import PPOConfig
from distrl.agents.ppo.losses import Minibatch, ppo_terms
from distrl.agents.scheduling import Schedules
from distrl.config import AlgorithmSections
from distrl.distributions.tensorflow_forms import action_signature
from distrl.distributions.tensorflow_forms import for_spec as tf_distribution_for
from distrl.envs import EnvSpec
from distrl.models.builders import build_model
from distrl.returns import gae, vtrace
from distrl.schedules import value_at
from distrl.types import Rollout, UpdateResult

EVAL_CHUNK = 4096  # rows per forward pass when computing the targets (bounds memory on images)


class PPOLearner(LearnerBase):
    """Proximal policy optimisation on the A2C actor-critic model (``model.*``)."""

    normalizer: Normalizer  # always set here (the base class allows None)
    schedules: Schedules

    COUNTERS = ("stale_discarded", "stale_corrected", "early_stops")
    NOT_WARMED = ("_minibatch_gradients", "_apply_step")  # data-parallel learners' only

    def __init__(
        self, *, spec: EnvSpec, sections: AlgorithmSections, seed: int, device: str = "/CPU:0"
    ) -> None:
        self.spec = spec
        self.config: PPOConfig = sections.own
        c = self.config
        self.lag = sections.lag  # correction resolved for this run's loop
        self.device = device
        self.version = 0
        self.stale_discarded = 0  # fragments dropped for exceeding max_policy_lag
        self.stale_corrected = 0  # fragments beyond it trained on with V-trace instead
        self.early_stops = 0  # batches whose epochs target_kl cut short
        self.env_errors = 0
        keras.utils.set_random_seed(seed)
        self.rng = np.random.default_rng(seed)
        with tf.device(device):
            self.model = build_model(spec, sections.model, sections.normalize)
            self.optimizer = keras.optimizers.Adam(learning_rate=value_at(c.lr, 0.0),
                                                   epsilon=c.optimizer_eps)  # fmt: skip
            self.optimizer.build(self.model.trainable_variables)
            self.normalizer = Normalizer(sections.normalize, self.model)
            self.schedules = Schedules(sections.budget)
            self.schedules.track("learning_rate", c.lr, self.optimizer.learning_rate)
            self.clip_range = self.schedules.value("clip_range", c.clip_range)
            self.entropy_coef = self.schedules.value("entropy_coef", c.entropy_coef)
        self.guard = NonFiniteGuard.of_section(
            sections.nonfinite, self._variables, [self.optimizer]
        )
        obs = tf.TensorSpec([None, *spec.observation_shape], spec.observation_dtype)
        rows = tf.TensorSpec([None], tf.float32)
        self.distribution = distributions.for_spec(spec)  # NumPy, for V-trace's log-probs
        self.tf_distribution = tf_distribution_for(spec)  # the loss's
        order = tf.TensorSpec([None, None], tf.int32)  # [epochs, N]: each epoch's shuffle
        size = tf.TensorSpec([], tf.int32)  # rows (or, recurrent, sequences) per minibatch
        self.state_size = recurrent.state_size(self.model)  # 0: feed-forward
        self.burn_in = sections.model.lstm_burn_in
        signature = [obs, action_signature(spec), rows, rows, rows, rows, order, size]
        if self.state_size:  # whole fragments [T, B, ...]: minibatches of env copies' sequences
            seq_obs, resets, state0 = recurrent.sequence_signature(spec, self.state_size)
            act = action_signature(spec)
            cols = tf.TensorSpec([None, None], tf.float32)
            seq_act = tf.TensorSpec([None, *act.shape], act.dtype)
            signature = [seq_obs, seq_act, cols, cols, cols, cols, resets, state0, order, size]
            self._evaluate_rows = tf.function(
                lambda x, state: self.model([x, state], training=False)[1][:, 0],
                input_signature=[obs, state0],
            )
            self._evaluate = tf.function(
                lambda *seq: recurrent.unroll(self.model, *seq),
                input_signature=[seq_obs, resets, state0],
            )
        else:
            self._evaluate = tf.function(
                lambda x: self.model(x, training=False), input_signature=[obs]
            )
        self._epochs_call = tf.function(self._epochs_impl, input_signature=signature)
        self._gradients = self._loss_gradients
        # Data-parallel learners (``join_group``) step minibatch by minibatch from Python: the
        # group's mean gradient comes between each minibatch's gradient and its step.
        self._minibatch_gradients = tf.function(self._flat_gradients, input_signature=signature[:6])
        flat = tf.TensorSpec([sum(v.shape.num_elements() for v in self.model.trainable_variables)])
        self._apply_step = tf.function(self._apply_impl, input_signature=[flat])
        if self.state_size:
            self._gradients = recurrent.compiled_gradients(self._loss_gradients)

    def _policy_model(self) -> keras.Model:
        return self.model

    def _variables(self) -> dict[str, list]:
        return {"model": self.model.weights, "optimizer": self.optimizer.variables}

    # --- one minibatch step (compiled) --------------------------------------------------------

    def _forward(self, rows: Sequence[tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor, Minibatch]:
        """``(params, values [N], the minibatch as rows)``: a recurrent model's sequences are
        unrolled, and their rows after the burn-in flattened in time-major order."""
        if not self.state_size:
            batch = Minibatch(*rows)
            logits, values = self.model(batch.obs, training=True)
            return logits, tf.squeeze(values, -1), batch
        *fields, resets, state0 = rows
        seq = Minibatch(*fields)
        logits, values, _ = recurrent.unroll(self.model, seq.obs, resets, state0,
                                             burn_in=self.burn_in, training=True)  # fmt: skip
        K = self.burn_in
        flat = [recurrent.flatten(x[K:]) for x in fields[1:]]
        return logits, values, Minibatch(None, *flat)

    def _loss_gradients(self, *rows: tf.Tensor) -> tuple[list[tf.Tensor], dict[str, tf.Tensor]]:
        c = self.config
        with tf.GradientTape() as tape:
            logits, values, batch = self._forward(rows)
            terms = ppo_terms(
                logits, values, batch,
                clip=self.clip_range, clip_vf=c.clip_range_vf, normalize=c.normalize_advantages,
                distribution=self.tf_distribution,
            )  # fmt: skip
            loss = (
                terms["policy_loss"]
                + c.value_coef * terms["value_loss"]
                - self.entropy_coef * terms["entropy"]
            )
        return tape.gradient(loss, self.model.trainable_variables), terms

    def _step_impl(self, *rows: tf.Tensor) -> dict[str, tf.Tensor]:
        c = self.config
        variables = self.model.trainable_variables
        grads, terms = self._gradients(*rows)
        norm = tf.linalg.global_norm(grads)

        def apply() -> tf.Tensor:
            clipped = grads
            if c.max_grad_norm is not None:
                clipped, _ = tf.clip_by_global_norm(grads, c.max_grad_norm, use_norm=norm)
            self.optimizer.apply_gradients(zip(clipped, variables, strict=True))
            return tf.constant(True)

        # SB3's early stop: a minibatch whose policy moved too far is not stepped on, and the
        # batch's epochs end. A NaN/Inf anywhere also leaves the weights and moments untouched.
        kl_limit = np.inf if c.target_kl is None else 1.5 * c.target_kl
        kl_stop = terms["approx_kl"] > kl_limit
        ok = tf.math.is_finite(norm) & tf.logical_not(kl_stop)
        tf.cond(ok, apply, lambda: tf.constant(False))
        return {**terms, "grad_norm": norm, "kl_stop": tf.cast(kl_stop, tf.float32)}

    def _flat_gradients(self, *rows: tf.Tensor) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """A minibatch's gradients as one vector (what data-parallel learners sum)."""
        grads, terms = self._loss_gradients(*rows)
        return tf.concat([tf.reshape(g, [-1]) for g in grads], 0), terms

    def _apply_impl(self, flat: tf.Tensor) -> tf.Tensor:
        """Clip by global norm and step, unless a gradient is not finite; the unclipped norm.
        ``flat``: the gradients as one vector (:meth:`_flat_gradients`)."""
        c = self.config
        variables = self.model.trainable_variables
        sizes = [v.shape.num_elements() for v in variables]
        grads = [
            tf.reshape(g, v.shape) for g, v in zip(tf.split(flat, sizes), variables, strict=True)
        ]
        norm = tf.linalg.global_norm(grads)

        def apply() -> tf.Tensor:
            clipped = grads
            if c.max_grad_norm is not None:
                clipped, _ = tf.clip_by_global_norm(grads, c.max_grad_norm, use_norm=norm)
            self.optimizer.apply_gradients(
                zip(clipped, self.model.trainable_variables, strict=True)
            )
            return tf.constant(True)

        tf.cond(tf.math.is_finite(norm), apply, lambda: tf.constant(False))
        return norm

    def _epochs_impl(self, *rows_and_order: tf.Tensor) -> dict[str, tf.Tensor]:
        """Every minibatch step of one batch in one compiled call (per-call overheads dominate
        small models otherwise). ``order[e]`` is epoch ``e``'s shuffle; the last minibatch of an
        epoch may be smaller, as in SB3. Stops at the first minibatch past ``target_kl``."""
        *rows, order, size = rows_and_order
        n = tf.shape(order)[1]
        per_epoch = (n + size - 1) // size
        keys = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "grad_norm")
        sums = {k: tf.constant(0.0) for k in keys}
        steps, finite, stopped = tf.constant(0), tf.constant(0), tf.constant(False)
        for k in tf.range(tf.shape(order)[0] * per_epoch):
            if stopped:
                break
            lo = (k % per_epoch) * size
            idx = order[k // per_epoch, lo : tf.minimum(lo + size, n)]
            out = self._step_impl(*self._gather(rows, idx))
            stopped = out["kl_stop"] > 0
            if not stopped:
                steps += 1
                finite += tf.cast(tf.math.is_finite(out["grad_norm"]), tf.int32)
                sums = {key: sums[key] + tf.cast(out[key], tf.float32) for key in keys}
        return {**sums, "steps": steps, "finite": finite, "stopped": stopped}

    def _gather(self, rows: Sequence[tf.Tensor], idx: tf.Tensor) -> list[tf.Tensor]:
        """A minibatch: rows ``idx``, or (recurrent) the sequences of env copies ``idx``."""
        if not self.state_size:
            return [tf.gather(x, idx) for x in rows]
        *columns, state0 = rows
        return [*(tf.gather(x, idx, axis=1) for x in columns), tf.gather(state0, idx)]

    # --- a batch ------------------------------------------------------------------------------

    def _values_and_logp(self, obs: np.ndarray, actions: np.ndarray | None) -> tuple:
        """V of every row and (with ``actions``) log pi(a | s) of the first ``len(actions)``
        rows, under the current weights, in chunks."""
        values, logits_ = [], []
        with tf.device(self.device):
            for i in range(0, len(obs), EVAL_CHUNK):
                logits, v = self._evaluate(obs[i : i + EVAL_CHUNK])
                values.append(v.numpy()[:, 0])
                logits_.append(logits.numpy())
        if actions is None:
            return np.concatenate(values), None
        # The first len(actions) rows are the acted ones (the rest: bootstrap observations).
        acted = np.concatenate(logits_)[: len(actions)]
        return np.concatenate(values), self.distribution.log_prob(acted, actions)

    def prepare(self, rollouts: Sequence[Rollout], *, lagged: bool) -> tuple[tuple, dict]:
        """The batch of ``rollouts`` (all of one length) with GAE targets, or with V-trace's
        when ``lagged``: a :class:`Minibatch` of rows, or (recurrent) its fields as sequences
        [T, B, ...] followed by the resets and initial states."""
        c = self.config
        rewards = np.concatenate([r.rewards for r in rollouts], axis=1)  # [T, B]
        T, B = rewards.shape
        terminated = np.concatenate([r.terminated for r in rollouts], axis=1)
        truncated = np.concatenate([r.truncated for r in rollouts], axis=1)
        actions = flat_actions_of(np.concatenate([r.actions for r in rollouts], axis=1), self.spec)
        behaviour = np.concatenate([r.behaviour_logp for r in rollouts], axis=1)  # [T, B]
        last_obs = np.concatenate([r.last_observations for r in rollouts], axis=0)
        final_obs = np.concatenate([r.final_observations for r in rollouts], axis=0)
        obs = np.concatenate([r.observations for r in rollouts], axis=1)  # [T, B, *obs]
        flat_obs = obs.reshape(T * B, *obs.shape[2:])
        if self.state_size:
            values, next_values, logp, seq = self._recurrent_values(
                rollouts, obs, last_obs, final_obs, actions if lagged else None
            )
        else:
            rows = np.concatenate([flat_obs, last_obs, final_obs])
            v_all, logp = self._values_and_logp(rows, actions if lagged else None)
            values = v_all[: T * B].reshape(T, B)
            next_values = np.concatenate([values[1:], v_all[T * B : T * B + B][None]])
            next_values[done_positions(rollouts)] = v_all[T * B + B :]
        stats: dict[str, float] = {}
        if lagged:
            assert logp is not None
            target = logp[: T * B].reshape(T, B)
            vt = vtrace(behaviour, target, rewards, values, next_values, terminated, truncated,
                        gamma=c.gamma, rho_bar=c.vtrace_rho_bar, c_bar=c.vtrace_c_bar)  # fmt: skip
            targets, advantages = vt.targets, vt.advantages
            stats["learner/vtrace_rho_mean"] = float(np.exp(target - behaviour).mean())
        else:
            advantages, targets = gae(rewards, values, next_values, terminated, truncated,
                                      gamma=c.gamma, lam=c.gae_lambda)  # fmt: skip
        if (ev := explained_variance(values, targets)) is not None:
            stats["learner/explained_variance"] = ev
        batch = Minibatch(
            obs=flat_obs,
            actions=actions,
            old_logp=behaviour.reshape(-1).astype(np.float32),
            advantages=advantages.reshape(-1).astype(np.float32),
            returns=targets.reshape(-1).astype(np.float32),
            old_values=values.reshape(-1).astype(np.float32),
        )
        if self.state_size:  # every row field back to [T, B, ...], and the unroll's inputs
            columns = [x.reshape(T, B, *x.shape[1:]) for x in batch[1:]]
            return (seq.obs, *columns, seq.resets, seq.state0), stats
        return batch, stats

    def _recurrent_values(
        self,
        rollouts: Sequence[Rollout],
        obs: np.ndarray,
        last_obs: np.ndarray,
        final_obs: np.ndarray,
        actions: np.ndarray | None,
    ) -> tuple:
        """V(s_t) [T, B], the values bootstrapped from [T, B], log pi(a | s) [T*B] (with
        ``actions``) and the sequences, by unrolling the fragments from their initial states."""
        seq = recurrent.Sequences.of(rollouts, self.state_size, obs)
        T, B = seq.resets.shape
        with tf.device(self.device):
            logits, v, after = self._evaluate(*seq.tensors())
            rows, states = recurrent.bootstrap_rows(rollouts, last_obs, final_obs, after.numpy())
            v_boot = self._evaluate_rows(rows, states).numpy()
        values = v.numpy().reshape(T, B)
        next_values = np.concatenate([values[1:], v_boot[:B][None]])
        next_values[done_positions(rollouts)] = v_boot[B:]
        logp = None if actions is None else self.distribution.log_prob(logits.numpy(), actions)
        return values, next_values, logp, seq

    def update(self, rollouts: Sequence[Rollout]) -> UpdateResult:
        """``n_epochs`` passes of shuffled minibatches over the concatenated ``rollouts``."""
        start = time.perf_counter()
        steps = sum(r.env_steps for r in rollouts)
        if self.group is not None:  # the schedules follow the whole batch's env steps
            steps = int(data_parallel.total(self.group, steps))
        self.schedules.advance(steps)
        lags, use, _ = self._admit(rollouts, self.lag)
        use = self.normalizer.scaled_rewards(use)
        self.normalizer.before_step(use)
        metrics: dict[str, float] = {}
        applied = False
        cpu = time.process_time()  # where the learner's CPU goes (benchmarks/atari_breakdown)
        if use:
            lagged = self.lag.vtrace or any(self.version != r.policy_version for r in use)
            batch, metrics = self.prepare(use, lagged=lagged)
        targets_cpu = time.process_time()
        if self.group is not None:  # the group steps together, with or without rows here
            applied = self._epochs_in_group(batch if use else None, metrics)
        elif use:
            applied = self._epochs(batch, metrics)
        metrics["timing/targets_cpu_s"] = targets_cpu - cpu
        metrics["timing/train_step_cpu_s"] = time.process_time() - targets_cpu
        if use:
            rows = np.size(batch[2])  # old_logp: [N], or [T, B] of sequences
            metrics["learner/batch_size"] = float(rows - self.burn_in * batch[2].shape[-1]
                                                  if self.state_size else rows)  # fmt: skip
        self.normalizer.after_step(use)
        metrics.update(self.normalizer.metrics())
        self.version += int(applied)
        metrics["learner/stale_discarded"] = float(self.stale_discarded)
        metrics["learner/stale_corrected"] = float(self.stale_corrected)
        metrics["learner/early_stops"] = float(self.early_stops)
        metrics["learner/learning_rate"] = float(np.asarray(self.optimizer.learning_rate))
        metrics.update(self.schedules.metrics())
        return self._result(start, metrics, lags, applied=applied, sources=rollouts)

    def _epochs(self, batch: Sequence[np.ndarray], metrics: dict[str, float]) -> bool:
        """The minibatch steps of one batch; True if the weights changed. A recurrent model's
        minibatches are whole sequences: ``minibatch_size`` rows' worth of env copies."""
        c, n, size = self.config, len(batch[1]), self.config.minibatch_size
        if self.state_size:
            T, n = batch[2].shape
            size = max(1, round(size / (T - self.burn_in)))
        order = np.stack([self.rng.permutation(n) for _ in range(c.n_epochs)]).astype(np.int32)
        with tf.device(self.device):
            out = self._epochs_call(*batch, order, np.int32(size))
        steps, finite = int(out.pop("steps")), int(out.pop("finite"))
        self.early_stops += int(bool(out.pop("stopped")))
        if steps:
            metrics.update({f"learner/{k}": float(v) / steps for k, v in out.items()})
        metrics["learner/minibatch_steps"] = float(steps)
        if steps == 0:  # the first minibatch already passed target_kl: nothing changed
            return False
        rolled_back = self.guard.record(finite=finite == steps)
        return finite > 0 or rolled_back

    def _epochs_in_group(self, batch: tuple | None, metrics: dict[str, float]) -> bool:
        """:meth:`_epochs` as one of several data-parallel learners (``batch``: this one's
        share, or None). Every learner takes ``ceil(group rows / minibatch_size)`` minibatch
        steps per epoch, on that many near-equal slices of its shuffled share, and applies the
        group's mean gradient; the mean approximate KL decides the early stop for all."""
        assert self.group is not None
        c = self.config
        n = 0 if batch is None else len(batch[1])  # a Minibatch's actions
        n_total = int(data_parallel.total(self.group, n))
        if n_total == 0:
            return False
        slices = data_parallel.shares(n, -(-n_total // c.minibatch_size))
        size = sum(v.shape.num_elements() for v in self.model.trainable_variables)
        kl_limit = np.inf if c.target_kl is None else 1.5 * c.target_kl
        keys = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction")
        sums = dict.fromkeys((*keys, "grad_norm"), 0.0)
        steps = finite = local = 0
        rows = () if batch is None else batch
        for _ in range(c.n_epochs):
            order = self.rng.permutation(n)
            for part in slices:
                idx = order[part]
                flat, terms, kl = None, {}, 0.0
                if len(idx):
                    with tf.device(self.device):
                        grads, terms = self._minibatch_gradients(*(x[idx] for x in rows))
                    flat, kl = grads.numpy(), float(terms["approx_kl"])
                mean, (kl_mean,) = data_parallel.mean_gradients(
                    self.group, flat, len(idx), size, extras=[kl]
                )
                if mean is None:
                    continue
                if kl_mean > kl_limit:  # the same decision on every learner
                    self.early_stops += 1
                    break
                with tf.device(self.device):
                    norm = float(self._apply_step(mean))
                steps += 1
                finite += int(np.isfinite(norm))
                sums["grad_norm"] += norm
                if terms:
                    local += 1
                    for k in keys:
                        sums[k] += float(terms[k])
            else:
                continue
            break
        if local:
            metrics.update({f"learner/{k}": sums[k] / local for k in keys})
        if steps:
            metrics["learner/grad_norm"] = sums["grad_norm"] / steps
        metrics["learner/minibatch_steps"] = float(steps)
        if steps == 0:
            return False
        rolled_back = self.guard.record(finite=finite == steps)
        return finite > 0 or rolled_back
