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

import contextlib
import hmac
import logging
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass

import grpc
import numpy as np

from distrl.agents.registry import Algorithm
from distrl.config import AlgorithmSections, ConfigError
from distrl.envs import EnvSpec
from distrl.policy import Policy
from distrl.service.arrays import ACTION_KINDS, dtype_enum, to_proto
from distrl.service.decoding import MAX_BATCH, RequestDecoder, abort
from distrl.service.exchange import Inbox, RunControl, WeightsBoard
from distrl.service.options import ServeOptions, check_options, split_listen
from distrl.service.v1 import distrl_pb2 as pb
from distrl.service.v1 import distrl_pb2_grpc as pb_grpc
from distrl.types import Rollout, WeightsMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedRun:
    """What the service knows of the run it serves: the algorithm (what experience it learns
    from, how it acts), the sections it reads, the fragment length and the acting seed."""

    algorithm: Algorithm
    sections: AlgorithmSections
    rollout_len: int  # env steps per env in one pushed fragment
    seed: int = 0


class NewestWeightsPolicy:
    """Acts for ``Act`` with the board's newest weights: the algorithm's own acting policy
    (:class:`distrl.Policy`), so a served actor explores exactly as the rollout workers do
    (A2C samples from its softmax; DDPG adds its configured noise, OU or Gaussian, per row, and
    acts uniformly at random while the actor is untrained, version 0)."""

    def __init__(self, run: ServedRun, spec: EnvSpec, board: WeightsBoard) -> None:
        self.board, self.run, self.spec = board, run, spec
        self.policy: Policy | None = None
        self._lock = threading.Lock()

    def act(
        self, obs: np.ndarray, deterministic: bool, state: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, int]:
        weights = self.board.get(0)
        if weights is None:
            raise LookupError("no weights published yet")
        with self._lock:
            if self.policy is None:
                run = self.run
                self.policy = Policy(
                    algorithm=run.algorithm, sections=run.sections, spec=self.spec,
                    weights=weights, seed=run.seed,
                )  # fmt: skip
            elif weights.version != self.policy.version:
                self.policy.set_weights(weights)
            policy = self.policy
        actions, logp, next_state = policy.act_with_state(obs, deterministic, state)
        return actions, logp, next_state, policy.version


