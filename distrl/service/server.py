"""The gRPC service (``distrl.v1.Distrl``): acting, weights, experience from outside Ray, control.

Started beside training by ``python -m distrl.launch --serve HOST:PORT``, or alone for inference
by ``python -m distrl.serve``. Security and robustness, by construction:

- it binds 127.0.0.1 unless told otherwise, and any other address needs a token;
- with a token, every call must carry ``authorization: Bearer <token>`` (compared in constant
  time), else UNAUTHENTICATED; Checkpoint and Stop need the admin token;
- messages are capped in size; every incoming array is checked (dtype, shape against the spec,
  element count, byte length, finite values, action range) and a bad one is INVALID_ARGUMENT
  naming the field; nothing from the network is unpickled;
- pushed experience waits in a bounded inbox: when it is full the answer is RESOURCE_EXHAUSTED,
  never unbounded memory; the learner is never called from a gRPC thread.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np

from distrl.config import Config, ConfigError
from distrl.envs import EnvSpec
from distrl.policy import Policy
from distrl.service.arrays import BadArray, dtype_enum, from_proto, to_proto
from distrl.service.state import Inbox, RunControl, WeightsBoard
from distrl.service.v1 import distrl_pb2 as pb
from distrl.service.v1 import distrl_pb2_grpc as pb_grpc
from distrl.types import Rollout, WeightsMessage

log = logging.getLogger(__name__)

MAX_BATCH = 4096  # observations per Act, envs per rollout, transitions per push
LOOPBACK = ("localhost",)


@dataclass(frozen=True)
class ServeOptions:
    listen: str = "127.0.0.1:50051"
    token: str | None = None
    admin_token: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    max_message_bytes: int = 64 * 1024 * 1024
    backlog_steps: int = 100_000
    threads: int = 16


def split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"serve address must be HOST:PORT; got {listen!r}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_options(options: ServeOptions) -> None:
    """The refusals that happen before anything starts (exit 2 for the commands)."""
    host, _ = split_listen(options.listen)
    if not is_loopback(host) and not options.token:
        raise ConfigError(
            f"refusing to serve on {host!r} without a token: binding a non-loopback address "
            "needs --token (or DISTRL_TOKEN)"
        )
    if (options.tls_cert is None) != (options.tls_key is None):
        raise ConfigError("TLS needs both --tls-cert and --tls-key")
    for path in (options.tls_cert, options.tls_key):
        if path is not None:
            try:
                with open(path, "rb"):
                    pass
            except OSError as e:
                raise ConfigError(f"cannot read {path!r}: {e.strerror}") from None


class ServedPolicy:
    """Acts for ``Act`` with the board's newest weights: the algorithm's own acting policy
    (:class:`distrl.Policy`), so a served actor explores exactly as the rollout workers do
    (A2C samples from its softmax; DDPG adds its configured noise, OU or Gaussian, per row, and
    acts uniformly at random while the actor is untrained, version 0)."""

    def __init__(self, config: Config, spec: EnvSpec, board: WeightsBoard, seed: int = 0) -> None:
        self.board = board
        self.config, self.spec, self.seed = config, spec, seed
        self.policy: Policy | None = None
        self._lock = threading.Lock()

    def act(
        self, obs: np.ndarray, deterministic: bool
    ) -> tuple[np.ndarray, np.ndarray | None, int]:
        weights = self.board.get(0)
        if weights is None:
            raise LookupError("no weights published yet")
        with self._lock:
            if self.policy is None:
                self.policy = Policy(
                    config=self.config, spec=self.spec, weights=weights, seed=self.seed
                )
            elif weights.version != self.policy.version:
                self.policy.set_weights(weights)
            policy = self.policy
        actions, logp = policy.act_with_log_probs(obs, deterministic)
        return actions, logp, policy.version


class DistrlService(pb_grpc.DistrlServicer):
    """The RPCs. ``inbox`` and ``control`` are None when serving a checkpoint (inference only)."""

    def __init__(
        self,
        *,
        config: Config,
        spec: EnvSpec,
        board: WeightsBoard,
        options: ServeOptions,
        inbox: Inbox | None = None,
        control: RunControl | None = None,
    ) -> None:
        self.config, self.spec, self.board, self.options = config, spec, board, options
        self.inbox, self.control = inbox, control
        self.policy = ServedPolicy(config, spec, board, seed=config.seed)
        self.obs_shape = tuple(spec.observation_shape)
        self.discrete = spec.action_kind == "discrete"
        self.max_elements = options.max_message_bytes  # bytes bound elements from above

    # --- authentication -------------------------------------------------------------------------

    def _authorize(self, context: grpc.ServicerContext, admin: bool = False) -> None:
        wanted = self.options.admin_token if admin else self.options.token
        if admin and not wanted:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                "admin RPCs are disabled: start with --admin-token",
            )
        if not wanted:
            return
        metadata = dict(context.invocation_metadata())
        given = str(metadata.get("authorization", ""))
        scheme, _, token = given.partition(" ")
        # compare_digest takes constant time whatever the mismatch; hashing first hides length.
        if scheme.lower() != "bearer" or not hmac.compare_digest(_digest(token), _digest(wanted)):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

    # --- reading -------------------------------------------------------------------------------

    def GetSpec(self, request: pb.GetSpecRequest, context: grpc.ServicerContext) -> pb.Spec:
        self._authorize(context)
        s = self.spec
        return pb.Spec(
            env_id=s.env_id,
            algo=self.config.algo,
            observation_shape=list(s.observation_shape),
            observation_dtype=dtype_enum(s.observation_dtype),  # type: ignore[arg-type]
            action_kind=pb.DISCRETE if self.discrete else pb.CONTINUOUS,
            num_actions=s.num_actions,
            action_low=list(s.action_low),
            action_high=list(s.action_high),
            rollout_len=self.config.rollout_len,
            weights_version=max(self.board.version, 0),
            training=self.control is not None,
            max_batch=MAX_BATCH,
        )

    def GetWeights(
        self, request: pb.GetWeightsRequest, context: grpc.ServicerContext
    ) -> pb.Weights:
        self._authorize(context)
        if not 0 <= request.timeout_s <= 600:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "timeout_s must be in [0, 600]")
        weights = self.board.get(request.min_version, timeout=request.timeout_s)
        if weights is None:
            context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"weights version {request.min_version} not reached (now {self.board.version})",
            )
        assert weights is not None  # abort raised otherwise
        return _weights_proto(weights)

    def WatchWeights(
        self, request: pb.WatchWeightsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.Weights]:
        self._authorize(context)
        wanted = max(request.min_version, 0)
        while context.is_active() and not self.board.closed:
            weights = self.board.get(wanted, timeout=1.0)
            if weights is not None:
                yield _weights_proto(weights)
                wanted = weights.version + 1

    def Act(self, request: pb.ActRequest, context: grpc.ServicerContext) -> pb.ActResponse:
        self._authorize(context)
        obs = self._array(context, request.observations, "observations",
                          self.spec.observation_dtype, (None, *self.obs_shape))  # fmt: skip
        self._batch(context, "observations", len(obs))
        try:
            actions, logp, version = self.policy.act(obs, request.deterministic)
        except LookupError as e:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(e))
        return pb.ActResponse(
            actions=to_proto(actions),
            log_probs=to_proto(logp) if logp is not None else None,
            weights_version=version,
        )

    def Status(self, request: pb.StatusRequest, context: grpc.ServicerContext) -> pb.StatusResponse:
        self._authorize(context)
        snap = self.control.snapshot if self.control is not None else {}
        return pb.StatusResponse(
            weights_version=max(self.board.version, 0),
            env_steps=snap.get("env_steps", 0),
            updates=snap.get("updates", 0),
            episodes=snap.get("episodes", 0),
            recent_returns=snap.get("recent_returns", []),
            steps_per_s=snap.get("steps_per_s", 0.0),
            external_steps=self.inbox.accepted_steps if self.inbox is not None else 0,
            backlog_steps=self.inbox.backlog_steps if self.inbox is not None else 0,
            training=self.control is not None,
        )

    # --- experience ------------------------------------------------------------------------------

    def PushRollout(
        self, request: pb.PushRolloutRequest, context: grpc.ServicerContext
    ) -> pb.PushResponse:
        self._authorize(context)
        self._accepting(context)
        if not request.HasField("rollout"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "rollout: missing")
        rollout = self._rollout(context, request.rollout)
        return self._offer(context, rollout)

    def PushTransitions(
        self, request: pb.PushTransitionsRequest, context: grpc.ServicerContext
    ) -> pb.PushResponse:
        self._authorize(context)
        self._accepting(context)
        if not self.config.algorithm.replay:
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"algo {self.config.algo} learns on-policy from whole fragments: use PushRollout",
            )
        rollout = self._transitions(context, request)
        return self._offer(context, rollout)

    # --- admin ---------------------------------------------------------------------------------

    def Checkpoint(
        self, request: pb.CheckpointRequest, context: grpc.ServicerContext
    ) -> pb.CheckpointResponse:
        self._authorize(context, admin=True)
        if self.control is None or not self.control.can_checkpoint:
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "this run writes no checkpoints (no --checkpoint-dir)",
            )
        assert self.control is not None  # abort raised otherwise
        future = self.control.request_checkpoint()
        try:
            path = future.result(timeout=300)
        except Exception as e:
            context.abort(grpc.StatusCode.INTERNAL, f"checkpoint failed: {e}")
        return pb.CheckpointResponse(path=str(path))

    def Stop(self, request: pb.StopRequest, context: grpc.ServicerContext) -> pb.StopResponse:
        self._authorize(context, admin=True)
        if self.control is None:
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, "serving a checkpoint: no run to stop"
            )
        assert self.control is not None  # abort raised otherwise
        self.control.request_stop()
        return pb.StopResponse()

    # --- checks ---------------------------------------------------------------------------------

    def _accepting(self, context: grpc.ServicerContext) -> None:
        if self.inbox is None:
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "this server does not train (serving a checkpoint, or async_unit gradients)",
            )

    def _offer(self, context: grpc.ServicerContext, rollout: Rollout) -> pb.PushResponse:
        assert self.inbox is not None
        if not self.inbox.offer(rollout):
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"learner backlog full ({self.inbox.backlog_steps} env steps queued, limit "
                f"{self.inbox.capacity_steps}); retry later",
            )
        return pb.PushResponse(accepted_steps=rollout.env_steps, weights_version=self.board.version)

    def _array(
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
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        raise AssertionError("unreachable")  # abort raises

    def _batch(self, context: grpc.ServicerContext, field: str, n: int) -> None:
        if not 1 <= n <= MAX_BATCH:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"{field}: batch of {n}, expected 1..{MAX_BATCH}"
            )

    def _actions(self, context: grpc.ServicerContext, message: pb.Array, lead: tuple) -> np.ndarray:
        if self.discrete:
            actions = self._array(context, message, "actions", "int64", lead)
            if actions.size and (actions.min() < 0 or actions.max() >= self.spec.num_actions):
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"actions: outside 0..{self.spec.num_actions - 1}",
                )
            return actions
        actions = self._array(context, message, "actions", "float32",
                              (*lead, self.spec.num_actions))  # fmt: skip
        low = np.asarray(self.spec.action_low, np.float32)
        high = np.asarray(self.spec.action_high, np.float32)
        if ((actions < low) | (actions > high)).any():
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "actions: outside the action box")
        return actions

    def _episodes(self, context: grpc.ServicerContext, returns: Any, lengths: Any) -> tuple:
        r = np.asarray(list(returns), np.float64)
        n = np.asarray(list(lengths), np.int64)
        if len(r) != len(n):
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"episode_returns has {len(r)} entries and episode_lengths {len(n)}",
            )
        if not np.isfinite(r).all() or (n < 1).any():
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "episode_returns/lengths: NaN, Inf or length < 1"
            )
        return r, n

    def _version(self, context: grpc.ServicerContext, version: int) -> int:
        if not 0 <= version <= max(self.board.version, 0):
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"policy_version {version} is not a version this server published "
                f"(0..{max(self.board.version, 0)})",
            )
        return version

    def _rollout(self, context: grpc.ServicerContext, m: pb.Rollout) -> Rollout:
        T = self.config.rollout_len
        obs = self._array(context, m.observations, "observations", self.spec.observation_dtype,
                          (T, None, *self.obs_shape))  # fmt: skip
        B = obs.shape[1]
        self._batch(context, "observations (envs)", B)
        lead = (T, B)
        actions = self._actions(context, m.actions, lead)
        rewards = self._array(context, m.rewards, "rewards", "float32", lead)
        terminated = self._array(context, m.terminated, "terminated", "bool", lead)
        truncated = self._array(context, m.truncated, "truncated", "bool", lead)
        if self.config.algorithm.behaviour_log_probs:
            logp = self._array(
                context, m.behaviour_log_probs, "behaviour_log_probs", "float32", lead
            )
            if (logp > 0).any():
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "behaviour_log_probs: above 0")
        else:  # the learner does not use them
            logp = np.zeros(lead, np.float32)
        last = self._array(context, m.last_observations, "last_observations",
                           self.spec.observation_dtype, (B, *self.obs_shape))  # fmt: skip
        k = int((terminated | truncated).sum())
        final = self._array(context, m.final_observations, "final_observations",
                            self.spec.observation_dtype, (k, *self.obs_shape))  # fmt: skip
        returns, lengths = self._episodes(context, m.episode_returns, m.episode_lengths)
        return Rollout(
            observations=obs, actions=actions, rewards=rewards, terminated=terminated,
            truncated=truncated, behaviour_logp=logp, last_observations=last,
            final_observations=final, policy_version=self._version(context, m.policy_version),
            worker_index=-1, episode_returns=returns, episode_lengths=lengths,
        )  # fmt: skip

    def _transitions(self, context: grpc.ServicerContext, m: pb.PushTransitionsRequest) -> Rollout:
        """N transitions as a one-step fragment of N envs, which the replay path stores as is."""
        obs = self._array(context, m.observations, "observations", self.spec.observation_dtype,
                          (None, *self.obs_shape))  # fmt: skip
        N = len(obs)
        self._batch(context, "observations", N)
        actions = self._actions(context, m.actions, (N,))
        rewards = self._array(context, m.rewards, "rewards", "float32", (N,))
        next_obs = self._array(context, m.next_observations, "next_observations",
                               self.spec.observation_dtype, (N, *self.obs_shape))  # fmt: skip
        terminated = self._array(context, m.terminated, "terminated", "bool", (N,))
        truncated = self._array(context, m.truncated, "truncated", "bool", (N,))
        returns, lengths = self._episodes(context, m.episode_returns, m.episode_lengths)
        done = terminated | truncated
        return Rollout(
            observations=obs[None], actions=actions[None], rewards=rewards[None],
            terminated=terminated[None], truncated=truncated[None],
            behaviour_logp=np.zeros((1, N), np.float32), last_observations=next_obs,
            final_observations=next_obs[done],
            policy_version=self._version(context, m.policy_version), worker_index=-1,
            episode_returns=returns, episode_lengths=lengths,
        )  # fmt: skip


def _digest(token: str) -> bytes:
    import hashlib

    return hashlib.sha256(token.encode()).digest()


def _weights_proto(weights: WeightsMessage) -> pb.Weights:
    return pb.Weights(
        version=weights.version,
        names=list(weights.names),
        arrays=[to_proto(np.asarray(w)) for w in weights.weights],
    )


def start_server(service: DistrlService, options: ServeOptions) -> tuple[grpc.Server, int]:
    """Start serving; returns the server and the bound port (``:0`` picks a free one)."""
    check_options(options)
    limit = options.max_message_bytes
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=options.threads, thread_name_prefix="distrl-grpc"),
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
        ],
        maximum_concurrent_rpcs=4 * options.threads,  # beyond: RESOURCE_EXHAUSTED at once
    )
    pb_grpc.add_DistrlServicer_to_server(service, server)
    if options.tls_cert is not None and options.tls_key is not None:
        with open(options.tls_key, "rb") as k, open(options.tls_cert, "rb") as c:
            credentials = grpc.ssl_server_credentials([(k.read(), c.read())])
        port = server.add_secure_port(options.listen, credentials)
    else:
        port = server.add_insecure_port(options.listen)
    if port == 0:
        raise ConfigError(f"cannot listen on {options.listen!r} (address in use?)")
    server.start()
    scheme = "TLS" if options.tls_cert else "plaintext"
    host, _ = split_listen(options.listen)
    log.info("distrl service on %s:%d (%s%s)", host, port, scheme,
             ", token required" if options.token else "")  # fmt: skip
    return server, port
