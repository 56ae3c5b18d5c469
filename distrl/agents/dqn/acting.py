"""Acting with DQN's Q network: epsilon-greedy (rollout workers, the service, evaluation).

The exploration rate travels with the weights: the learner appends ``exploration/epsilon`` to
each :class:`WeightsMessage` (its linear schedule over the env steps it has seen), so every
worker and every external actor explores alike. In Ape-X mode (``mode: async``) each worker
keeps the fixed rate of its place instead (:func:`distrl.agents.dqn.config.apex_epsilon`) and,
with prioritized replay, computes its steps' initial priorities with its own network copy.
Until trained weights arrive (version 0) every action is uniformly random, as SB3 acts before
``learning_starts``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from distrl.agents.acting import Forward, model_forward
from distrl.agents.dqn.config import DQNConfig, apex_epsilon
from distrl.returns import nstep
from distrl.types import EnvSpec, Rollout, WeightsMessage

if TYPE_CHECKING:
    from distrl.config import AlgorithmSections

EPSILON = "exploration/epsilon"  # the name of the exploration rate in a WeightsMessage


class EpsilonGreedyPolicy:
    """``argmax_a Q(s, a)``, or a uniformly random action with probability epsilon.

    The model's first head is Q (or, with dueling heads, the advantages, whose argmax is Q's).
    """

    def __init__(self, forward: Forward, spec: EnvSpec, config: DQNConfig) -> None:
        self.forward, self.num_actions, self.config = forward, spec.num_actions, config
        self.epsilon = 1.0
        self.fixed: float | None = None  # Ape-X: this worker's own rate
        self.trained = False

    def place(self, index: int, workers: int, mode: str) -> None:
        """A rollout worker's place: in Ape-X mode (async) it explores at its own fixed rate."""
        if mode == "async":
            self.fixed = apex_epsilon(self.config, index, workers)

    def set_weights(self, message: WeightsMessage) -> None:
        names, weights = list(message.names), list(message.weights)
        if EPSILON in names:
            self.epsilon = float(weights.pop(names.index(EPSILON)))
            names.remove(EPSILON)
        self.forward.set_weights(names, weights)
        self.trained = message.version > 0

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``obs`` [B, *obs] -> ``(actions [B] int64, log-probs [B] zeros)``."""
        B = obs.shape[0]
        random = np.asarray(rng.integers(0, self.num_actions, size=B), dtype=np.int64)
        if not self.trained:
            return random, np.zeros(B, np.float32)
        epsilon = self.epsilon if self.fixed is None else self.fixed
        explore = rng.random(B) < epsilon
        actions = np.where(explore, random, self.act_greedy(obs))
        return actions.astype(np.int64), np.zeros(B, np.float32)

    def initial_priorities(self, rollout: Rollout) -> np.ndarray | None:
        """Ape-X (mode async, prioritized replay, trained weights): each step's ``|n-step TD
        error|`` under this worker's copy of the network, ``[T, B]``; else None."""
        c = self.config
        if self.fixed is None or not c.prioritized or not self.trained:
            return None
        n = nstep(rollout.rewards, rollout.terminated, rollout.truncated, n=c.n_step,
                  gamma=c.gamma)  # fmt: skip
        T, B = rollout.rewards.shape
        columns = np.broadcast_to(np.arange(B), (T, B))
        obs_shape = rollout.observations.shape[2:]
        following = rollout.next_observations()[n.last, columns].reshape(T * B, *obs_shape)
        q_next = self.forward.params(following).max(-1).reshape(T, B)
        q_now = self.forward.params(rollout.observations.reshape(T * B, *obs_shape))
        q_taken = np.take_along_axis(q_now, rollout.actions.reshape(T * B, 1), -1).reshape(T, B)
        bootstrap = c.gamma**n.steps * (1.0 - rollout.terminated[n.last, columns]) * q_next
        return np.abs(n.returns + bootstrap - q_taken).astype(np.float32)

    def act_greedy(self, obs: np.ndarray) -> np.ndarray:
        return np.argmax(self.forward.params(obs), axis=-1).astype(np.int64)

    def episodes_ended(self, envs: np.ndarray) -> None:
        """Nothing carries over between episodes."""


def epsilon_greedy_policy(
    *, spec: EnvSpec, sections: AlgorithmSections, tf_threads: int | None = 1, num_envs: int = 1
) -> EpsilonGreedyPolicy:
    """DQN's acting policy on the ``model`` section's network (NumPy for the built-in MLPs)."""
    return EpsilonGreedyPolicy(model_forward(spec, sections, tf_threads), spec, sections.own)