class DistrlService(pb_grpc.DistrlServicer):
    """The RPCs. ``inbox`` and ``control`` are None when serving a checkpoint (inference only)."""

    def __init__(
        self,
        *,
        run: ServedRun,
        spec: EnvSpec,
        board: WeightsBoard,
        options: ServeOptions,
        inbox: Inbox | None = None,
        control: RunControl | None = None,
    ) -> None:
        self.run, self.spec, self.board, self.options = run, spec, board, options
        self.inbox, self.control = inbox, control
        self.policy = NewestWeightsPolicy(run, spec, board)
        # bytes bound elements from above
        self.decode = RequestDecoder(
            algorithm=run.algorithm, rollout_len=run.rollout_len, spec=spec,
            board=board, max_elements=options.max_message_bytes,
            state_size=2 * run.sections.model.lstm_size,
        )  # fmt: skip
        self._wait_slots = threading.BoundedSemaphore(options.waiting_calls)

    # --- authentication -------------------------------------------------------------------------

    def _authorize(self, context: grpc.ServicerContext, admin: bool = False) -> None:
        wanted = self.options.admin_token if admin else self.options.token
        if admin and not wanted:
            abort(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                "admin RPCs are disabled: start with --admin-token",
            )
        if not wanted:
            return
        given_all = [v for k, v in context.invocation_metadata() if k == "authorization"]
        if len(given_all) > 1:
            abort(context, grpc.StatusCode.UNAUTHENTICATED, "more than one authorization header")
        given = str(given_all[0]) if given_all else ""
        scheme, _, token = given.partition(" ")
        # compare_digest takes constant time whatever the mismatch; hashing first hides length.
        if scheme.lower() != "bearer" or not hmac.compare_digest(_digest(token), _digest(wanted)):
            abort(context, grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

    # --- reading -------------------------------------------------------------------------------

    def GetSpec(self, request: pb.GetSpecRequest, context: grpc.ServicerContext) -> pb.Spec:
        self._authorize(context)
        s = self.spec
        return pb.Spec(
            env_id=s.env_id,
            algo=self.run.algorithm.name,
            observation_shape=list(s.observation_shape),
            observation_dtype=dtype_enum(s.observation_dtype),  # type: ignore[arg-type]
            action_kind=ACTION_KINDS[s.action_kind],  # type: ignore[arg-type]
            num_actions=s.num_actions,
            action_nvec=list(s.action_nvec),
            action_mask=s.masked,
            state_size=self.decode.state_size,
            action_low=list(s.action_low),
            action_high=list(s.action_high),
            rollout_len=self.run.rollout_len,
            weights_version=max(self.board.version, 0),
            training=self.control is not None,
            max_batch=MAX_BATCH,
        )

    def GetWeights(
        self, request: pb.GetWeightsRequest, context: grpc.ServicerContext
    ) -> pb.Weights:
        self._authorize(context)
        if not 0 <= request.timeout_s <= 600:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, "timeout_s must be in [0, 600]")
        weights = self.board.get(request.min_version)
        if weights is None and request.timeout_s > 0:
            with self._waiting(context) as cancelled:
                weights = self.board.get(request.min_version, request.timeout_s, cancelled)
        if weights is None:
            abort(
                context,
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
        with self._waiting(context) as cancelled:
            while not cancelled.is_set() and not self.board.closed:
                weights = self.board.get(wanted, timeout=60.0, cancelled=cancelled)
                if weights is not None:
                    yield _weights_proto(weights)
                    wanted = weights.version + 1

    @contextlib.contextmanager
    def _waiting(self, context: grpc.ServicerContext) -> Iterator[threading.Event]:
        """A slot for a call that waits (refused when all are taken) and an event set the
        moment the call ends for any reason (cancelled, deadline, closed connection), which
        wakes its wait at once: an abandoned call gives its thread back immediately."""
        if not self._wait_slots.acquire(blocking=False):
            abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"{self.options.waiting_calls} calls are waiting for weights already; retry later",
            )
        cancelled = threading.Event()

        def ended() -> None:
            cancelled.set()
            self.board.wake()

        try:
            context.add_callback(ended)
            if not context.is_active():  # ended before the callback was in place
                cancelled.set()
            yield cancelled
        finally:
            self._wait_slots.release()

    def Act(self, request: pb.ActRequest, context: grpc.ServicerContext) -> pb.ActResponse:
        self._authorize(context)
        obs_spec = (None, *self.decode.obs_shape)
        obs = self.decode.array(context, request.observations, "observations",
                                self.spec.observation_dtype, obs_spec)  # fmt: skip
        self.decode.batch(context, "observations", len(obs))
        state = self.decode.state(context, request, "state", len(obs))
        try:
            actions, logp, next_state, version = self.policy.act(obs, request.deterministic, state)
        except LookupError as e:
            abort(context, grpc.StatusCode.UNAVAILABLE, str(e))
        return pb.ActResponse(
            actions=to_proto(actions),
            log_probs=to_proto(logp) if logp is not None else None,
            weights_version=version,
            state=to_proto(next_state) if next_state is not None else None,
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
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, "rollout: missing")
        rollout = self.decode.rollout(context, request.rollout)
        return self._offer(context, rollout)

    def PushTransitions(
        self, request: pb.PushTransitionsRequest, context: grpc.ServicerContext
    ) -> pb.PushResponse:
        self._authorize(context)
        self._accepting(context)
        if not self.run.algorithm.replay:
            abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"algo {self.run.algorithm.name} learns on-policy from whole fragments: "
                "use PushRollout",
            )
        rollout = self.decode.transitions(context, request)
        return self._offer(context, rollout)

    # --- admin ---------------------------------------------------------------------------------

    def Checkpoint(
        self, request: pb.CheckpointRequest, context: grpc.ServicerContext
    ) -> pb.CheckpointResponse:
        self._authorize(context, admin=True)
        if self.control is None or not self.control.can_checkpoint:
            abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "this run writes no checkpoints (no --checkpoint-dir)",
            )
        assert self.control is not None  # abort raised otherwise
        future = self.control.request_checkpoint()
        try:
            path = future.result(timeout=300)
        except Exception as e:
            abort(context, grpc.StatusCode.INTERNAL, f"checkpoint failed: {e}")
        return pb.CheckpointResponse(path=str(path))

    def Stop(self, request: pb.StopRequest, context: grpc.ServicerContext) -> pb.StopResponse:
        self._authorize(context, admin=True)
        if self.control is None:
            abort(
                context, grpc.StatusCode.FAILED_PRECONDITION, "serving a checkpoint: no run to stop"
            )
        assert self.control is not None  # abort raised otherwise
        self.control.request_stop()
        return pb.StopResponse()

    # --- checks ---------------------------------------------------------------------------------

    def _accepting(self, context: grpc.ServicerContext) -> None:
        if self.inbox is None:
            abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "this server does not train (serving a checkpoint, or async_unit gradients)",
            )

    def _offer(self, context: grpc.ServicerContext, rollout: Rollout) -> pb.PushResponse:
        assert self.inbox is not None
        if not self.inbox.offer(rollout):
            abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"learner backlog full ({self.inbox.backlog_steps} env steps queued, limit "
                f"{self.inbox.capacity_steps}); retry later",
            )
        # Only an accepted push moves its streams' running sums on.
        self.decode.ledger.record(
            context.peer(), rollout.rewards, rollout.terminated, rollout.truncated
        )
        return pb.PushResponse(accepted_steps=rollout.env_steps, weights_version=self.board.version)


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
    # Waiting calls can hold at most ``waiting_calls`` threads (a semaphore in the service), so
    # ``threads`` always remain for the calls that answer at once. Threads start on demand.
    pool = futures.ThreadPoolExecutor(
        max_workers=options.threads + options.waiting_calls, thread_name_prefix="distrl-grpc"
    )
    server = grpc.server(
        pool,
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
        ],
        # beyond: RESOURCE_EXHAUSTED at once, instead of a queue that grows
        maximum_concurrent_rpcs=4 * options.threads + options.waiting_calls,
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
