"""Property-based fuzzing of request decoding, every RPC, on a real loopback server.

Whatever a client sends, the answer is a status the proto documents (never UNKNOWN or INTERNAL,
which would mean an unhandled exception), its message stays under 1 KB, and a rejected push
counts nothing. Examples are bounded so the suite stays fast."""

import math

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distrl.config import build_config
from distrl.service.arrays import to_proto
from distrl.service.v1 import distrl_pb2 as pb
from distrl.service.v1 import distrl_pb2_grpc as pb_grpc
from tests.service.conftest import serve
from tests.service.test_service import fragment

EXAMPLES = 60  # per RPC
FORBIDDEN = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)

sizes = st.one_of(st.integers(0, 8), st.integers(-3, 2**63 - 1), st.sampled_from([2**62, 2**31]))
arrays = st.builds(
    pb.Array,
    dtype=st.integers(-1, 8),
    shape=st.lists(sizes, max_size=5) | st.lists(st.integers(0, 3), min_size=60, max_size=200),
    data=st.binary(max_size=300),
)
numbers = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -1.0, 1e300])
returns = st.lists(numbers, max_size=30)
lengths = st.lists(st.integers(-5, 2**63 - 1), max_size=30)
ROLLOUT_FIELDS = ("observations", "actions", "rewards", "terminated", "truncated",
                  "behaviour_log_probs", "last_observations", "final_observations")  # fmt: skip


@pytest.fixture(scope="module")
def served():
    server, s = serve(build_config({"envs_per_worker": 2, "rollout_len": 8, "algo": "a2c"}))
    yield s
    s.board.close()
    server.stop(grace=None)


def valid_rollout(s):
    r = fragment(s)
    return pb.Rollout(
        observations=to_proto(r.observations), actions=to_proto(r.actions),
        rewards=to_proto(r.rewards), terminated=to_proto(r.terminated),
        truncated=to_proto(r.truncated), behaviour_log_probs=to_proto(r.behaviour_logp),
        last_observations=to_proto(r.last_observations),
        final_observations=to_proto(r.final_observations), policy_version=0,
    )  # fmt: skip


def call(s, method, request):
    """The status code and message of one call (OK for an answer)."""
    stub = pb_grpc.DistrlStub(grpc.insecure_channel(s.address))
    try:
        getattr(stub, method)(request, timeout=10)
    except grpc.RpcError as e:
        return e.code(), e.details() or ""
    return grpc.StatusCode.OK, ""


def check(s, method, request):
    before = s.inbox.accepted_steps
    code, message = call(s, method, request)
    assert code not in FORBIDDEN, (method, code, message)
    assert len(message.encode()) < 1024, (method, len(message))
    if code != grpc.StatusCode.OK:
        assert s.inbox.accepted_steps == before, "a rejected request was counted"
    return code


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(observations=arrays, deterministic=st.booleans())
def test_act(served, observations, deterministic):
    check(served, "Act", pb.ActRequest(observations=observations, deterministic=deterministic))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(field=st.sampled_from(ROLLOUT_FIELDS), array=arrays, version=st.integers(-2, 2**63 - 1),
       episode_returns=returns, episode_lengths=lengths)  # fmt: skip
def test_push_rollout(served, field, array, version, episode_returns, episode_lengths):
    rollout = valid_rollout(served)  # valid except for what is drawn
    getattr(rollout, field).CopyFrom(array)
    rollout.policy_version = version
    rollout.episode_returns.extend(episode_returns)
    rollout.episode_lengths.extend(episode_lengths)
    check(served, "PushRollout", pb.PushRolloutRequest(rollout=rollout))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(obs=arrays, actions=arrays, rewards=arrays, next_obs=arrays, version=st.integers(-2, 5),
       episode_returns=returns)  # fmt: skip
def test_push_transitions(served, obs, actions, rewards, next_obs, version, episode_returns):
    request = pb.PushTransitionsRequest(
        observations=obs, actions=actions, rewards=rewards, next_observations=next_obs,
        terminated=rewards, truncated=actions, policy_version=version,
        episode_returns=episode_returns,
    )  # fmt: skip
    check(served, "PushTransitions", request)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(min_version=st.integers(-(2**63), 2**63 - 1),
       timeout_s=st.sampled_from([-1.0, 0.0, 0.01, 600.5, math.nan, math.inf]))  # fmt: skip
def test_get_weights(served, min_version, timeout_s):
    request = pb.GetWeightsRequest(min_version=min_version, timeout_s=timeout_s)
    check(served, "GetWeights", request)


@pytest.mark.parametrize(
    ("method", "request_"),
    [
        ("GetSpec", pb.GetSpecRequest()),
        ("Status", pb.StatusRequest()),
        ("Checkpoint", pb.CheckpointRequest()),
        ("Stop", pb.StopRequest()),
    ],
)
def test_requests_without_fields(served, method, request_):
    code = check(served, method, request_)
    if method in ("Checkpoint", "Stop"):  # no admin token on this server: never obeyed
        assert code == grpc.StatusCode.PERMISSION_DENIED


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(min_version=st.integers(-(2**63), 2**63 - 1))
def test_watch_weights(served, min_version):
    stub = pb_grpc.DistrlStub(grpc.insecure_channel(served.address))
    stream = stub.WatchWeights(pb.WatchWeightsRequest(min_version=min_version), timeout=0.3)
    try:
        first = next(stream)
        assert first.version >= min(max(min_version, 0), served.board.version)
    except grpc.RpcError as e:  # the client's own deadline ends a stream with nothing new
        assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e
