"""``python -m distrl.serve``: serve a trained policy from a checkpoint, for inference only.

    python -m distrl.serve --checkpoint ckpt --listen 127.0.0.1:50051

GetSpec, GetWeights, WatchWeights, Act and Status answer; pushes and admin calls are refused
(FAILED_PRECONDITION). Exit status 2 for bad input (a damaged checkpoint, a non-loopback
address without a token, unreadable TLS files), 0 after Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from distrl.config import ConfigError, build_config
from distrl.ops.checkpoint import read_checkpoint
from distrl.ops.console import configure_cli_logging
from distrl.policy import Policy


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m distrl.serve", description="Serve a trained policy over gRPC."
    )
    parser.add_argument("--checkpoint", required=True, help="a checkpoint, or a directory of them")
    parser.add_argument(
        "--listen", default="127.0.0.1:50051", help="HOST:PORT (default: %(default)s)"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("DISTRL_TOKEN"),
        help="bearer token every call must carry (default: $DISTRL_TOKEN)",
    )
    parser.add_argument("--tls-cert", help="PEM certificate (TLS; with --tls-key)")
    parser.add_argument("--tls-key", help="PEM private key (TLS; with --tls-cert)")
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_cli_logging()
    args = build_parser().parse_args(argv)
    from distrl.service.server import ServeOptions, check_options

    options = ServeOptions(listen=args.listen, token=args.token or None, tls_cert=args.tls_cert,
                           tls_key=args.tls_key)  # fmt: skip
    try:
        check_options(options)
        # The checkpoint's own acting policy: its config, env spec and weights, checked.
        policy = Policy.from_checkpoint(args.checkpoint)
        config = build_config(read_checkpoint(args.checkpoint).config, flag_names=True)
    except ConfigError as e:  # CheckpointError included
        print(f"distrl.serve: error: {e}", file=sys.stderr)
        return 2
    from distrl.service.exchange import WeightsBoard
    from distrl.service.server import DistrlService, ServedRun, start_server

    board = WeightsBoard()
    board.publish(policy.version, policy.weights)
    run = ServedRun(policy.algorithm, config.algorithm_sections(), config.rollout_len, config.seed)
    try:
        service = DistrlService(run=run, spec=policy.spec, board=board, options=options)
        server, port = start_server(service, options)
    except ConfigError as e:
        print(f"distrl.serve: error: {e}", file=sys.stderr)
        return 2
    print(f"serving {args.checkpoint} (version {policy.version}) on port {port}", flush=True)
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    done.wait()
    board.close()
    server.stop(grace=2.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
