"""Hostile clients on a real loopback server: held streams and abandoned long-polls, invented
episode statistics, absurd shapes, duplicated credentials. After each, a well-formed call from
another client must still be answered within a second, with the counters unchanged."""

import dataclasses
import threading
import time

import grpc
import numpy as np
import pytest

from distrl.config import build_config
from distrl.service.arrays import to_proto
from distrl.service.v1 import distrl_pb2 as pb
from distrl.service.v1 import distrl_pb2_grpc as pb_grpc
from tests.parts import worker_of
from tests.service.test_service import fragment

ANSWER_S = 1.0  # a well-formed call after a hostile one must be answered within this


def stub(served):
    return pb_grpc.DistrlStub(grpc.insecure_channel(served.address))


def still_serving(served, steps_before):
    """Status answers promptly from a fresh client, and no rejected push was counted."""
    start = time.perf_counter()
    with served.client(timeout_s=ANSWER_S) as client:
        status = client.status()
    assert time.perf_counter() - start < ANSWER_S
    assert status["external_steps"] == steps_before


def test_held_streams_and_long_polls_never_starve_unary_calls(make_service):
    served = make_service(build_config({"rollout_len": 8}), threads=4, waiting_calls=8)
    channel = grpc.insecure_channel(served.address)
    s = pb_grpc.DistrlStub(channel)
    # 4 subscribers hold WatchWeights streams open; 4 long-polls wait for a far-future version.
    streams = [s.WatchWeights(pb.WatchWeightsRequest(min_version=0)) for _ in range(4)]
    for stream in streams:
        assert next(stream).version == 0  # each is open and has its first message
    polls = [s.GetWeights.future(pb.GetWeightsRequest(min_version=10**6, timeout_s=600))
             for _ in range(4)]  # fmt: skip
    time.sleep(0.5)
    # All 8 waiting slots are taken: another waiter is refused at once, unary calls still run.
    with pytest.raises(grpc.RpcError) as err:
        s.GetWeights(pb.GetWeightsRequest(min_version=10**6, timeout_s=5), timeout=ANSWER_S)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    for _ in range(20):  # more unary calls than the 4 unary threads, one after another
        still_serving(served, 0)
    # Abandoned long-polls give their slots back at once: a new one is admitted within 1 s.
    for poll in polls:
        poll.cancel()
    deadline = time.perf_counter() + ANSWER_S
    while True:
        try:
            s.GetWeights(pb.GetWeightsRequest(min_version=10**6, timeout_s=0.05), timeout=2)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                break  # admitted, waited 0.05 s, and answered "not reached"
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
            assert time.perf_counter() < deadline, "a cancelled long-poll kept its slot"
            time.sleep(0.05)
    for stream in streams:
        stream.cancel()
    channel.close()


def test_invented_episode_returns_are_rejected_and_not_counted(cartpole_service):
    served = cartpole_service
    rollout = fragment(served)
    with served.client() as client:
        before = client.status()["external_steps"]
        request = pb.Rollout(
            observations=to_proto(rollout.observations), actions=to_proto(rollout.actions),
            rewards=to_proto(rollout.rewards),
            terminated=to_proto(np.zeros_like(rollout.terminated)),
            truncated=to_proto(np.zeros_like(rollout.truncated)),
            behaviour_log_probs=to_proto(rollout.behaviour_logp),
            last_observations=to_proto(rollout.last_observations),
            final_observations=to_proto(rollout.final_observations[:0]), policy_version=0,
            episode_returns=[500.0] * 20, episode_lengths=[500] * 20,
        )  # fmt: skip
        with pytest.raises(grpc.RpcError) as err:
            client.stub.PushRollout(pb.PushRolloutRequest(rollout=request), timeout=5)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "20 reported, but the pushed steps end only 0 episodes" in err.value.details()
    still_serving(served, before)
    assert served.inbox.drain() == []


def test_returns_are_computed_from_the_pushed_rewards_per_env_stream(cartpole_service):
    """Honest pushes are accepted; the returns that reach the learner are the service's own
    sums, counting only episodes it saw from their first step (on one connection)."""
    served = cartpole_service
    worker = worker_of(served.config, spec=served.spec, seed=3)
    weights = served.learner.weights()
    rollouts = [worker.sample(weights) for _ in range(12)]  # several CartPole episodes end
    with served.client() as client:
        for r in rollouts:
            client.push_rollout(r)
        got = served.inbox.drain()
        reported = np.concatenate([r.episode_returns for r in rollouts])
        counted = np.concatenate([r.episode_returns for r in got])
        ends = int(sum((r.terminated | r.truncated).sum() for r in rollouts))
        assert len(reported) == ends and 0 < len(counted) < ends  # first one per env dropped
        assert set(np.round(counted, 6)) <= set(np.round(reported, 6))
        # Lie about a return the service saw whole, on the same connection: refused.
        r = worker.sample(weights)
        while not (r.terminated | r.truncated).any():
            client.push_rollout(r)
            r = worker.sample(weights)
        lie = r.episode_returns.copy()
        lie[-1] += 100.0
        with pytest.raises(grpc.RpcError) as err:
            client.push_rollout(dataclasses.replace(r, episode_returns=lie))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "differ from what the pushed rewards and ends add up to" in err.value.details()


@pytest.mark.parametrize(
    ("shape", "needle"),
    [
        ([2**62, 4], "elements, more than the limit"),
        ([2**63 - 1, 4], "elements, more than the limit"),
        ([3] * 10_000, "(rank 10000)"),
        ([-1, 4], "negative size"),
    ],
)
def test_absurd_shapes_are_invalid_argument_with_a_short_message(cartpole_service, shape, needle):
    served = cartpole_service
    array = pb.Array(dtype=pb.FLOAT32, shape=shape, data=b"")
    with pytest.raises(grpc.RpcError) as err:
        stub(served).Act(pb.ActRequest(observations=array), timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in err.value.details() and len(err.value.details().encode()) < 1024
    assert "-16 bytes" not in err.value.details()
    still_serving(served, 0)


def test_max_batch_counts_env_steps_per_request(cartpole_service):
    served = cartpole_service  # rollout_len 8: 8 x 513 = 4104 env steps > 4096
    T, B = 8, 513
    r = pb.Rollout(observations=to_proto(np.zeros((T, B, 4), np.float32)))
    with pytest.raises(grpc.RpcError) as err:
        stub(served).PushRollout(pb.PushRolloutRequest(rollout=r), timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "T x B" in err.value.details()
    still_serving(served, 0)


def test_two_authorization_headers_are_refused(make_service):
    served = make_service(build_config({}), token="s3cret")
    metadata = (("authorization", "Bearer wrong"), ("authorization", "Bearer s3cret"))
    with pytest.raises(grpc.RpcError) as err:
        stub(served).Status(pb.StatusRequest(), metadata=metadata, timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "more than one authorization header" in err.value.details()
    with served.client(token="s3cret", timeout_s=ANSWER_S) as client:
        assert client.status()["external_steps"] == 0


def test_a_cancelled_watch_stream_frees_its_slot(make_service):
    served = make_service(build_config({}), waiting_calls=1)
    s = stub(served)
    stream = s.WatchWeights(pb.WatchWeightsRequest(min_version=0))
    assert next(stream).version == 0
    stream.cancel()
    done = threading.Event()
    deadline = time.perf_counter() + ANSWER_S
    while not done.is_set():
        try:
            s.GetWeights(pb.GetWeightsRequest(min_version=5, timeout_s=0.05), timeout=2)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                done.set()
            else:
                assert time.perf_counter() < deadline, "the cancelled stream kept its slot"
                time.sleep(0.05)
