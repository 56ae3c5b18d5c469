"""Incoming requests to checked NumPy messages: every array against the spec, every count
against the limits, every reported episode against the pushed data. A bad request ends its call
with INVALID_ARGUMENT naming the field (messages capped at MAX_MESSAGE characters)."""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np

from distrl.agents.registry import Algorithm
from distrl.envs.atari import is_atari
from distrl.service.arrays import BadArray, from_proto
from distrl.service.exchange import WeightsBoard
from distrl.service.ledger import EpisodeLedger
from distrl.service.v1 import distrl_pb2 as pb
from distrl.types import EnvSpec, Rollout

MAX_BATCH = 4096  # observations per Act, env steps per rollout (T x B), transitions per push
MAX_MESSAGE = 1000  # characters of an error message at most


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> None:
    """End the call with ``code``; the message is cut to MAX_MESSAGE characters, so no input
    (a shape of rank 10,000, say) makes an error that clients refuse to receive."""
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 3] + "..."
    context.abort(code, message)


class RequestDecoder:
    """Reads requests for one service: its algorithm's entry (what experience it learns from),
    the env's spec, the run's fragment length and the published versions."""

    def __init__(
        self,
        *,
        algorithm: Algorithm,
        rollout_len: int,
        spec: EnvSpec,
        board: WeightsBoard,
        max_elements: int,
        state_size: int = 0,
    ) -> None:
        self.algorithm, self.rollout_len = algorithm, rollout_len
        self.state_size = state_size  # a recurrent policy's state per env (0: none)
        self.spec, self.board = spec, board
        self.max_elements = max_elements
        self.obs_shape = tuple(spec.observation_shape)
        self.raw_scores = is_atari(spec.env_id)  # episode numbers the service cannot check
        self.ledger = EpisodeLedger()

    def array(
        self,
        context: grpc.ServicerContext,
        message: pb.Array,
        field: str,
        dtype: str | tuple[str, ...],
        shape: tuple[int | None, ...],
    ) -> np.ndarray:
        try:
            return from_proto(message, field, dtype=dtype, shape=shape,
                              max_elements=self.max_elements)  # fmt: skip
        except BadArray as e:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(e))
        raise AssertionError("unreachable")  # abort raises

    def batch(self, context: grpc.ServicerContext, field: str, n: int) -> None:
        if not 1 <= n <= MAX_BATCH:
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{field}: batch of {n}, expected 1..{MAX_BATCH}",
            )

    def _actions(self, context: grpc.ServicerContext, message: pb.Array, lead: tuple) -> np.ndarray:
        spec = self.spec
        if spec.action_kind != "continuous":  # indices, or one index (bit) per part
            actions = self.array(context, message, "actions", "int64",
                                 (*lead, *spec.action_shape))  # fmt: skip
            choices = np.asarray(spec.action_nvec or (spec.num_actions,))
            if actions.size and ((actions < 0) | (actions >= choices)).any():
                abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"actions: outside 0..{spec.num_actions - 1}"
                    if not spec.action_nvec
                    else f"actions: outside 0..n-1 of each part (n: {list(spec.action_nvec)})",
                )
            return actions
        actions = self.array(context, message, "actions", "float32",
                              (*lead, self.spec.num_actions))  # fmt: skip
        if not np.isfinite(actions).all():
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, "actions: not finite")
        if self.algorithm.stochastic and not self.algorithm.replay:
            # A Gaussian policy's samples go unclipped to the learner (the env got them
            # clipped): their log-probs are of the samples.
            return actions
        low = np.asarray(self.spec.action_low, np.float32)
        high = np.asarray(self.spec.action_high, np.float32)
        if ((actions < low) | (actions > high)).any():
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, "actions: outside the action box")
        return actions

    def _episodes(
        self,
        context: grpc.ServicerContext,
        message: Any,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The returns and lengths of the episodes this push ended, as the service computes
        them from the pushed rewards (see ``ledger.py``); the client's own report must agree
        with the data, else INVALID_ARGUMENT. Rewards and ends are ``[T, B]``."""
        r = np.asarray(list(message.episode_returns), np.float64)
        n = np.asarray(list(message.episode_lengths), np.int64)
        if len(r) != len(n):
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"episode_returns has {len(r)} entries and episode_lengths {len(n)}",
            )
        if not np.isfinite(r).all() or (n < 1).any():
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "episode_returns/lengths: NaN, Inf or length < 1",
            )
        ended = self.ledger.preview(context.peer(), rewards, terminated, truncated)
        if len(r) > len(ended.returns):
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"episode_returns: {len(r)} reported, but the pushed steps end only "
                f"{len(ended.returns)} episodes",
            )
        # Atari reports raw full-game scores over clipped training rewards and whole games over
        # lives: its numbers cannot be checked step by step. Elsewhere every episode that ended
        # and that the service saw whole must be reported as the rewards add up.
        if len(r) == len(ended.returns) and not self.raw_scores:
            v = ended.verified
            if (
                not np.allclose(r[v], ended.returns[v], rtol=1e-5, atol=1e-3)
                or not (n[v] == ended.lengths[v]).all()
            ):
                abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "episode_returns/lengths: differ from what the pushed rewards and ends "
                    "add up to",
                )
        return ended.counted()

    def _version(self, context: grpc.ServicerContext, version: int) -> int:
        if not 0 <= version <= max(self.board.version, 0):
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"policy_version {version} is not a version this server published "
                f"(0..{max(self.board.version, 0)})",
            )
        return version

    def rollout(self, context: grpc.ServicerContext, m: pb.Rollout) -> Rollout:
        T = self.rollout_len
        obs = self.array(context, m.observations, "observations", self.spec.observation_dtype,
                          (T, None, *self.obs_shape))  # fmt: skip
        B = obs.shape[1]
        self.batch(context, "observations (envs)", B)
        self.batch(context, "observations (env steps, T x B)", T * B)
        lead = (T, B)
        actions = self._actions(context, m.actions, lead)
        rewards = self.array(context, m.rewards, "rewards", "float32", lead)
        terminated = self.array(context, m.terminated, "terminated", "bool", lead)
        truncated = self.array(context, m.truncated, "truncated", "bool", lead)
        if self.algorithm.behaviour_log_probs:
            logp = self.array(
                context, m.behaviour_log_probs, "behaviour_log_probs", "float32", lead
            )
            if (logp > 0).any():
                abort(context, grpc.StatusCode.INVALID_ARGUMENT, "behaviour_log_probs: above 0")
        else:  # the learner does not use them
            logp = np.zeros(lead, np.float32)
        last = self.array(context, m.last_observations, "last_observations",
                           self.spec.observation_dtype, (B, *self.obs_shape))  # fmt: skip
        k = int((terminated | truncated).sum())
        final = self.array(context, m.final_observations, "final_observations",
                            self.spec.observation_dtype, (k, *self.obs_shape))  # fmt: skip
        returns, lengths = self._episodes(context, m, rewards, terminated, truncated)
        state = self.state(context, m, "initial_state", B)
        return Rollout(
            observations=obs, actions=actions, rewards=rewards, terminated=terminated,
            truncated=truncated, behaviour_logp=logp, last_observations=last,
            final_observations=final, policy_version=self._version(context, m.policy_version),
            worker_index=-1, episode_returns=returns, episode_lengths=lengths,
            initial_state=state,
        )  # fmt: skip

    def state(self, context: grpc.ServicerContext, m: Any, field: str, n: int) -> Any:
        """A recurrent policy's states ``[n, state_size]`` from ``m.<field>`` (None if unset:
        zeros); set for a feed-forward policy, INVALID_ARGUMENT."""
        if not m.HasField(field):
            return None
        if not self.state_size:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                  f"{field}: the policy is not recurrent (GetSpec's state_size is 0)")  # fmt: skip
        state = self.array(context, getattr(m, field), field, "float32", (n, self.state_size))
        if not np.isfinite(state).all():
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"{field}: NaN or Inf")
        return state

    def transitions(self, context: grpc.ServicerContext, m: pb.PushTransitionsRequest) -> Rollout:
        """N transitions as a one-step fragment of N envs, which the replay path stores as is."""
        obs = self.array(context, m.observations, "observations", self.spec.observation_dtype,
                          (None, *self.obs_shape))  # fmt: skip
        N = len(obs)
        self.batch(context, "observations", N)
        actions = self._actions(context, m.actions, (N,))
        rewards = self.array(context, m.rewards, "rewards", "float32", (N,))
        next_obs = self.array(context, m.next_observations, "next_observations",
                               self.spec.observation_dtype, (N, *self.obs_shape))  # fmt: skip
        terminated = self.array(context, m.terminated, "terminated", "bool", (N,))
        truncated = self.array(context, m.truncated, "truncated", "bool", (N,))
        returns, lengths = self._episodes(
            context, m, rewards[None], terminated[None], truncated[None]
        )
        done = terminated | truncated
        return Rollout(
            observations=obs[None], actions=actions[None], rewards=rewards[None],
            terminated=terminated[None], truncated=truncated[None],
            behaviour_logp=np.zeros((1, N), np.float32), last_observations=next_obs,
            final_observations=next_obs[done],
            policy_version=self._version(context, m.policy_version), worker_index=-1,
            episode_returns=returns, episode_lengths=lengths,
        )  # fmt: skip
