"""The gRPC service on a real loopback port with real clients: acting, validation, auth, TLS,
backpressure."""

import subprocess
import sys
import threading
import time

import grpc
import numpy as np
import pytest

from distrl.config import ConfigError, build_config
from distrl.service.arrays import to_proto
from distrl.service.server import ServeOptions, check_options
from distrl.service.v1 import distrl_pb2 as pb
from tests.parts import worker_of


def fragment(served, seed=0):
    worker = worker_of(served.config, spec=served.spec, seed=seed)
    return worker.sample(served.learner.weights())


def test_spec_act_and_weights_match_the_learner(cartpole_service):
    served = cartpole_service
    with served.client() as client:
        spec = client.spec()
        assert spec.env_id == "CartPole-v1" and spec.algo == "a2c"
        assert spec.observation_shape == (4,) and spec.action_kind == "discrete"
        assert spec.rollout_len == 8 and spec.training
        obs = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
        actions, _, version = client.act(obs, deterministic=True)
        assert version == 0
        logits, _ = served.learner.model(obs)
        np.testing.assert_array_equal(actions, np.argmax(np.asarray(logits), axis=-1))
        actions, logp, _ = client.act(obs)  # sampled, with log-probs under the same logits
        log_softmax = np.asarray(logits) - np.log(np.exp(np.asarray(logits)).sum(-1, keepdims=True))
        np.testing.assert_allclose(logp, log_softmax[np.arange(32), actions], rtol=1e-5, atol=1e-5)
        weights = client.weights()
        for a, b in zip(weights.weights, served.learner.model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_pushed_rollouts_reach_the_inbox_exactly(cartpole_service):
    served = cartpole_service
    rollout = fragment(served)
    with served.client() as client:
        assert client.push_rollout(rollout) == 16
        assert client.push_rollout(rollout) == 16
        assert client.status()["external_steps"] == 32
    got = served.inbox.drain()
    assert len(got) == 2 and got[0].worker_index == -1
    for field in ("observations", "actions", "rewards", "terminated", "truncated",
                  "behaviour_logp", "last_observations", "final_observations"):  # fmt: skip
        np.testing.assert_array_equal(getattr(got[0], field), getattr(rollout, field))


def bad_requests(served):
    rollout = fragment(served)
    good = pb.Rollout(
        observations=to_proto(rollout.observations), actions=to_proto(rollout.actions),
        rewards=to_proto(rollout.rewards), terminated=to_proto(rollout.terminated),
        truncated=to_proto(rollout.truncated),
        behaviour_log_probs=to_proto(rollout.behaviour_logp),
        last_observations=to_proto(rollout.last_observations),
        final_observations=to_proto(rollout.final_observations), policy_version=0,
    )  # fmt: skip

    def rollout_with(**fields):
        r = pb.Rollout()
        r.CopyFrom(good)
        for k, v in fields.items():
            if isinstance(v, pb.Array):
                getattr(r, k).CopyFrom(v)
            else:
                setattr(r, k, v)
        return ("PushRollout", pb.PushRolloutRequest(rollout=r))

    obs = np.zeros((3, 4), np.float32)

    def act(array):
        return ("Act", pb.ActRequest(observations=array))

    return {
        "wrong dtype": (act(to_proto(obs.astype(np.float64))), "dtype float64"),
        "wrong shape": (act(to_proto(np.zeros((3, 5), np.float32))), "shape [3, 5]"),
        "NaN": (act(to_proto(np.full((3, 4), np.nan, np.float32))), "NaN or Inf"),
        "Inf": (act(to_proto(np.full((3, 4), np.inf, np.float32))), "NaN or Inf"),
        "oversized batch": (act(to_proto(np.zeros((5000, 4), np.float32))), "batch of 5000"),
        "truncated bytes": (
            act(pb.Array(dtype=pb.FLOAT32, shape=[3, 4], data=b"\0" * 47)), "47 bytes"),
        "unknown dtype enum": (
            act(pb.Array(dtype=42, shape=[3, 4], data=b"\0" * 48)), "unknown dtype enum"),
        "empty batch": (act(to_proto(np.zeros((0, 4), np.float32))), "batch of 0"),
        "missing observations": (("Act", pb.ActRequest()), "observations"),
        "rollout of the wrong length": (
            rollout_with(observations=to_proto(rollout.observations[:4])), "shape [4, 2, 4]"),
        "action out of range": (
            rollout_with(actions=to_proto(np.full_like(rollout.actions, 7))), "outside 0..1"),
        "NaN reward": (
            rollout_with(rewards=to_proto(np.full_like(rollout.rewards, np.nan))), "rewards"),
        "final observations miscounted": (
            rollout_with(final_observations=to_proto(np.zeros((99, 4), np.float32))),
            "final_observations: shape [99, 4]"),
        "future policy version": (rollout_with(policy_version=7), "policy_version 7"),
        "positive log-probs": (
            rollout_with(behaviour_log_probs=to_proto(np.ones((8, 2), np.float32))), "above 0"),
        "missing rollout": (("PushRollout", pb.PushRolloutRequest()), "rollout: missing"),
    }  # fmt: skip


def test_every_malformed_input_is_invalid_argument_and_the_server_keeps_serving(
    cartpole_service,
):
    served = cartpole_service
    with served.client() as client:
        for name, ((method, request), message) in bad_requests(served).items():
            with pytest.raises(grpc.RpcError) as err:
                getattr(client.stub, method)(request, timeout=10)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, name
            assert message in err.value.details(), (name, err.value.details())
        assert client.act(np.zeros((3, 4), np.float32))[0].shape == (3,)  # still serving
        assert served.inbox.accepted_steps == 0  # nothing bad got in


def test_a_message_over_the_size_limit_is_refused(make_service):
    served = make_service(build_config({}), max_message_bytes=1024)
    with served.client() as client:
        with pytest.raises(grpc.RpcError) as err:
            client.act(np.zeros((100, 4), np.float32))  # 1.6 KB of data
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert client.act(np.zeros((2, 4), np.float32))[0].shape == (2,)


def test_transitions_are_ddpg_only(cartpole_service):
    with cartpole_service.client() as client, pytest.raises(grpc.RpcError) as err:
        z = np.zeros((2, 4), np.float32)
        client.push_transitions(z, np.zeros((2, 1), np.float32), np.zeros(2), z,
                                np.zeros(2, bool), np.zeros(2, bool))  # fmt: skip
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_ddpg_transitions_become_a_one_step_fragment(make_service):
    served = make_service(build_config({"algo": "ddpg", "env": "Pendulum-v1"}))
    rng = np.random.default_rng(0)
    obs, next_obs = rng.normal(size=(2, 5, 3)).astype(np.float32)
    done = np.array([False, True, False, False, True])
    with served.client() as client:
        actions = rng.uniform(-2, 2, (5, 1)).astype(np.float32)
        n = client.push_transitions(obs, actions, rng.normal(size=5), next_obs, done,
                                    np.zeros(5, bool))  # fmt: skip
        assert n == 5
        with pytest.raises(grpc.RpcError) as err:  # outside the action box [-2, 2]
            client.push_transitions(obs, np.full((5, 1), 3.0, np.float32), np.zeros(5),
                                    next_obs, done, np.zeros(5, bool))  # fmt: skip
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    (rollout,) = served.inbox.drain()
    np.testing.assert_array_equal(rollout.next_observations()[0], next_obs)  # s' kept as sent


def test_dqn_takes_integer_transitions_and_acts_with_integers(make_service):
    """A discrete replay algorithm through the service: int64 actions in PushTransitions (out
    of range refused) and Act, and the pushed steps reach a DQN learner's replay."""
    from distrl.envs import env_spec
    from tests.parts import learner_of

    config = build_config({"algo": "dqn", "env": "CartPole-v1"})
    served = make_service(config)
    rng = np.random.default_rng(1)
    obs, next_obs = rng.normal(size=(2, 6, 4)).astype(np.float32)
    with served.client() as client:
        actions, log_probs, _ = client.act(obs)
        assert actions.dtype == np.int64 and set(actions.tolist()) <= {0, 1}
        assert log_probs is None  # epsilon-greedy reports none
        n = client.push_transitions(obs, np.array([0, 1, 1, 0, 1, 0]), rng.normal(size=6),
                                    next_obs, np.zeros(6, bool), np.zeros(6, bool))  # fmt: skip
        assert n == 6
        with pytest.raises(grpc.RpcError) as err:
            client.push_transitions(obs, np.full(6, 2), np.zeros(6), next_obs,
                                    np.zeros(6, bool), np.zeros(6, bool))  # fmt: skip
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    learner = learner_of(config, spec=env_spec("CartPole-v1"))
    learner.update(served.inbox.drain())
    assert learner.replay.size == 6
    np.testing.assert_array_equal(learner.replay.next_obs[:6], next_obs)
    np.testing.assert_array_equal(learner.replay.actions[:6, 0], [0, 1, 1, 0, 1, 0])


def test_tokens_unauthenticated_and_admin(make_service):
    served = make_service(build_config({}), token="s3cret", admin_token="adm1n")
    obs = np.zeros((1, 4), np.float32)
    for token in (None, "wrong", "s3cret-but-longer"):
        with served.client(token=token) as client, pytest.raises(grpc.RpcError) as err:
            client.act(obs)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with served.client(token="s3cret") as client:
        assert client.act(obs)[0].shape == (1,)
        with pytest.raises(grpc.RpcError) as err:
            client.stop()  # the ordinary token is not the admin one
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with served.client(token="adm1n") as client:
        client.stop()


def test_admin_calls_are_refused_without_an_admin_token(cartpole_service):
    with cartpole_service.client() as client, pytest.raises(grpc.RpcError) as err:
        client.stop()
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_non_loopback_bind_without_a_token_refuses_to_start():
    with pytest.raises(ConfigError, match=r"refusing to serve on '0\.0\.0\.0' without a token"):
        check_options(ServeOptions(listen="0.0.0.0:50051"))
    check_options(ServeOptions(listen="0.0.0.0:50051", token="t"))  # with one it may
    proc = subprocess.run(
        [sys.executable, "-m", "distrl.launch", "--workers", "0", "--serve", "0.0.0.0:0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "distrl.launch: error: refusing to serve on '0.0.0.0' without a token: binding a "
        "non-loopback address needs --token (or DISTRL_TOKEN)"
    ]


def test_tls(make_service, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    served = make_service(build_config({}), tls_cert=str(cert), tls_key=str(key))
    port = served.address.rsplit(":", 1)[1]
    from distrl.service.client import Client

    with Client(f"localhost:{port}", tls_ca=str(cert)) as client:
        assert client.spec().env_id == "CartPole-v1"
    with Client(f"localhost:{port}", timeout_s=5) as plain, pytest.raises(grpc.RpcError):
        plain.spec()  # plaintext to a TLS port fails


def test_32_concurrent_pushers_backpressure_bounds_memory_and_counts_are_exact(make_service):
    served = make_service(build_config({"envs_per_worker": 2, "rollout_len": 8}),
                          backlog_steps=160)  # fmt: skip  # 10 fragments
    rollout = fragment(served)
    accepted, refused, peak, consumed = [0] * 32, [0] * 32, [0], [0]
    stop = threading.Event()

    def learner():  # drains slowly, as a busy learner would
        while not stop.is_set():
            peak[0] = max(peak[0], served.inbox.backlog_steps)
            consumed[0] += sum(r.env_steps for r in served.inbox.drain())
            time.sleep(0.02)

    def pusher(i):
        with served.client() as client:
            while not stop.is_set():
                try:
                    accepted[i] += client.push_rollout(rollout)
                except grpc.RpcError as e:
                    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
                    refused[i] += 1
                    time.sleep(0.005)

    threads = [threading.Thread(target=learner)] + [
        threading.Thread(target=pusher, args=(i,)) for i in range(32)
    ]
    for t in threads:
        t.start()
    time.sleep(3.0)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    consumed[0] += sum(r.env_steps for r in served.inbox.drain())
    assert sum(refused) > 0  # backpressure happened
    assert peak[0] <= 160  # the backlog never outgrew its bound
    assert sum(accepted) == served.inbox.accepted_steps == consumed[0] > 0  # none lost or doubled


def test_get_weights_waits_for_a_version_and_watch_streams_new_ones(cartpole_service):
    served = cartpole_service
    with served.client() as client:
        with pytest.raises(grpc.RpcError) as err:
            client.weights(min_version=1, timeout_s=0.2)  # not published yet
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        stream = client.watch_weights(min_version=0)
        assert next(stream).version == 0
        got = []
        waiter = threading.Thread(target=lambda: got.append(client.weights(1, timeout_s=10)))
        waiter.start()
        newer = served.learner.weights()
        newer = type(newer)(version=1, names=newer.names,
                            weights=[w + 1 for w in newer.weights])  # fmt: skip
        served.board.publish(1, newer)
        waiter.join(timeout=10)
        assert got and got[0].version == 1
        pushed = next(stream)
        assert pushed.version == 1
        np.testing.assert_array_equal(pushed.weights[0], newer.weights[0])


def test_gaussian_a2c_acts_and_takes_unclipped_samples(make_service):
    """A2C on a Box action space: Act samples a diagonal Gaussian with log-probs; a pushed
    fragment may hold samples beyond the box (the env got them clipped), not NaN."""
    from dataclasses import replace

    served = make_service(build_config({"env": "Pendulum-v1", "envs_per_worker": 2,
                                        "rollout_len": 8}))  # fmt: skip
    obs = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    with served.client() as client:
        actions, logp, _ = client.act(obs)
        assert actions.shape == (6, 1) and actions.dtype == np.float32 and logp.shape == (6,)
        params = np.asarray(served.learner.model(obs)[0])  # [mean, log_std]
        z = (actions - params[:, :1]) / np.exp(params[:, 1:])
        expected = -0.5 * (z**2 + 2 * params[:, 1:] + np.log(2 * np.pi)).sum(-1)
        np.testing.assert_allclose(logp, expected, rtol=1e-4, atol=1e-4)
        greedy, _, _ = client.act(obs, deterministic=True)
        np.testing.assert_allclose(greedy[:, 0], np.clip(params[:, 0], -2, 2), rtol=1e-5)
        sample = fragment(served)
        wide = replace(sample, actions=sample.actions * 0 + 3.0)  # beyond [-2, 2]
        assert client.push_rollout(wide) == wide.env_steps
        with pytest.raises(grpc.RpcError) as err:
            client.push_rollout(replace(sample, actions=sample.actions * np.nan))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_multi_discrete_actions_and_masks_through_the_service(make_service):
    """Act returns one index per part ([N, parts] int64) at the model's per-part argmax;
    pushes carry them and refuse a part out of its range; a masked env's actions are legal."""
    from dataclasses import replace

    spaces = {"env_imports": ["tests.envs.spaces"], "envs_per_worker": 2, "rollout_len": 8}
    served = make_service(build_config({"algo": "ppo", "env": "MatchTargetParts-v0", **spaces}))
    obs = np.random.default_rng(0).normal(size=(16, 6)).astype(np.float32)
    with served.client() as client:
        spec = client.spec()
        assert spec.action_kind == "multi_discrete" and spec.action_nvec == (3, 3)
        greedy, _, _ = client.act(obs, deterministic=True)
        logits = np.asarray(served.learner.model(obs)[0])
        assert greedy.shape == (16, 2) and greedy.dtype == np.int64
        np.testing.assert_array_equal(greedy[:, 0], logits[:, :3].argmax(-1))
        np.testing.assert_array_equal(greedy[:, 1], logits[:, 3:].argmax(-1))
        sample = fragment(served)
        assert sample.actions.shape == (8, 2, 2)
        assert client.push_rollout(sample) == sample.env_steps
        with pytest.raises(grpc.RpcError) as err:
            client.push_rollout(replace(sample, actions=sample.actions * 0 + 3))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    masked = make_service(build_config({"algo": "ppo", "env": "IllegalMoves-v0", **spaces}))
    rng = np.random.default_rng(1)
    legal = (rng.random((200, 6)) < 0.5).astype(np.float32)
    legal[np.arange(200), rng.integers(0, 6, 200)] = 1.0  # at least one legal action per row
    with masked.client() as client:
        assert client.spec().action_mask
        for deterministic in (False, True):
            actions, _, _ = client.act(np.concatenate([legal, legal], axis=1), deterministic)
            assert legal[np.arange(200), actions].all()


def test_a_recurrent_policy_acts_and_learns_from_its_state_through_the_service(make_service):
    """Act takes and returns the LSTM state (the learner's model's next state); a pushed
    fragment carries the state it began with; the external actor's policy keeps one per env;
    a state sent to a feed-forward policy, or of the wrong shape, is INVALID_ARGUMENT."""
    from dataclasses import replace

    from distrl.agents import recurrent
    from distrl.service.actor import RemotePolicy

    keys = {"algo": "ppo", "env": "Recall-v0", "env_imports": ["tests.envs.memory"],
            "envs_per_worker": 2, "rollout_len": 7, "samples_per_update": None}  # fmt: skip
    served = make_service(build_config(keys, {"model.lstm_size": 8}, flag_names=True))
    model = served.learner.model
    obs = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    state = np.random.default_rng(1).normal(size=(5, 16)).astype(np.float32)
    with served.client() as client:
        assert client.spec().state_size == 16
        _, _, from_zero, _ = client.act_with_state(obs, deterministic=True)
        np.testing.assert_allclose(from_zero, model([obs, np.zeros_like(state)])[2], atol=1e-5)
        actions, _, next_state, _ = client.act_with_state(obs, True, state)
        logits, _, want = model([obs, state])
        np.testing.assert_allclose(next_state, want, atol=1e-5)
        np.testing.assert_array_equal(actions, np.argmax(logits, -1))
        with pytest.raises(grpc.RpcError) as err:
            client.act_with_state(obs, True, state[:, :3])
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        worker = worker_of(served.config, spec=served.spec, seed=0)
        worker.policy = RemotePolicy(client, worker.num_envs, 16)
        first, second = worker.sample(served.learner.weights()), worker.sample()
        # The state the actor carried into the second fragment is the model's after the first.
        _, _, after = recurrent.unroll(model, *recurrent.Sequences.of([first], 16).tensors())
        ended = first.terminated[-1] | first.truncated[-1]
        np.testing.assert_allclose(second.initial_state, after.numpy()[-1] * ~ended[:, None],
                                   atol=1e-5)  # fmt: skip
        assert np.abs(second.initial_state).sum() > 0
        assert client.push_rollout(second) == second.env_steps
        np.testing.assert_array_equal(served.inbox.drain()[0].initial_state, second.initial_state)

    plain = make_service(build_config({**keys, "algo": "a2c"}))
    with plain.client() as client:
        assert client.spec().state_size == 0
        pushed = replace(fragment(plain), initial_state=state[:2])
        for call in (lambda: client.act_with_state(obs, True, state),
                     lambda: client.push_rollout(pushed)):  # fmt: skip
            with pytest.raises(grpc.RpcError) as err:
                call()
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "not recurrent" in err.value.details()
