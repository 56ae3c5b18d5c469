"""``python -m distrl.launch``: parse -> config -> train -> summary; the wiring is
:class:`distrl.trainer.Trainer`'s.

Exit status: 0 when the run ends by its stop rule (solved or out of budget) or a Stop call, 2 for
bad input (before any worker starts), 130 when interrupted (Ctrl-C or SIGTERM), 1 on a runtime
failure. The JSON summary is written in every case where training started.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType
from typing import Any

from distrl.callbacks import Callback
from distrl.config import (
    Config,
    ConfigError,
    build_config,
    describe_fields,
    flag_keys,
    key_reference,
    load_file,
    load_preset,
    parse_cli_value,
    parse_override,
    preset_names,
)
from distrl.config.provenance import annotated_yaml, moved_horizons, sources
from distrl.ops.checkpoint import checkpoint_config
from distrl.ops.console import configure_cli_logging
from distrl.trainer import CLEAN_STOPS, Trainer, TrainingFailed

log = logging.getLogger("distrl.launch")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m distrl.launch",
        description="Train a Keras agent with distributed rollout workers on Ray.",
    )
    parser.add_argument("--preset", help=f"start from a preset: {', '.join(preset_names())}")
    parser.add_argument("--config", metavar="FILE", help="a YAML file of config keys")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        help="override any key, e.g. --set a2c.lr=3e-4 "
                        "--set model.hidden=[128,128]")  # fmt: skip
    parser.add_argument(
        "--token",
        default=os.environ.get("DISTRL_TOKEN"),
        help="bearer token every service call must carry (default: $DISTRL_TOKEN); required "
        "to --serve on a non-loopback address. Never written to the logdir or checkpoints",
    )
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("DISTRL_ADMIN_TOKEN"),
        help="token for the service's Checkpoint and Stop calls (default: $DISTRL_ADMIN_TOKEN; "
        "without one they are refused)",
    )
    parser.add_argument("--list-presets", action="store_true", help="print the presets and exit")
    parser.add_argument(
        "--help-keys",
        action="store_true",
        help="list every config key (the sections' and each algorithm's) with its default and "
        "meaning, and exit",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved config as YAML, each value with where it came from (default, "
        "preset, file, flag or --set), and exit",
    )
    described = {key: (help_text, default) for key, help_text, default in describe_fields()}
    for flag, key in flag_keys().items():
        help_text, default = described[key]
        shown = "env's threshold" if key == "stop_reward" else default
        parser.add_argument(
            "--" + flag.replace("_", "-"),
            dest=flag,
            metavar="VALUE",
            default=None,
            help=f"{help_text} (key {key}; default: {shown})",
        )
    return parser


def config_from_args(args: argparse.Namespace) -> tuple[Config, dict[str, str]]:
    """The config the arguments ask for, and where each value it sets came from."""
    layers: list[tuple[str, dict[str, Any]]] = []
    if args.resume is not None and not (args.preset or args.config):
        # --resume alone continues the checkpoint's own run; flags and --set override it.
        layers.append((f"checkpoint {args.resume}", checkpoint_config(args.resume)))
    if args.preset:
        layers.append((f"preset {args.preset}", load_preset(args.preset)))
    if args.config:
        layers.append((f"file {args.config}", load_file(args.config)))
    flags = {
        key: parse_cli_value(key, getattr(args, flag))
        for flag, key in flag_keys().items()
        if getattr(args, flag) is not None
    }
    layers.append(("flag", flags))
    layers.append(("--set", dict(parse_override(item) for item in args.set)))
    config, origin = build_config(*(layer for _, layer in layers)), sources(layers)
    for note in moved_horizons(config, layers, origin):
        log.warning("note: %s", note)
    return config, origin


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """The first SIGINT or SIGTERM ends training like Ctrl-C; later ones are only noted."""
    _quiet_signals()
    raise KeyboardInterrupt(f"signal {signum}")


def _note_signal(signum: int, frame: FrameType | None) -> None:
    log.warning("signal %d: finishing the final checkpoint and summary first (kill -9 to abort)",
                signum)  # fmt: skip


def _quiet_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _note_signal)


class _Signals(Callback):
    """SIGINT and SIGTERM end training like Ctrl-C, once. ``ray.init`` installs its own
    handlers, so ours go back in once the workers are up; from the first signal on, and during
    the whole shutdown, further signals are noted, not obeyed, so that the final checkpoint and
    the summary are always written."""

    def __init__(self) -> None:
        self.on_start(None)

    def on_start(self, trainer: object) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _interrupt)

    def on_stopping(self, trainer: object) -> None:
        _quiet_signals()


def main(argv: list[str] | None = None, *, restore_signals: bool = True) -> int:
    """The command line; ``restore_signals``: put the default handlers back on return (for
    callers in the same process; the program itself keeps noting signals until it exits)."""
    configure_cli_logging()
    args = build_parser().parse_args(argv)
    if args.list_presets or args.help_keys:
        print("\n".join(preset_names()) if args.list_presets else key_reference())
        return 0
    try:
        config, origin = config_from_args(args)
        if args.print_config:
            print(annotated_yaml(config, origin), end="")
            return 0
        # The program ends with the run: no policy()/save() afterwards, so keep nothing.
        trainer = Trainer(config, token=args.token, admin_token=args.admin_token,
                          keep_final=False)  # fmt: skip
        trainer.prepare()
    except ConfigError as e:  # CheckpointError included
        print(f"distrl.launch: error: {e}", file=sys.stderr)
        return 2
    mode = config.mode if config.mode == "sync" else f"async ({config.async_unit})"
    target = trainer.stop_rule.stop_reward
    where = "in process" if config.workers == 0 else f"{config.workers} Ray workers"
    log.info("distrl: %s %s on %s, %s; %s; %s", mode, config.algo, config.env, where,
             config.sampling(),
             "no return target" if target is None else f"stop at return {target}")  # fmt: skip
    log.info("run folder: %s", trainer.run_dir)
    if trainer.resume is not None:
        log.info("resuming from %s", trainer.resume.path)
    trainer.callbacks.append(_Signals())
    try:
        summary = trainer.train()
    except ConfigError as e:
        print(f"distrl.launch: error: {e}", file=sys.stderr)
        return 2
    except TrainingFailed as e:  # one line; an error's traceback is in the run folder
        print(f"distrl.launch: error: {e}", file=sys.stderr)
        return 1
    finally:
        if restore_signals:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
    return 0 if summary.stop_reason in CLEAN_STOPS else 130


if __name__ == "__main__":
    status = main(restore_signals=False)
    # The run is over, its files written and Ray stopped. Exit now with the run's status: while
    # Python finalizes it puts the default signal handlers back, and a late SIGTERM from an
    # impatient orchestrator would turn exit 130 into a kill.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
