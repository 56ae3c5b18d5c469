"""The gRPC service's costs: ``Act`` latency and ``PushRollout`` throughput, on loopback.

A real server (the same one ``--serve`` starts) with the CartPole MLP at its initial weights
(and one with the pong-a2c preset's Nature CNN, for ``Act`` on 4x84x84 uint8 frames);
clients in this process's threads, each with its own channel. ``Act``: p50/p99 over
``--calls`` calls for batches of 1 and 32 observations. Push: env steps/s accepted with 1, 8
and 32 concurrent clients pushing 16 x 8 fragments for ``--seconds`` each, while one thread
drains the inbox as the training loop would. Prints one JSON document.

    python -m benchmarks.service --out service.json
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np

from benchmarks.common import emit, learner_for, machine, served_run
from distrl.config import build_config, load_preset
from distrl.envs import env_spec
from distrl.rollout import RolloutWorker
from distrl.service.client import Client
from distrl.service.exchange import Inbox, RunControl, WeightsBoard
from distrl.service.server import DistrlService, ServeOptions, start_server


def act_latency(address: str, batch: int, calls: int, spec=None) -> dict:
    rng = np.random.default_rng(0)
    if spec is None:
        obs = rng.normal(size=(batch, 4)).astype(np.float32)
    else:  # pixels
        obs = rng.integers(0, 256, (batch, *spec.observation_shape)).astype(np.uint8)
    times = []
    with Client(address) as client:
        for _ in range(20):  # warm-up
            client.act(obs)
        for _ in range(calls):
            start = time.perf_counter()
            client.act(obs)
            times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1e3
    return {"batch": batch, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99))}  # fmt: skip


def push_throughput(address: str, inbox: Inbox, rollout, clients: int, seconds: float) -> dict:
    stop = threading.Event()
    accepted = [0] * clients

    def drain() -> None:
        while not stop.is_set():
            inbox.drain(wait_s=0.01)

    def push(i: int) -> None:
        with Client(address) as client:
            while not stop.is_set():
                accepted[i] += client.push_rollout(rollout)

    threads = [threading.Thread(target=drain)]
    threads += [threading.Thread(target=push, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"clients": clients, "steps_per_s": sum(accepted) / elapsed,
            "fragments_per_s": sum(accepted) / rollout.env_steps / elapsed}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", help="also write the JSON document to this file")
    args = parser.parse_args()
    config = build_config({"envs_per_worker": 16, "rollout_len": 8})
    spec = env_spec("CartPole-v1")
    learner = learner_for(config, spec)
    board = WeightsBoard()
    board.publish(0, learner.weights())
    inbox = Inbox(1_000_000)
    options = ServeOptions(listen="127.0.0.1:0")
    service = DistrlService(
        run=served_run(config), spec=spec, board=board, options=options, inbox=inbox,
                            control=RunControl(None))  # fmt: skip
    server, port = start_server(service, options)
    address = f"127.0.0.1:{port}"
    rollout = RolloutWorker(
        settings=config.rollout_settings(),
        algorithm=config.algo,
        spec=spec,
        worker_index=0,
        seed=np.random.SeedSequence(0),
    ).sample(learner.weights())
    pong = build_config(load_preset("pong-a2c"))
    pong_spec = env_spec(pong.env, pong.atari)
    pong_board = WeightsBoard()
    pong_board.publish(
        0,
        learner_for(pong, pong_spec).weights(),
    )
    pong_options = ServeOptions(listen="127.0.0.1:0")
    pong_server, pong_port = start_server(
        DistrlService(run=served_run(pong), spec=pong_spec, board=pong_board, options=pong_options),
        pong_options,
    )
    try:
        act = [act_latency(address, b, args.calls) for b in (1, 32)]
        act_pong = [act_latency(f"127.0.0.1:{pong_port}", b, args.calls // 4, pong_spec)
                    for b in (1, 32)]  # fmt: skip
        push = [push_throughput(address, inbox, rollout, c, args.seconds) for c in (1, 8, 32)]
    finally:
        board.close()
        pong_board.close()
        server.stop(grace=None)
        pong_server.stop(grace=None)
    emit({"benchmark": "service", "machine": machine(), "act_cartpole_mlp": act,
          "act_pong_nature_cnn": act_pong, "push_rollout_16x8": push}, args.out)  # fmt: skip


if __name__ == "__main__":
    main()
