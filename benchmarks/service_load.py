"""The service under held streams and abandoned long-polls: does ``Status`` stay fast?

A real server (the one ``--serve`` starts, CartPole MLP) with default options. In this process:
``--streams`` clients hold ``WatchWeights`` streams open, and ``--polls`` clients send
``GetWeights`` for a far-future version with ``timeout_s`` 600 and abandon them after 3 s (their
channels cancel the calls). Meanwhile, and after, a separate client calls ``Status`` ``--calls``
times: p50/p99 latency. Then every waiting slot is filled, one long-poll is cancelled, and the
time until a new waiter is admitted is measured (how fast a cancelled call frees its thread).
Prints one JSON document.

    python -m benchmarks.service_load --out benchmarks/results/service_load.json
"""

from __future__ import annotations

import argparse
import time

import grpc
import numpy as np

from benchmarks.common import emit, learner_for, machine, served_run
from distrl.config import build_config
from distrl.envs import env_spec
from distrl.service.client import Client
from distrl.service.exchange import Inbox, RunControl, WeightsBoard
from distrl.service.server import DistrlService, ServeOptions, start_server
from distrl.service.v1 import distrl_pb2 as pb
from distrl.service.v1 import distrl_pb2_grpc as pb_grpc

FAR = 10**9  # a weights version no run reaches


def serve(options: ServeOptions) -> tuple[grpc.Server, str, WeightsBoard]:
    config = build_config({"envs_per_worker": 2, "rollout_len": 8})
    spec = env_spec(config.env)
    weights = learner_for(config, spec).weights()
    board = WeightsBoard()
    board.publish(weights.version, weights)
    service = DistrlService(
        run=served_run(config), spec=spec, board=board, options=options,
                            inbox=Inbox(10_000), control=RunControl(None))  # fmt: skip
    server, port = start_server(service, options)
    return server, f"127.0.0.1:{port}", board


def status_latency(address: str, calls: int) -> dict[str, float]:
    times = []
    with Client(address, timeout_s=10) as client:
        for _ in range(calls):
            start = time.perf_counter()
            client.status()
            times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()), "calls": calls}  # fmt: skip


def held_load(args: argparse.Namespace) -> dict:
    server, address, board = serve(ServeOptions(listen="127.0.0.1:0"))
    channels = [grpc.insecure_channel(address) for _ in range(args.streams + args.polls)]
    stubs = [pb_grpc.DistrlStub(c) for c in channels]
    streams = [stubs[i].WatchWeights(pb.WatchWeightsRequest(min_version=0))
               for i in range(args.streams)]  # fmt: skip
    for stream in streams:
        next(stream)  # open, first message received
    request = pb.GetWeightsRequest(min_version=FAR, timeout_s=600)
    polls = [stubs[args.streams + i].GetWeights.future(request) for i in range(args.polls)]
    time.sleep(0.5)
    held = status_latency(address, args.calls)
    time.sleep(max(0.0, 3.0 - 0.5))  # the clients give up after 3 s
    for poll in polls:
        poll.cancel()
    abandoned = status_latency(address, args.calls)
    for stream in streams:
        stream.cancel()
    for c in channels:
        c.close()
    board.close()
    server.stop(grace=None)
    return {"streams": args.streams, "long_polls": args.polls,
            "status_while_held": held, "status_after_abandoned": abandoned}  # fmt: skip


def release_time(slots: int, repeats: int) -> dict[str, float]:
    """Seconds from cancelling one waiting call (all ``slots`` full) to a new one admitted."""
    server, address, board = serve(ServeOptions(listen="127.0.0.1:0", waiting_calls=slots))
    stub = pb_grpc.DistrlStub(grpc.insecure_channel(address))
    request = pb.GetWeightsRequest(min_version=FAR, timeout_s=600)
    waiting = [stub.GetWeights.future(request) for _ in range(slots)]
    time.sleep(0.5)
    times = []
    for _ in range(repeats):
        victim = waiting.pop(0)
        start = time.perf_counter()
        victim.cancel()
        while True:
            sent = time.perf_counter()
            probe = stub.GetWeights.future(request)
            try:
                probe.result(timeout=0.05)
            except grpc.FutureTimeoutError:  # still waiting after 50 ms: it was admitted
                waiting.append(probe)
                break
            except grpc.RpcError as e:  # refused at once: the slot is not free yet
                assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
        times.append(sent - start)  # the slot was free when the admitted probe was sent
    for call in waiting:
        call.cancel()
    board.close()
    server.stop(grace=None)
    ms = np.asarray(times) * 1e3
    return {"slots": slots, "repeats": repeats, "median_ms": float(np.median(ms)),
            "max_ms": float(ms.max())}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=64, help="WatchWeights streams held open")
    parser.add_argument("--polls", type=int, default=64, help="long-poll GetWeights abandoned")
    parser.add_argument("--calls", type=int, default=500, help="Status calls per measurement")
    parser.add_argument("--repeats", type=int, default=20, help="cancellations timed")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    for name in ("streams", "polls", "calls", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    emit({"benchmark": "service_load", "machine": machine(), "load": held_load(args),
          "cancelled_long_poll_release": release_time(args.streams + args.polls, args.repeats)},
         args.out)  # fmt: skip


if __name__ == "__main__":
    main()
