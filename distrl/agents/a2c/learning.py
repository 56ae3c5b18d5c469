"""The A2C learner: Keras model, optimizer and one compiled train step.

Usage (what the runtime does, in one process or across Ray)::

    learner = A2CLearner(spec=spec, config=config, seed=seed)
    weights = learner.weights()                 # WeightsMessage(version=0, ...)
    result = learner.update([rollout, ...])     # one gradient step on all fragments
    weights = learner.weights()                 # version 1
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from distrl.agents.a2c.returns import gae, nstep_returns
from distrl.config import A2CConfig, Config
from distrl.envs import EnvSpec
from distrl.models.builders import build_model
from distrl.types import Rollout, UpdateResult, WeightsMessage


def make_optimizer(config: A2CConfig) -> keras.optimizers.Optimizer:
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(
            learning_rate=config.lr, rho=config.rmsprop_rho, epsilon=config.optimizer_eps
        )
    return keras.optimizers.Adam(learning_rate=config.lr, epsilon=config.optimizer_eps)


class A2CLearner:
    """Synchronous advantage actor-critic on fragments of experience."""

    def __init__(self, *, spec: EnvSpec, config: Config, seed: int, device: str = "/CPU:0") -> None:
        self.spec = spec
        self.config = config.a2c
        self.device = device
        self.version = 0  # weights version: updates applied
        keras.utils.set_random_seed(seed)
        with tf.device(device):
            self.model = build_model(spec, config.model)
            self.optimizer = make_optimizer(self.config)
            self.optimizer.build(self.model.trainable_variables)
        self._weight_names = tuple(v.path for v in self.model.weights)
        obs_spec = tf.TensorSpec([None, *spec.observation_shape], spec.observation_dtype)
        self._values = tf.function(self._values_impl, input_signature=[obs_spec])
        self._train_step = tf.function(
            self._train_step_impl,
            input_signature=[
                obs_spec,
                tf.TensorSpec([None], tf.int64),  # actions
                tf.TensorSpec([None], tf.float32),  # advantages
                tf.TensorSpec([None], tf.float32),  # value targets
            ],
        )

    def weights(self) -> WeightsMessage:
        return WeightsMessage(
            version=self.version, names=self._weight_names, weights=self.model.get_weights()
        )

    # --- the compiled parts -------------------------------------------------------------------

    def _values_impl(self, obs: tf.Tensor) -> tf.Tensor:
        return tf.squeeze(self.model(obs, training=False)[1], axis=-1)

    def _train_step_impl(
        self, obs: tf.Tensor, actions: tf.Tensor, advantages: tf.Tensor, targets: tf.Tensor
    ) -> dict[str, tf.Tensor]:
        c = self.config
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            logits, values = self.model(obs, training=True)
            values = tf.squeeze(values, axis=-1)  # [N]
            logp_all = tf.nn.log_softmax(logits)  # [N, A]
            logp = tf.gather(logp_all, actions, batch_dims=1)  # [N]
            policy_loss = -tf.reduce_mean(logp * advantages)
            error = targets - values
            if c.value_loss == "huber":
                abs_error = tf.abs(error)
                quadratic = tf.minimum(abs_error, 1.0)
                value_loss = tf.reduce_mean(0.5 * quadratic**2 + (abs_error - quadratic))
            else:
                value_loss = tf.reduce_mean(0.5 * error**2)
            entropy = -tf.reduce_mean(tf.reduce_sum(tf.exp(logp_all) * logp_all, axis=-1))
            loss = policy_loss + c.value_coef * value_loss - c.entropy_coef * entropy
        grads = tape.gradient(loss, variables)
        grad_norm = tf.linalg.global_norm(grads)
        if c.max_grad_norm is not None:
            grads, _ = tf.clip_by_global_norm(grads, c.max_grad_norm, use_norm=grad_norm)
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return {
            "learner/policy_loss": policy_loss,
            "learner/value_loss": value_loss,
            "learner/entropy": entropy,
            "learner/grad_norm": grad_norm,
            "learner/value_mean": tf.reduce_mean(values),
        }

    # --- bookkeeping around them --------------------------------------------------------------

    def update(self, rollouts: Sequence[Rollout]) -> UpdateResult:
        """One gradient step on the concatenation of ``rollouts`` (all of the same length)."""
        start = time.perf_counter()
        c = self.config
        obs = np.concatenate([r.observations for r in rollouts], axis=1)  # [T, B, *obs]
        T, B = obs.shape[:2]
        rewards = np.concatenate([r.rewards for r in rollouts], axis=1)  # [T, B]
        terminated = np.concatenate([r.terminated for r in rollouts], axis=1)
        truncated = np.concatenate([r.truncated for r in rollouts], axis=1)
        actions = np.concatenate([r.actions for r in rollouts], axis=1)
        last_obs = np.concatenate([r.last_observations for r in rollouts], axis=0)  # [B, *obs]
        final_obs = np.concatenate([r.final_observations for r in rollouts], axis=0)  # [K, *obs]

        # One forward pass for every value the targets need: V(s_t), V(after last step) and
        # V(true final observation) of each truncated step.
        flat_obs = obs.reshape(T * B, *obs.shape[2:])  # [T*B, *obs]
        with tf.device(self.device):
            v_all = self._values(np.concatenate([flat_obs, last_obs, final_obs])).numpy()
        values = v_all[: T * B].reshape(T, B)  # [T, B]
        next_values = np.concatenate([values[1:], v_all[T * B : T * B + B][None]])  # [T, B]
        next_values[_truncated_positions(rollouts)] = v_all[T * B + B :]

        if c.advantage == "nstep":
            targets = nstep_returns(rewards, next_values, terminated, truncated, gamma=c.gamma)
            advantages = targets - values
        else:
            advantages, targets = gae(
                rewards, values, next_values, terminated, truncated, gamma=c.gamma, lam=c.gae_lambda
            )
        advantages = advantages.reshape(-1)  # [T*B]
        if c.normalize_advantages and advantages.size > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

        with tf.device(self.device):
            stats = self._train_step(
                flat_obs,
                actions.reshape(-1).astype(np.int64),
                advantages.astype(np.float32),
                targets.reshape(-1).astype(np.float32),
            )
        lags = [self.version - r.policy_version for r in rollouts]
        self.version += 1
        metrics = {k: float(v) for k, v in stats.items()}
        metrics["learner/policy_lag_mean"] = float(np.mean(lags))
        metrics["learner/policy_lag_max"] = float(np.max(lags))
        metrics["learner/batch_size"] = float(T * B)
        metrics["timing/update_s"] = time.perf_counter() - start
        return UpdateResult(
            version=self.version,
            env_steps=T * B,
            episode_returns=np.concatenate([r.episode_returns for r in rollouts]),
            episode_lengths=np.concatenate([r.episode_lengths for r in rollouts]),
            metrics=metrics,
        )


def _truncated_positions(rollouts: Sequence[Rollout]) -> tuple[np.ndarray, np.ndarray]:
    """``(t, b)`` indices into the B-concatenated batch of every truncated step, in the order the
    rollouts' ``final_observations`` are concatenated."""
    ts, bs, offset = [], [], 0
    for r in rollouts:
        t, b = np.nonzero(r.truncated)
        ts.append(t)
        bs.append(b + offset)
        offset += r.truncated.shape[1]
    return np.concatenate(ts), np.concatenate(bs)
