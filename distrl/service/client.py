"""A Python client for the distrl service: NumPy in, NumPy out.

Usage::

    from distrl.service.client import Client

    with Client("127.0.0.1:50051", token=None) as client:
        spec = client.spec()
        actions, log_probs, version = client.act(observations)      # [N, *obs] -> [N]
        client.push_rollout(rollout)                                  # a distrl.types.Rollout
        weights = client.weights(min_version=10, timeout_s=30)       # a WeightsMessage
        print(client.status())

Errors arrive as ``grpc.RpcError`` with the server's status code and message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import grpc
import numpy as np

from distrl.service.arrays import ACTION_KIND_NAMES, DTYPES, to_proto
from distrl.service.v1 import distrl_pb2 as pb
from distrl.service.v1 import distrl_pb2_grpc as pb_grpc
from distrl.types import Rollout, WeightsMessage


@dataclass(frozen=True)
class ServiceSpec:
    env_id: str
    algo: str
    observation_shape: tuple[int, ...]
    observation_dtype: str
    action_kind: str  # "discrete", "continuous", "multi_discrete" or "multi_binary"
    num_actions: int
    action_low: tuple[float, ...]
    action_high: tuple[float, ...]
    rollout_len: int
    weights_version: int
    training: bool
    max_batch: int
    action_nvec: tuple[int, ...] = ()  # multi_*: choices per part
    action_mask: bool = False  # observations hold an action_mask
    state_size: int = 0  # a recurrent policy's state per observation (Act carries it)


def read_array(message: pb.Array) -> np.ndarray:
    """A server's array (trusted: it came from the server this client chose)."""
    dtype = DTYPES[message.dtype]
    return np.frombuffer(message.data, dtype=dtype).reshape(tuple(message.shape)).copy()


class Client:
    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        tls_ca: str | None = None,
        max_message_bytes: int = 64 * 1024 * 1024,
        timeout_s: float = 60.0,
    ) -> None:
        options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]
        if tls_ca is not None:
            with open(tls_ca, "rb") as f:
                credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
            self.channel = grpc.secure_channel(address, credentials, options=options)
        else:
            self.channel = grpc.insecure_channel(address, options=options)
        self.stub = pb_grpc.DistrlStub(self.channel)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.timeout_s = timeout_s

    def _call(self, method: Any, request: Any, timeout_s: float | None = None) -> Any:
        return method(request, metadata=self.metadata, timeout=timeout_s or self.timeout_s)

    def spec(self) -> ServiceSpec:
        s = self._call(self.stub.GetSpec, pb.GetSpecRequest())
        return ServiceSpec(
            env_id=s.env_id,
            algo=s.algo,
            observation_shape=tuple(s.observation_shape),
            observation_dtype=DTYPES[s.observation_dtype].name,
            action_kind=ACTION_KIND_NAMES[s.action_kind],
            num_actions=s.num_actions,
            action_low=tuple(s.action_low),
            action_high=tuple(s.action_high),
            rollout_len=s.rollout_len,
            weights_version=s.weights_version,
            training=s.training,
            max_batch=s.max_batch,
            action_nvec=tuple(s.action_nvec),
            action_mask=s.action_mask,
            state_size=s.state_size,
        )

    def act(
        self, observations: np.ndarray, deterministic: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None, int]:
        """``[N, *obs]`` -> ``(actions, log-probs or None, weights version)``; a recurrent
        policy acts from zero states here (:meth:`act_with_state` carries them)."""
        actions, logp, _, version = self.act_with_state(observations, deterministic)
        return actions, logp, version

    def act_with_state(
        self,
        observations: np.ndarray,
        deterministic: bool = False,
        state: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, int]:
        """``(actions, log-probs or None, next state or None, weights version)``; ``state``: a
        recurrent policy's ``[N, state_size]`` (from the previous answer; None: zeros)."""
        request = pb.ActRequest(
            observations=to_proto(observations),
            deterministic=deterministic,
            state=None if state is None else to_proto(np.asarray(state, np.float32)),
        )
        r = self._call(self.stub.Act, request)
        logp = read_array(r.log_probs) if r.HasField("log_probs") else None
        next_state = read_array(r.state) if r.HasField("state") else None
        return read_array(r.actions), logp, next_state, r.weights_version

    def weights(self, min_version: int = 0, timeout_s: float = 0.0) -> WeightsMessage:
        request = pb.GetWeightsRequest(min_version=min_version, timeout_s=timeout_s)
        return _weights(self._call(self.stub.GetWeights, request, timeout_s + self.timeout_s))

    def watch_weights(self, min_version: int = 0) -> Iterator[WeightsMessage]:
        """Each new weights version as it is published (until the channel closes)."""
        stream = self.stub.WatchWeights(
            pb.WatchWeightsRequest(min_version=min_version), metadata=self.metadata
        )
        for message in stream:
            yield _weights(message)

    def push_rollout(self, rollout: Rollout) -> int:
        """Queue a fragment for the learner; returns the env steps accepted."""
        r = rollout
        message = pb.Rollout(
            observations=to_proto(r.observations),
            actions=to_proto(r.actions),
            rewards=to_proto(r.rewards.astype(np.float32)),
            terminated=to_proto(r.terminated),
            truncated=to_proto(r.truncated),
            behaviour_log_probs=to_proto(r.behaviour_logp.astype(np.float32)),
            last_observations=to_proto(r.last_observations),
            final_observations=to_proto(r.final_observations),
            policy_version=r.policy_version,
            episode_returns=[float(x) for x in r.episode_returns],
            episode_lengths=[int(x) for x in r.episode_lengths],
            initial_state=(
                None
                if r.initial_state is None
                else to_proto(np.asarray(r.initial_state, np.float32))
            ),
        )
        return self._call(
            self.stub.PushRollout, pb.PushRolloutRequest(rollout=message)
        ).accepted_steps

    def push_transitions(
        self,
        observations: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_observations: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        policy_version: int = 0,
        episode_returns: tuple[float, ...] = (),
        episode_lengths: tuple[int, ...] = (),
    ) -> int:
        request = pb.PushTransitionsRequest(
            observations=to_proto(observations),
            actions=to_proto(actions),
            rewards=to_proto(np.asarray(rewards, np.float32)),
            next_observations=to_proto(next_observations),
            terminated=to_proto(np.asarray(terminated, bool)),
            truncated=to_proto(np.asarray(truncated, bool)),
            policy_version=policy_version,
            episode_returns=list(episode_returns),
            episode_lengths=list(episode_lengths),
        )
        return self._call(self.stub.PushTransitions, request).accepted_steps

    def status(self) -> dict[str, Any]:
        s = self._call(self.stub.Status, pb.StatusRequest())
        return {
            "weights_version": s.weights_version,
            "env_steps": s.env_steps,
            "updates": s.updates,
            "episodes": s.episodes,
            "recent_returns": list(s.recent_returns),
            "steps_per_s": s.steps_per_s,
            "external_steps": s.external_steps,
            "backlog_steps": s.backlog_steps,
            "training": s.training,
        }

    def checkpoint(self) -> str:
        return self._call(self.stub.Checkpoint, pb.CheckpointRequest(), 300).path

    def stop(self) -> None:
        self._call(self.stub.Stop, pb.StopRequest())

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _weights(message: pb.Weights) -> WeightsMessage:
    return WeightsMessage(
        version=message.version,
        names=tuple(message.names),
        weights=[read_array(a) for a in message.arrays],
    )
