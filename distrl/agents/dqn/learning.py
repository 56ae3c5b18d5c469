"""The DQN learner: a Q network on the ``model`` section, its target copy, replay (uniform or
prioritized) and a fused train step.

Usage (what the runtime does, in one process or across Ray)::

    learner = DQNLearner(spec=spec, sections=config.algorithm_sections(), seed=0)
    learner.update([rollout, ...])   # store n-step transitions, train at replay_ratio
    weights = learner.weights()      # the Q network and the current exploration rate
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from distrl.agents.dqn.acting import EPSILON
from distrl.agents.dqn.config import DQNConfig
from distrl.agents.guard import NonFiniteGuard
from distrl.agents.replaying import ReplayLearner, learner_capacity, make_replay, replay_layout
from distrl.agents.variables import soft_update
from distrl.config import AlgorithmSections
from distrl.envs import EnvSpec
from distrl.models.builders import build_model
from distrl.replay import TransitionBatch
from distrl.schedules import linear
from distrl.types import WeightsMessage


def q_values(model: keras.Model, obs: tf.Tensor, dueling: bool) -> tf.Tensor:
    """``Q(s, .)`` [N, A] from the actor-critic model: its first head, or with dueling heads
    ``V + A - mean(A)`` from its value head and first head (Wang et al. 2016)."""
    advantages, value = model(obs)
    if not dueling:
        return advantages
    return value + advantages - tf.reduce_mean(advantages, axis=-1, keepdims=True)


def trained_variables(model: keras.Model, spec: EnvSpec, dueling: bool) -> list[tf.Variable]:
    """The variables Q depends on (without dueling heads the model's value head plays no
    part), found by differentiating Q once on a zero observation."""
    zeros = tf.zeros([1, *spec.observation_shape], spec.observation_dtype)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(q_values(model, zeros, dueling))
    grads = tape.gradient(total, model.trainable_variables)
    return [v for v, g in zip(model.trainable_variables, grads, strict=True) if g is not None]


class DQNLearner(ReplayLearner):
    """Deep Q-learning (Mnih et al. 2015) with the usual extensions as switches: double Q
    (van Hasselt et al. 2016), dueling heads, n-step returns and prioritized replay.

    Each ``update`` stores the fragments' n-step transitions and, once ``learning_starts`` are
    stored, takes ``replay_ratio`` gradient steps per new env step in one compiled call; the
    target network follows every ``target_update_interval`` env steps.
    """

    COUNTERS = ("gradient_steps", "skipped_steps", "env_steps", "target_updates")

    def __init__(
        self, *, spec: EnvSpec, sections: AlgorithmSections, seed: int, device: str = "/CPU:0"
    ) -> None:
        self.config: DQNConfig = sections.own
        c = self.config
        self.device = device
        self.version = 0  # 0: untrained; workers act at random until version 1
        self.gradient_steps = self.skipped_steps = self.env_steps = self.target_updates = 0
        self._since_target = 0  # env steps since the target last followed
        self.env_errors = 0
        keras.utils.set_random_seed(seed)
        self.rng = np.random.default_rng(seed)
        with tf.device(device):
            self.q = build_model(spec, sections.model)
            self.target = build_model(spec, sections.model)
            self.target.set_weights(self.q.get_weights())
            self.optimizer = keras.optimizers.Adam(learning_rate=c.lr, epsilon=c.optimizer_eps)
            self.optimizer.build(self.q.trainable_variables)
            self._trained = trained_variables(self.q, spec, c.dueling)
        self.guard = NonFiniteGuard.of_section(
            sections.nonfinite, self._variables, [self.optimizer]
        )
        self.replay = make_replay(c, **replay_layout(spec, c, learner_capacity(c)))
        obs = tf.TensorSpec([None, None, *spec.observation_shape], spec.observation_dtype)
        self._train = tf.function(
            self._train_impl,
            input_signature=[
                obs,  # [G, N, *obs]
                tf.TensorSpec([None, None], tf.int64),  # actions
                tf.TensorSpec([None, None], tf.float32),  # n-step returns
                obs,  # next observations (after the transition's last step)
                tf.TensorSpec([None, None], tf.float32),  # terminated
                tf.TensorSpec([None, None], tf.float32),  # gamma ** steps
                tf.TensorSpec([None, None], tf.float32),  # importance weights
            ],
            jit_compile=c.xla,
        )

    def _policy_model(self) -> keras.Model:
        return self.q

    def _variables(self) -> dict[str, list]:
        return {"q": self.q.weights, "target": self.target.weights,
                "optimizer": self.optimizer.variables}  # fmt: skip

    @property
    def epsilon(self) -> float:
        c = self.config
        steps = c.for_budget(None).exploration_steps  # resolved already in a run's sections
        assert steps is not None
        return linear(c.exploration_initial_eps, c.exploration_final_eps, steps, self.env_steps)

    def weights(self) -> WeightsMessage:
        """The Q network's weights and, under ``exploration/epsilon``, the exploration rate."""
        message = super().weights()
        return WeightsMessage(
            version=message.version,
            names=(*message.names, EPSILON),
            weights=[*message.weights, np.asarray(self.epsilon, dtype=np.float32)],
        )

    def checkpoint(self, *, include_replay: bool = False) -> tuple[dict[str, np.ndarray], dict]:
        arrays, scalars = super().checkpoint(include_replay=include_replay)
        scalars["since_target"] = self._since_target
        return arrays, scalars

    def restore(self, arrays: dict[str, np.ndarray], scalars: dict) -> None:
        super().restore(arrays, scalars)
        self._since_target = int(scalars["since_target"])

    # --- the compiled part --------------------------------------------------------------------

    def _train_impl(
        self,
        obs: tf.Tensor,
        actions: tf.Tensor,
        returns: tf.Tensor,
        next_obs: tf.Tensor,
        terminated: tf.Tensor,
        discounts: tf.Tensor,
        weights: tf.Tensor,
    ) -> dict[str, tf.Tensor]:
        """``G`` gradient steps, one per leading index of the ``[G, N, ...]`` inputs, each on
        ``weights * loss(y - Q(s, a))`` with ``y = R + gamma^m (1 - terminated) Q'(s', a')``.
        A step whose gradients hold a NaN/Inf applies nothing (counted in ``skipped``)."""
        c = self.config
        G = tf.shape(returns)[0]
        td_errors = tf.TensorArray(tf.float32, size=G)
        loss = q_mean = tf.constant(0.0)
        skipped = tf.constant(0)
        for i in tf.range(G):
            q_next = q_values(self.target, next_obs[i], c.dueling)  # [N, A]
            if c.double_q:
                best = tf.argmax(q_values(self.q, next_obs[i], c.dueling), axis=-1)
                q_best = tf.gather(q_next, best, batch_dims=1)
            else:
                q_best = tf.reduce_max(q_next, axis=-1)
            y = tf.stop_gradient(returns[i] + discounts[i] * (1.0 - terminated[i]) * q_best)
            with tf.GradientTape() as tape:
                q = tf.gather(q_values(self.q, obs[i], c.dueling), actions[i], batch_dims=1)
                td = y - q
                per_sample = (tf.where(tf.abs(td) <= 1.0, 0.5 * td**2, tf.abs(td) - 0.5)
                              if c.loss == "huber" else 0.5 * td**2)  # fmt: skip
                loss = tf.reduce_mean(weights[i] * per_sample)
            grads = tape.gradient(loss, self._trained)
            if c.max_grad_norm is not None:
                grads, _ = tf.clip_by_global_norm(grads, c.max_grad_norm)
            finite = tf.math.is_finite(tf.linalg.global_norm(grads))
            skipped += tf.cond(finite, lambda g=grads: self._apply(g), lambda: tf.constant(1))
            td_errors = td_errors.write(i, td)
            q_mean = tf.reduce_mean(q)
        return {"learner/loss": loss, "learner/q_mean": q_mean, "skipped": skipped,
                "td_errors": td_errors.stack()}  # fmt: skip

    def _apply(self, grads: list[tf.Tensor]) -> tf.Tensor:
        self.optimizer.apply_gradients(zip(grads, self._trained, strict=True))
        return tf.constant(0)

    # --- bookkeeping around it ----------------------------------------------------------------

    def _train_batch(self, batch: TransitionBatch, weights: np.ndarray) -> dict:
        assert batch.steps is not None  # the buffer always keeps them
        discounts = (self.config.gamma**batch.steps).astype(np.float32)
        with tf.device(self.device):
            return self._train(batch.obs, batch.actions[..., 0].astype(np.int64), batch.rewards,
                               batch.next_obs, batch.terminated, discounts, weights)  # fmt: skip

    def _after_update(self, env_steps: int, started: bool) -> None:
        """Count env steps (the exploration schedule's clock); once training has started, the
        target follows every ``target_update_interval`` of them."""
        self.env_steps += env_steps
        if started:
            self._since_target += env_steps
        interval = self.config.target_update_interval
        if self._since_target >= interval:
            self._since_target %= interval
            self._follow()

    def _extra_metrics(self) -> dict[str, float]:
        return {
            "learner/epsilon": self.epsilon,
            "learner/target_updates": float(self.target_updates),
        }

    def _follow(self) -> None:
        """The target network moves ``tau`` of the way to the online one (tau 1: a copy)."""
        soft_update(self.target.weights, self.q.weights, self.config.tau)
        self.target_updates += 1
