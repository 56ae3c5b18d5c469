"""The DDPG learner: actor, critic, their target copies, a replay buffer and a fused train step.

Usage (what the runtime does, in one process or across Ray)::

    learner = DDPGLearner(spec=spec, config=config, seed=seed)
    weights = learner.weights()             # the actor only: version 0, untrained
    result = learner.update([rollout, ...]) # store the transitions, then train at replay_ratio
    weights = learner.weights()             # a new version once gradient steps were taken
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf

from distrl.agents.ddpg.config import DDPGConfig
from distrl.agents.ddpg.networks import action_scale, build_actor, build_critic
from distrl.agents.guard import NonFiniteGuard
from distrl.agents.replaying import ReplayLearner, learner_capacity, make_replay, replay_layout
from distrl.agents.variables import soft_update
from distrl.config import AlgorithmSections
from distrl.envs import EnvSpec
from distrl.replay import TransitionBatch


class DDPGLearner(ReplayLearner):
    """Deep deterministic policy gradient (Lillicrap et al. 2016) on replayed transitions.

    Critic: regression of Q(s, a) to ``r + gamma (1 - terminated) Q'(s', mu'(s'))`` (truncated
    steps bootstrap from their true final observation, terminated ones do not). Actor: minimise
    ``-mean Q(s, mu(s))``. Targets follow the online networks by soft updates. Each ``update``
    stores the fragments' transitions and, once ``learning_starts`` are stored, takes
    ``replay_ratio`` gradient steps per new env step, all in one compiled call.
    """

    COUNTERS = ("gradient_steps", "skipped_steps")

    def __init__(
        self, *, spec: EnvSpec, sections: AlgorithmSections, seed: int, device: str = "/CPU:0"
    ) -> None:
        self.config: DDPGConfig = sections.own  # ddpg.* or td3.*
        self.device = device
        self.version = 0  # published actor versions; 0 = untrained (workers act at random)
        self.gradient_steps = 0
        self.env_errors = 0  # env exceptions the workers recovered from (reported with data)
        keras.utils.set_random_seed(seed)
        self.rng = np.random.default_rng(seed)
        c = self.config
        with tf.device(device):
            self.actor, self.target_actor = build_actor(spec, c), build_actor(spec, c)
            # One critic, or TD3's two (one optimizer over both, as SB3).
            self.critics = [build_critic(spec, c) for _ in range(2 if c.twin_critics else 1)]
            self.target_critics = [build_critic(spec, c) for _ in self.critics]
            self.critic, self.target_critic = self.critics[0], self.target_critics[0]
            self.target_actor.set_weights(self.actor.get_weights())
            for target, online in zip(self.target_critics, self.critics, strict=True):
                target.set_weights(online.get_weights())
            self.actor_optimizer = keras.optimizers.Adam(learning_rate=c.actor_lr,
                                                         epsilon=c.optimizer_eps)  # fmt: skip
            self.critic_optimizer = keras.optimizers.Adam(learning_rate=c.critic_lr,
                                                          epsilon=c.optimizer_eps)  # fmt: skip
            self.actor_optimizer.build(self.actor.trainable_variables)
            self.critic_optimizer.build(self._critic_variables())
        half_width, centre = action_scale(spec)
        self._half_width = tf.constant(half_width)
        self._low, self._high = tf.constant(centre - half_width), tf.constant(centre + half_width)
        # Gradient steps with a NaN/Inf loss or gradient are skipped inside the compiled loop;
        # an update with any skipped step counts as non-finite for the rollback guard.
        self.guard = NonFiniteGuard.of_section(
            sections.nonfinite, self._variables, [self.actor_optimizer, self.critic_optimizer]
        )
        self.skipped_steps = 0
        self.replay = make_replay(c, **replay_layout(spec, c, learner_capacity(c)))
        obs = tf.TensorSpec([None, None, *spec.observation_shape], spec.observation_dtype)
        self._train = tf.function(
            self._train_impl,
            input_signature=[
                obs,  # [G, N, *obs]
                tf.TensorSpec([None, None, spec.num_actions], tf.float32),  # actions
                tf.TensorSpec([None, None], tf.float32),  # rewards
                obs,  # next observations
                tf.TensorSpec([None, None], tf.float32),  # terminated
                tf.TensorSpec([], tf.int64),  # gradient steps tried before this call
                tf.TensorSpec([None, None], tf.float32),  # importance weights (prioritized)
            ],
            jit_compile=c.xla,
        )

    def _policy_model(self) -> keras.Model:
        """The actor: obs -> action in the env's units (the critic stays on the learner)."""
        return self.actor

    def _critic_variables(self) -> list[tf.Variable]:
        return [v for critic in self.critics for v in critic.trainable_variables]

    def _variables(self) -> dict[str, list]:
        twin = {}
        if len(self.critics) == 2:  # TD3: checkpoints of single-critic runs keep their keys
            twin = {"critic2": self.critics[1].weights,
                    "target_critic2": self.target_critics[1].weights}  # fmt: skip
        return {
            "actor": self.actor.weights,
            "critic": self.critic.weights,
            "target_actor": self.target_actor.weights,
            "target_critic": self.target_critic.weights,
            **twin,
            "actor_optimizer": self.actor_optimizer.variables,
            "critic_optimizer": self.critic_optimizer.variables,
        }

    # --- the compiled part --------------------------------------------------------------------

    def target_actions(self, next_obs: tf.Tensor) -> tf.Tensor:
        """``a' = mu'(s')``; with TD3's target policy smoothing,
        ``clip(mu'(s') + clip(N(0, sigma), -c, c) * half-width, low, high)``."""
        c = self.config
        next_actions = self.target_actor(next_obs)
        if c.target_noise > 0:
            noise = tf.random.normal(tf.shape(next_actions)) * c.target_noise
            noise = tf.clip_by_value(noise, -c.target_noise_clip, c.target_noise_clip)
            next_actions = tf.clip_by_value(
                next_actions + noise * self._half_width, self._low, self._high
            )
        return next_actions

    def target_q(self, rewards: tf.Tensor, next_obs: tf.Tensor, terminated: tf.Tensor) -> tf.Tensor:
        """``r + gamma (1 - terminated) Q'(s', a')`` with ``a'`` from :meth:`target_actions`;
        with twin critics, ``Q'`` is the smaller of the two target critics (clipped double Q)."""
        next_actions = self.target_actions(next_obs)
        q_next = [tf.squeeze(t([next_obs, next_actions]), -1) for t in self.target_critics]
        smallest = q_next[0] if len(q_next) == 1 else tf.minimum(q_next[0], q_next[1])
        return rewards + self.config.gamma * (1.0 - terminated) * smallest

    def _train_impl(
        self,
        obs: tf.Tensor,
        actions: tf.Tensor,
        rewards: tf.Tensor,
        next_obs: tf.Tensor,
        terminated: tf.Tensor,
        steps_before: tf.Tensor,
        weights: tf.Tensor,
    ) -> dict[str, tf.Tensor]:
        """``G`` gradient steps, one per leading index of the ``[G, N, ...]`` inputs.

        Every step regresses the critic(s) to :meth:`target_q`; every ``policy_delay``-th
        (counted over the run, from ``steps_before``) also steps the actor through the critic
        as that step left it (the order of the DDPG and TD3 papers' code and of SB3), then moves
        the targets. Non-finite gradients apply nothing from there on: a NaN/Inf critic
        gradient skips the critic's and the actor's step, a NaN/Inf actor gradient the actor's
        (either counts the step in ``skipped``).
        """
        c = self.config
        critic_vars, actor_vars = self._critic_variables(), self.actor.trainable_variables
        critic_loss = actor_loss = q_mean = tf.constant(0.0)
        skipped = tf.constant(0)
        G = tf.shape(rewards)[0]
        td_errors = tf.TensorArray(tf.float32, size=G)
        for i in tf.range(G):
            s, a = obs[i], actions[i]
            y = tf.stop_gradient(self.target_q(rewards[i], next_obs[i], terminated[i]))  # [N]
            with tf.GradientTape() as tape:
                qs = [tf.squeeze(critic([s, a], training=True), -1) for critic in self.critics]
                critic_loss = tf.add_n([tf.reduce_mean(weights[i] * tf.square(y - q)) for q in qs])
            critic_grads = tape.gradient(critic_loss, critic_vars)
            critic_ok = tf.math.is_finite(tf.linalg.global_norm(critic_grads))
            tf.cond(critic_ok, functools.partial(self._apply_critic, critic_grads),
                    lambda: tf.constant(False))  # fmt: skip
            with_actor = (steps_before + tf.cast(i, tf.int64)) % c.policy_delay == 0

            def actor_step(
                s: tf.Tensor = s, critic_ok: tf.Tensor = critic_ok
            ) -> tuple[tf.Tensor, tf.Tensor]:
                with tf.GradientTape() as tape:
                    loss = -tf.reduce_mean(self.critic([s, self.actor(s, training=True)]))
                grads = tape.gradient(loss, actor_vars)
                ok = tf.logical_and(critic_ok, tf.math.is_finite(tf.linalg.global_norm(grads)))
                tf.cond(ok, functools.partial(self._apply_actor, grads), lambda: tf.constant(False))
                return loss, ok

            def no_actor_step(
                last: tf.Tensor = actor_loss, critic_ok: tf.Tensor = critic_ok
            ) -> tuple[tf.Tensor, tf.Tensor]:
                return last, critic_ok

            actor_loss, step_ok = tf.cond(with_actor, actor_step, no_actor_step)
            skipped += tf.cond(step_ok, lambda: tf.constant(0), lambda: tf.constant(1))
            tf.cond(with_actor, self._move_targets, lambda: tf.constant(False))
            q_mean = tf.reduce_mean(qs[0])
            td_errors = td_errors.write(i, y - qs[0])
        return {
            "td_errors": td_errors.stack(),
            "learner/critic_loss": critic_loss,
            "learner/actor_loss": actor_loss,
            "learner/q_mean": q_mean,
            "skipped": skipped,
        }

    def _move_targets(self) -> tf.Tensor:
        tau = self.config.tau
        soft_update(self.target_actor.weights, self.actor.weights, tau)
        for target, online in zip(self.target_critics, self.critics, strict=True):
            soft_update(target.weights, online.weights, tau)
        return tf.constant(True)

    def _apply_critic(self, grads: list[tf.Tensor]) -> tf.Tensor:
        self.critic_optimizer.apply_gradients(zip(grads, self._critic_variables(), strict=True))
        return tf.constant(True)

    def _apply_actor(self, grads: list[tf.Tensor]) -> tf.Tensor:
        self.actor_optimizer.apply_gradients(
            zip(grads, self.actor.trainable_variables, strict=True)
        )
        return tf.constant(True)

    # --- bookkeeping around it ----------------------------------------------------------------

    def _train_batch(self, batch: TransitionBatch, weights: np.ndarray) -> dict:
        tried = np.int64(self.gradient_steps + self.skipped_steps)
        with tf.device(self.device):
            return self._train(batch.obs, batch.actions, batch.rewards, batch.next_obs,
                               batch.terminated, tried, weights)  # fmt: skip

    def _extra_metrics(self) -> dict[str, float]:
        return {
            "learner/actor_learning_rate": float(np.asarray(self.actor_optimizer.learning_rate)),
            "learner/critic_learning_rate": float(np.asarray(self.critic_optimizer.learning_rate)),
        }
