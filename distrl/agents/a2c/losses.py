"""The A2C objective: targets from fragments (NumPy) and the loss and its gradients (TensorFlow).

Shared by the learner (which applies the gradients itself) and, in ``--async-unit gradients``, by
the rollout workers (which send theirs to the learner). Usage::

    loss = A2CLoss(model, spec, config.a2c)
    batch, stats = loss.prepare(rollouts, use_vtrace=False)
    grads, more_stats = loss.compute_gradients(batch)   # NumPy arrays, one per variable

With n-step returns and no V-trace the targets need only the values where the returns are
bootstrapped (after each fragment's last step and at episode ends): ``prepare`` evaluates those
rows alone and leaves ``Batch.advantages`` as None; the gradient step then takes the baseline
V(s_t) from its own forward pass (``targets - stop_gradient(V(s_t))``, standardised there if
configured). That skips a forward pass over the whole batch, a third of the learner's time on
Pong. The baseline then comes from the model in training mode (the same pass as the value loss):
identical for models without dropout or batch normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from distrl import distributions
from distrl.agents import recurrent
from distrl.agents.a2c.config import A2CConfig
from distrl.agents.fragments import done_positions, explained_variance, flat_actions_of
from distrl.distributions import tensorflow_forms
from distrl.envs import EnvSpec
from distrl.returns import gae, nstep_returns, vtrace
from distrl.types import Rollout


class Batch(NamedTuple):
    """One flattened training batch, ``N = T * B`` rows."""

    obs: np.ndarray | recurrent.Sequences  # [N, *obs] env dtype; a recurrent model's sequences
    actions: np.ndarray  # [N] int64, or [N, A] float32 for a Gaussian policy
    advantages: np.ndarray | None  # [N] float32; None: targets - V(s_t) in the gradient step
    targets: np.ndarray  # [N] float32: value targets

    def tensors(self) -> tuple[Any, ...]:
        """The arguments of the compiled step: advantages only where they were computed."""
        obs = tuple(self.obs) if isinstance(self.obs, recurrent.Sequences) else self.obs
        if self.advantages is None:
            return obs, self.actions, self.targets
        return obs, self.actions, self.advantages, self.targets


class A2CLoss:
    """Policy gradient x advantage, value regression and an entropy bonus on a Keras model."""

    def __init__(
        self,
        model: keras.Model,
        spec: EnvSpec,
        config: A2CConfig,
        device: str = "/CPU:0",
        *,
        burn_in: int = 0,
    ) -> None:
        self.model = model
        self.config = config
        self.device = device
        self.state_size = recurrent.state_size(model)  # 0: feed-forward
        self.burn_in = burn_in  # recurrent: steps of each fragment that only warm the state
        row_spec = tf.TensorSpec([None, *spec.observation_shape], spec.observation_dtype)
        obs_spec: tf.TensorSpec | tuple = row_spec
        if self.state_size:  # obs, resets and initial states of whole fragments
            obs_spec = recurrent.sequence_signature(spec, self.state_size)
            state_spec = tf.TensorSpec([None, self.state_size], tf.float32)
            self._evaluate_rows = tf.function(
                lambda obs, state: self.model([obs, state], training=False)[1][:, 0],
                input_signature=[row_spec, state_spec],
            )
            # the learner traces this inside its own step; compiled with the unroll (XLA)
            self.gradients = recurrent.compiled_gradients(self.gradients)  # type: ignore[method-assign]
        self.spec = spec
        self.distribution = distributions.for_spec(spec)  # NumPy: V-trace's log-probs
        self.tf_distribution = tensorflow_forms.for_spec(spec)  # the loss's
        self.batch_signature = [
            obs_spec,
            tensorflow_forms.action_signature(spec),
            tf.TensorSpec([None], tf.float32),  # advantages
            tf.TensorSpec([None], tf.float32),  # value targets
        ]
        # A batch whose advantages the step computes from its own values (Batch.advantages None)
        self.baseline_signature = [*self.batch_signature[:2], self.batch_signature[3]]
        self._evaluate = tf.function(self._evaluate_impl, input_signature=[obs_spec])
        self._gradients = tf.function(self.gradients, input_signature=self.batch_signature)
        self._gradients_own_baseline = tf.function(
            self.gradients_own_baseline, input_signature=self.baseline_signature
        )

    # --- NumPy side: targets ------------------------------------------------------------------

    def prepare(self, rollouts: Sequence[Rollout], *, use_vtrace: bool) -> tuple[Batch, dict]:
        """Targets and advantages for the concatenation of ``rollouts`` (all of one length).

        With ``use_vtrace`` they are V-trace's, importance-weighted by the current policy against
        the behaviour log-probs the workers recorded; else GAE(lambda) or n-step returns.
        """
        c = self.config
        if self.state_size:
            return self._prepare_recurrent(rollouts, use_vtrace=use_vtrace)
        obs = np.concatenate([r.observations for r in rollouts], axis=1)  # [T, B, *obs]
        T, B = obs.shape[:2]
        last_obs = np.concatenate([r.last_observations for r in rollouts], axis=0)  # [B, *obs]
        final_obs = np.concatenate([r.final_observations for r in rollouts], axis=0)  # [K, *obs]
        flat_obs = obs.reshape(T * B, *obs.shape[2:])  # [T*B, *obs]
        if not use_vtrace and c.advantage == "nstep":
            rewards = np.concatenate([r.rewards for r in rollouts], axis=1)  # [T, B]
            terminated = np.concatenate([r.terminated for r in rollouts], axis=1)
            truncated = np.concatenate([r.truncated for r in rollouts], axis=1)
            actions = np.concatenate([r.actions for r in rollouts], axis=1)
            flat_actions = flat_actions_of(actions, self.spec)
            # Only the bootstrap rows: V(after the last step) and V(true final observation)
            # where an episode ended. The step subtracts its own V(s_t) (module docstring).
            with tf.device(self.device):
                _, v_boot = self._evaluate(np.concatenate([last_obs, final_obs]))
            v_boot = v_boot.numpy()
            next_values = np.zeros((T, B), dtype=np.float32)  # read only where bootstrapped
            next_values[-1] = v_boot[:B]
            next_values[done_positions(rollouts)] = v_boot[B:]
            targets = nstep_returns(rewards, next_values, terminated, truncated, gamma=c.gamma)
            return Batch(flat_obs, flat_actions, None, targets.reshape(-1).astype(np.float32)), {}

        # One forward pass for every value the targets need: V(s_t), V(after the last step) and
        # V(true final observation) where an episode ended (bootstrapped from after a truncation,
        # ignored after a termination); logits only for V-trace's pi. This is T*B + B + K rows,
        # not the 2*T*B of evaluating every next observation.
        with tf.device(self.device):
            logits, v_all = self._evaluate(np.concatenate([flat_obs, last_obs, final_obs]))
        v_all = v_all.numpy()
        values = v_all[: T * B].reshape(T, B)  # [T, B]
        next_values = np.concatenate([values[1:], v_all[T * B : T * B + B][None]])  # [T, B]
        next_values[done_positions(rollouts)] = v_all[T * B + B :]
        return self._targets(rollouts, flat_obs, logits.numpy()[: T * B], values, next_values,
                             use_vtrace=use_vtrace)  # fmt: skip

    def _prepare_recurrent(self, rollouts: Sequence[Rollout], *, use_vtrace: bool) -> tuple:
        """:meth:`prepare` for a recurrent model: the values come from unrolling each fragment
        from its initial state; the bootstrap values from the state after the step before."""
        seq = recurrent.Sequences.of(rollouts, self.state_size)
        T, B = seq.resets.shape
        last_obs = np.concatenate([r.last_observations for r in rollouts], axis=0)
        final_obs = np.concatenate([r.final_observations for r in rollouts], axis=0)
        with tf.device(self.device):
            logits, v, after = self._evaluate(seq.tensors())
            rows, states = recurrent.bootstrap_rows(rollouts, last_obs, final_obs, after.numpy())
            v_boot = self._evaluate_rows(rows, states).numpy()
        values = v.numpy().reshape(T, B)
        next_values = np.concatenate([values[1:], v_boot[:B][None]])
        next_values[done_positions(rollouts)] = v_boot[B:]
        return self._targets(rollouts, seq, logits.numpy(), values, next_values,
                             use_vtrace=use_vtrace)  # fmt: skip

    def _targets(
        self,
        rollouts: Sequence[Rollout],
        obs: np.ndarray | recurrent.Sequences,
        logits: np.ndarray,
        values: np.ndarray,
        next_values: np.ndarray,
        *,
        use_vtrace: bool,
    ) -> tuple[Batch, dict]:
        """The batch from the values of every step (``values``, ``next_values`` [T, B]) and the
        policy's parameters of every step (``logits`` [T*B, ...], read by V-trace)."""
        c = self.config
        T, B = values.shape
        rewards = np.concatenate([r.rewards for r in rollouts], axis=1)  # [T, B]
        terminated = np.concatenate([r.terminated for r in rollouts], axis=1)
        truncated = np.concatenate([r.truncated for r in rollouts], axis=1)
        actions = np.concatenate([r.actions for r in rollouts], axis=1)
        flat_actions = flat_actions_of(actions, self.spec)
        stats: dict[str, float] = {}

        pg_weights = None
        if use_vtrace:
            behaviour = np.concatenate([r.behaviour_logp for r in rollouts], axis=1)  # [T, B]
            target = self.distribution.log_prob(logits, flat_actions)
            target = target.reshape(T, B)
            targets, advantages, pg_weights = vtrace(
                behaviour, target, rewards, values, next_values, terminated, truncated,
                gamma=c.gamma, rho_bar=c.vtrace_rho_bar, c_bar=c.vtrace_c_bar,
            )  # fmt: skip
            rho = np.exp(target - behaviour)
            stats["learner/vtrace_rho_mean"] = float(rho.mean())
            # The tolerance keeps float rounding of an on-policy rho of 1 from counting.
            stats["learner/vtrace_rho_clipped"] = float((rho > c.vtrace_rho_bar * 1.001).mean())
        else:
            # n-step returns (a recurrent model's, which take this path) are GAE with lambda 1
            lam = 1.0 if c.advantage == "nstep" else c.gae_lambda
            advantages, targets = gae(
                rewards, values, next_values, terminated, truncated, gamma=c.gamma, lam=lam
            )
        if (ev := explained_variance(values, targets)) is not None:
            stats["learner/explained_variance"] = ev
        K = self.burn_in  # the burn-in steps are not learned from (recurrent models)
        advantages, targets, flat_actions = advantages[K:], targets[K:], flat_actions[K * B :]
        if pg_weights is not None:
            pg_weights = pg_weights[K:]
        advantages = advantages.reshape(-1)  # [T*B]
        if c.normalize_advantages and advantages.size > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        if pg_weights is not None:
            advantages = pg_weights.reshape(-1) * advantages  # importance weights after scaling
        batch = Batch(
            obs=obs,
            actions=flat_actions,
            advantages=advantages.astype(np.float32),
            targets=targets.reshape(-1).astype(np.float32),
        )
        return batch, stats

    # --- TensorFlow side: loss and gradients --------------------------------------------------

    def _evaluate_impl(self, obs: tf.Tensor | tuple) -> tuple[tf.Tensor, ...]:
        if self.state_size:  # (obs, resets, state0) -> logits, values and states after
            return recurrent.unroll(self.model, *obs)
        logits, values = self.model(obs, training=False)
        return logits, tf.squeeze(values, axis=-1)

    def forward(self, obs: tf.Tensor | tuple, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
        """``(params [N, ...], values [N])`` of a batch's rows: a feed-forward model's on the
        observations, a recurrent one's unrolled over the sequences (burn-in rows left out)."""
        if self.state_size:
            logits, values, _ = recurrent.unroll(
                self.model, *obs, burn_in=self.burn_in, training=training
            )
            return logits, values
        logits, values = self.model(obs, training=training)
        return logits, tf.squeeze(values, axis=-1)

    def gradients(
        self,
        obs: tf.Tensor,
        actions: tf.Tensor,
        advantages: tf.Tensor | None,
        targets: tf.Tensor,
    ) -> tuple[list[tf.Tensor], dict[str, tf.Tensor]]:
        """Gradients of the loss w.r.t. the trainable variables, and loss statistics.

        ``advantages`` None: ``targets - V(s_t)`` from this forward pass, not differentiated
        (and standardised if configured). Plain Python: callers trace it inside their own
        ``tf.function`` (the learner fuses it with the optimizer step).
        """
        c = self.config
        stats = {}
        with tf.GradientTape() as tape:
            logits, values = self.forward(obs, training=True)  # [N, ...], [N]
            if advantages is None:
                baseline = tf.stop_gradient(values)
                advantages = targets - baseline
                if c.normalize_advantages:
                    advantages = standardize(advantages)
                stats["learner/explained_variance"] = explained_variance_tf(baseline, targets)
            logp = self.tf_distribution.log_prob(logits, actions)  # [N]
            policy_loss = -tf.reduce_mean(logp * advantages)
            error = targets - values
            if c.value_loss == "huber":
                abs_error = tf.abs(error)
                quadratic = tf.minimum(abs_error, 1.0)
                value_loss = tf.reduce_mean(0.5 * quadratic**2 + (abs_error - quadratic))
            else:
                value_loss = tf.reduce_mean(error**2)  # plain MSE, as SB3 and baselines weight it
            entropy = tf.reduce_mean(self.tf_distribution.entropy(logits))
            loss = policy_loss + c.value_coef * value_loss - c.entropy_coef * entropy
        grads = tape.gradient(loss, self.model.trainable_variables)
        stats.update({
            "learner/policy_loss": policy_loss,
            "learner/value_loss": value_loss,
            "learner/entropy": entropy,
            "learner/value_mean": tf.reduce_mean(values),
        })  # fmt: skip
        return grads, stats

    def gradients_own_baseline(
        self, obs: tf.Tensor, actions: tf.Tensor, targets: tf.Tensor
    ) -> tuple[list[tf.Tensor], dict[str, tf.Tensor]]:
        """:meth:`gradients` of a batch without advantages (``baseline_signature``)."""
        return self.gradients(obs, actions, None, targets)

    def compute_gradients(self, batch: Batch) -> tuple[list[np.ndarray], dict[str, float]]:
        """The gradients of ``batch`` as NumPy arrays (what an A3C worker sends)."""
        step = self._gradients if batch.advantages is not None else self._gradients_own_baseline
        with tf.device(self.device):
            grads, stats = step(*batch.tensors())
        return [g.numpy() for g in grads], as_floats(stats)


def explained_variance_tf(values: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """:func:`explained_variance` inside a compiled step: NaN where the targets do not vary
    (:func:`as_floats` leaves it out then)."""
    var = tf.math.reduce_variance(targets)
    return tf.where(var > 0, 1.0 - tf.math.reduce_variance(targets - values) / var, np.nan)


def standardize(x: tf.Tensor) -> tf.Tensor:
    """Zero mean, unit variance over the batch, as ``prepare`` does in NumPy (a batch of one
    row is left as it is)."""
    scaled = (x - tf.reduce_mean(x)) / (tf.math.reduce_std(x) + 1e-8)
    return tf.cond(tf.size(x) > 1, lambda: scaled, lambda: x)


def as_floats(stats: dict[str, tf.Tensor]) -> dict[str, float]:
    """Step statistics as floats, without an explained variance undefined for this batch."""
    out = {k: float(v) for k, v in stats.items()}
    return {k: v for k, v in out.items() if not (k == "learner/explained_variance" and v != v)}
