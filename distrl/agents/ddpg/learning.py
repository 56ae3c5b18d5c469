"""The DDPG learner: actor, critic, their target copies, a replay buffer and a fused train step.

Usage (what the runtime does, in one process or across Ray)::

    learner = DDPGLearner(spec=spec, config=config, seed=seed)
    weights = learner.weights()             # the actor only: version 0, untrained
    result = learner.update([rollout, ...]) # store the transitions, then train at replay_ratio
    weights = learner.weights()             # a new version once gradient steps were taken
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from distrl.agents.ddpg.networks import build_actor, build_critic
from distrl.agents.guard import NonFiniteGuard
from distrl.agents.learner import LearnerBase
from distrl.config import Config
from distrl.envs import EnvSpec
from distrl.replay import ReplayBuffer
from distrl.types import Rollout, UpdateResult


def soft_update(target: Sequence[tf.Variable], online: Sequence[tf.Variable], tau: float) -> None:
    """``target <- tau * online + (1 - tau) * target``, variable by variable."""
    for t, w in zip(target, online, strict=True):
        t.assign(tau * w + (1.0 - tau) * t)


class DDPGLearner(LearnerBase):
    """Deep deterministic policy gradient (Lillicrap et al. 2016) on replayed transitions.

    Critic: regression of Q(s, a) to ``r + gamma (1 - terminated) Q'(s', mu'(s'))`` (truncated
    steps bootstrap from their true final observation, terminated ones do not). Actor: minimise
    ``-mean Q(s, mu(s))``. Targets follow the online networks by soft updates. Each ``update``
    stores the fragments' transitions and, once ``learning_starts`` are stored, takes
    ``replay_ratio`` gradient steps per new env step, all in one compiled call.
    """

    COUNTERS = ("gradient_steps", "skipped_steps")

    def __init__(self, *, spec: EnvSpec, config: Config, seed: int, device: str = "/CPU:0") -> None:
        self.config = config.ddpg
        self.device = device
        self.version = 0  # published actor versions; 0 = untrained (workers act at random)
        self.gradient_steps = 0
        self._owed_steps = 0.0  # gradient steps earned by env steps and not yet taken
        self.env_errors = 0  # env exceptions the workers recovered from (reported with data)
        keras.utils.set_random_seed(seed)
        self.rng = np.random.default_rng(seed)
        c = self.config
        with tf.device(device):
            self.actor, self.critic = build_actor(spec, c), build_critic(spec, c)
            self.target_actor, self.target_critic = build_actor(spec, c), build_critic(spec, c)
            self.target_actor.set_weights(self.actor.get_weights())
            self.target_critic.set_weights(self.critic.get_weights())
            self.actor_optimizer = keras.optimizers.Adam(learning_rate=c.actor_lr)
            self.critic_optimizer = keras.optimizers.Adam(learning_rate=c.critic_lr)
            self.actor_optimizer.build(self.actor.trainable_variables)
            self.critic_optimizer.build(self.critic.trainable_variables)
        # Gradient steps with a NaN/Inf loss or gradient are skipped inside the compiled loop;
        # an update with any skipped step counts as non-finite for the rollback guard.
        self.guard = NonFiniteGuard(
            limit=config.nonfinite_limit,
            action=config.nonfinite_action,
            variables=self._variables,
            optimizers=[self.actor_optimizer, self.critic_optimizer],
        )
        self.skipped_steps = 0
        self.replay = ReplayBuffer(
            capacity=c.buffer_size,
            obs_shape=spec.observation_shape,
            obs_dtype=spec.observation_dtype,
            action_dim=spec.num_actions,
        )
        obs = tf.TensorSpec([None, None, *spec.observation_shape], spec.observation_dtype)
        self._train = tf.function(
            self._train_impl,
            input_signature=[
                obs,  # [G, N, *obs]
                tf.TensorSpec([None, None, spec.num_actions], tf.float32),  # actions
                tf.TensorSpec([None, None], tf.float32),  # rewards
                obs,  # next observations
                tf.TensorSpec([None, None], tf.float32),  # terminated
            ],
            jit_compile=c.xla,
        )

    def _policy_model(self) -> keras.Model:
        """The actor: obs -> action in the env's units (the critic stays on the learner)."""
        return self.actor

    def _variables(self) -> dict[str, list]:
        return {
            "actor": self.actor.weights,
            "critic": self.critic.weights,
            "target_actor": self.target_actor.weights,
            "target_critic": self.target_critic.weights,
            "actor_optimizer": self.actor_optimizer.variables,
            "critic_optimizer": self.critic_optimizer.variables,
        }

    def state(self, *, include_replay: bool = False) -> tuple[dict[str, np.ndarray], dict]:
        """Networks, targets, optimizer slots, counters, the sampling RNG; the replay buffer
        only if asked (it can be large)."""
        arrays, scalars = super().state()
        scalars["owed_steps"] = self._owed_steps
        scalars["rng"] = self.rng.bit_generator.state
        if include_replay:
            arrays.update({f"replay/{k}": v for k, v in self.replay.arrays().items()})
            scalars["replay"] = self.replay.counters()
        return arrays, scalars

    def load_state(self, arrays: dict[str, np.ndarray], scalars: dict) -> None:
        super().load_state(arrays, scalars)
        self._owed_steps = float(scalars["owed_steps"])
        self.rng.bit_generator.state = scalars["rng"]
        if "replay" in scalars:
            replay = {k.removeprefix("replay/"): v for k, v in arrays.items() if "replay/" in k}
            self.replay.load(replay, scalars["replay"])

    # --- the compiled part --------------------------------------------------------------------

    def _train_impl(
        self,
        obs: tf.Tensor,
        actions: tf.Tensor,
        rewards: tf.Tensor,
        next_obs: tf.Tensor,
        terminated: tf.Tensor,
    ) -> dict[str, tf.Tensor]:
        """``G`` gradient steps, one per leading index of the ``[G, N, ...]`` inputs.

        A step whose critic or actor gradient holds a NaN/Inf applies neither (counted in
        ``skipped``); the targets then move towards unchanged online networks.
        """
        c = self.config
        critic_loss = actor_loss = q_mean = tf.constant(0.0)
        skipped = tf.constant(0)
        for i in tf.range(tf.shape(rewards)[0]):
            s, a, s_next = obs[i], actions[i], next_obs[i]
            q_next = tf.squeeze(self.target_critic([s_next, self.target_actor(s_next)]), -1)
            y = rewards[i] + c.gamma * (1.0 - terminated[i]) * q_next  # [N]
            with tf.GradientTape() as tape:
                q = tf.squeeze(self.critic([s, a], training=True), -1)  # [N]
                critic_loss = tf.reduce_mean(tf.square(y - q))
            critic_grads = tape.gradient(critic_loss, self.critic.trainable_variables)
            with tf.GradientTape() as tape:
                actor_loss = -tf.reduce_mean(self.critic([s, self.actor(s, training=True)]))
            actor_grads = tape.gradient(actor_loss, self.actor.trainable_variables)
            finite = tf.math.is_finite(tf.linalg.global_norm([*critic_grads, *actor_grads]))
            skipped += tf.cond(
                finite,
                functools.partial(self._apply, critic_grads, actor_grads),
                lambda: tf.constant(1),
            )
            soft_update(self.target_actor.weights, self.actor.weights, c.tau)
            soft_update(self.target_critic.weights, self.critic.weights, c.tau)
            q_mean = tf.reduce_mean(q)
        return {
            "learner/critic_loss": critic_loss,
            "learner/actor_loss": actor_loss,
            "learner/q_mean": q_mean,
            "skipped": skipped,
        }

    def _apply(self, critic_grads: list[tf.Tensor], actor_grads: list[tf.Tensor]) -> tf.Tensor:
        """Both optimizer steps; returns 0 skipped steps (the other branch of the guard)."""
        critic_vars, actor_vars = self.critic.trainable_variables, self.actor.trainable_variables
        self.critic_optimizer.apply_gradients(zip(critic_grads, critic_vars, strict=True))
        self.actor_optimizer.apply_gradients(zip(actor_grads, actor_vars, strict=True))
        return tf.constant(0)

    # --- bookkeeping around it ----------------------------------------------------------------

    def update(self, rollouts: Sequence[Rollout]) -> UpdateResult:
        """Store ``rollouts`` and train for the gradient steps their env steps earned."""
        start = time.perf_counter()
        c = self.config
        lags = [self.version - r.policy_version for r in rollouts]
        version_before = self.version
        self.env_errors += sum(r.env_errors for r in rollouts)
        for r in rollouts:
            self.replay.add_rollout(r)
        env_steps = sum(r.env_steps for r in rollouts)
        if self.replay.size >= max(c.learning_starts, c.batch_size):
            self._owed_steps += c.replay_ratio * env_steps
        steps = int(self._owed_steps)
        self._owed_steps -= steps
        metrics: dict[str, float] = {}
        if steps > 0:
            batch = self.replay.sample((steps, c.batch_size), self.rng)
            with tf.device(self.device):
                stats = self._train(*batch)
            skipped = int(stats.pop("skipped"))
            self.gradient_steps += steps - skipped
            self.skipped_steps += skipped
            rolled_back = self.guard.record(finite=skipped == 0)
            if skipped < steps or rolled_back:  # the actor changed: a new version
                self.version += 1
            metrics = {k: float(v) for k, v in stats.items()}
        metrics["learner/gradient_steps"] = float(self.gradient_steps)
        metrics["learner/skipped_steps"] = float(self.skipped_steps)
        metrics["learner/actor_learning_rate"] = float(
            np.asarray(self.actor_optimizer.learning_rate)
        )
        metrics["learner/critic_learning_rate"] = float(
            np.asarray(self.critic_optimizer.learning_rate)
        )
        metrics["learner/replay_size"] = float(self.replay.size)
        applied = version_before != self.version
        return self._result(start, metrics, lags, applied=applied, sources=rollouts)
