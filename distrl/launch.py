"""``python -m distrl.launch``: parse -> config -> start/join Ray -> train -> summary.

Exit status: 0 when the run ends by its stop rule (solved or out of budget), 2 for bad input
(before any worker starts), 130 when interrupted (Ctrl-C or SIGTERM), 1 on a runtime failure.
The JSON summary is written in every case where training started.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from distrl.config import (
    SECTIONS,
    Config,
    ConfigError,
    build_config,
    describe_fields,
    load_file,
    load_preset,
    parse_cli_value,
    parse_override,
    preset_names,
)
from distrl.envs import EnvSpec, env_spec
from distrl.ops.checkpoint import (
    Checkpoint,
    Checkpointer,
    check_matches,
    check_same_run,
    checkpoints,
    read_checkpoint,
)
from distrl.ops.console import ProgressReporter
from distrl.ops.evaluation import PeriodicEvaluator
from distrl.ops.metrics import MetricsLogger
from distrl.ops.plot import plot_learning_curve
from distrl.ops.summary import RunSummary, write_summary
from distrl.ops.tracking import StopRule, TrainingState

log = logging.getLogger("distrl.launch")

# Algorithms and the action spaces they can act in.
SUPPORTED_ACTIONS = {"a2c": ("discrete",), "pg": ("discrete",), "ddpg": ("continuous",)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m distrl.launch",
        description="Train a Keras agent with distributed rollout workers on Ray.",
    )
    parser.add_argument("--preset", help=f"start from a preset: {', '.join(preset_names())}")
    parser.add_argument("--config", metavar="FILE", help="a YAML file of config keys")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override any key, e.g. --set a2c.lr=3e-4 --set model.hidden=[128,128]",
    )
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
        "--print-config", action="store_true", help="print the resolved config as YAML and exit"
    )
    for key, help_text, default in describe_fields():
        if "." in key:
            continue  # section keys go through --set
        shown = "env's threshold" if key == "stop_reward" else default
        parser.add_argument(
            "--" + key.replace("_", "-"),
            dest=key,
            metavar="VALUE",
            default=None,
            help=f"{help_text} (default: {shown})",
        )
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    layers: list[dict[str, Any]] = []
    if args.preset:
        layers.append(load_preset(args.preset))
    if args.config:
        layers.append(load_file(args.config))
    flags = {
        f.name: parse_cli_value(f.name, getattr(args, f.name))
        for f in dataclasses.fields(Config)
        if f.name not in SECTIONS and getattr(args, f.name) is not None
    }
    layers.append(flags)
    layers.append(dict(parse_override(item) for item in args.set))
    return build_config(*layers)


def check_compatible(config: Config, spec: EnvSpec) -> None:
    kinds = SUPPORTED_ACTIONS[config.algo]
    if spec.action_kind not in kinds:
        raise ConfigError(
            f"algo {config.algo} needs a {' or '.join(kinds)} action space; "
            f"{spec.env_id} has a {spec.action_kind} one"
        )


def check_checkpoint_dir(config: Config) -> None:
    """Fail now, not at the first checkpoint, if the checkpoint directory cannot be written."""
    if config.checkpoint_dir is None:
        return
    try:
        Path(config.checkpoint_dir).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=config.checkpoint_dir):
            pass
    except OSError as e:
        raise ConfigError(
            f"checkpoint_dir {config.checkpoint_dir!r} is not writable: {e.strerror}"
        ) from None


def prepare_logdir(config: Config) -> Path:
    logdir = Path(config.logdir)
    try:
        logdir.mkdir(parents=True, exist_ok=True)
        (logdir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    except OSError as e:
        raise ConfigError(f"logdir {str(logdir)!r} is not writable: {e.strerror}") from None
    return logdir


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    launched = time.perf_counter()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    if args.list_presets:
        print("\n".join(preset_names()))
        return 0
    try:
        config = config_from_args(args)
        if args.print_config:
            print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
            return 0
        spec = env_spec(config.env, config.atari)
        check_compatible(config, spec)
        stop_reward = (
            config.stop_reward if config.stop_reward is not None else spec.reward_threshold
        )
        stop = StopRule(stop_reward, config.max_steps, config.max_seconds)
        logdir = prepare_logdir(config)
        check_checkpoint_dir(config)
        resume = None
        if config.resume is not None:  # checked now, before any worker starts
            resume = read_checkpoint(config.resume)
            check_same_run(resume, config.to_dict())
        serve = serve_options(config, args)
    except ConfigError as e:  # CheckpointError included
        print(f"distrl.launch: error: {e}", file=sys.stderr)
        return 2
    mode = config.mode if config.mode == "sync" else f"async ({config.async_unit})"
    log.info(
        "distrl: %s %s on %s, %d workers x %d envs, stop at return %s",
        mode,
        config.algo,
        config.env,
        config.workers,
        config.envs_per_worker,
        stop_reward,
    )
    if resume is not None:
        log.info("resuming from %s", resume.path)
    return _train(config, spec, stop, logdir, launched, resume, serve)


def serve_options(config: Config, args: argparse.Namespace) -> Any:
    """The service's options if ``--serve`` was given, checked (a refusal is a ConfigError)."""
    if config.serve is None:
        return None
    from distrl.service.server import ServeOptions, check_options

    options = ServeOptions(
        listen=config.serve,
        token=args.token or None,
        admin_token=args.admin_token or None,
        tls_cert=config.tls_cert,
        tls_key=config.tls_key,
        backlog_steps=config.serve_backlog,
    )
    check_options(options)
    return options


class _Service:
    """The gRPC service beside training: started after the backend, fed by ``on_update``."""

    def __init__(self, config: Config, spec: EnvSpec, backend: Any, options: Any,
                 checkpointer: Checkpointer | None, state: TrainingState) -> None:  # fmt: skip
        from distrl.service.server import DistrlService, start_server
        from distrl.service.state import Inbox, RunControl, WeightsBoard

        if config.workers > 0:
            import ray

            self.board = WeightsBoard(resolve=ray.get)
        else:
            self.board = WeightsBoard()
        self.inbox = Inbox(config.serve_backlog)
        save = None if checkpointer is None else (lambda s: str(checkpointer.save(s)))
        self.control = RunControl(checkpoint=save)
        self.backend = backend
        self.board.publish(state.version, backend.initial_weights())  # Act works from the start
        service = DistrlService(config=config, spec=spec, board=self.board, options=options,
                                inbox=self.inbox, control=self.control)  # fmt: skip
        self.server, self.port = start_server(service, options)

    def observe(self, state: TrainingState) -> None:
        if state.version != self.board.version:
            self.board.publish(state.version, self.backend.current_weights())
        self.control.observe(state)  # may raise StopRequested

    def close(self) -> None:
        self.board.close()
        self.control.fail_pending("the run has ended")
        self.server.stop(grace=2.0)


def _evaluator(config: Config, spec: EnvSpec, backend: Any) -> PeriodicEvaluator | None:
    if config.eval_every is None:
        return None
    from distrl.agents import make_policy

    return PeriodicEvaluator(
        env_id=config.env,
        every=config.eval_every,
        episodes=config.eval_episodes,
        policy=make_policy(config=config, spec=spec, tf_threads=None, num_envs=1),
        weights=backend.latest_weights,
        seed=config.seed,
        atari=config.atari,
    )


def _plot(logdir: Path) -> None:
    """The learning curve PNG at the end of a run; a run without episodes has none."""
    try:
        plot_learning_curve(logdir)
    except (FileNotFoundError, ValueError) as e:
        log.info("no learning curve: %s", e)


def _restore(backend: Any, resume: Checkpoint) -> TrainingState:
    """Load the checkpoint into the learner (after checking it fits) and continue its counters."""
    current, _ = backend.learner_state(False)
    check_matches(resume.arrays, current, resume.path)
    backend.load_learner_state(resume.arrays, resume.scalars)
    return TrainingState.restore(resume.counters)


def _learner_restore(config: Config, resume: Checkpoint | None) -> Any:
    """For a learner that died: the newest checkpoint's learner state (or the one resumed
    from, before this run has written any), or None."""

    def restore() -> tuple[dict, dict] | None:
        assert config.checkpoint_dir is not None  # learner_restarts needs it (config check)
        if checkpoints(config.checkpoint_dir):
            saved = read_checkpoint(config.checkpoint_dir)
            return saved.arrays, saved.scalars
        return (resume.arrays, resume.scalars) if resume is not None else None

    return restore if config.learner_restarts > 0 else None


def _train(
    config: Config,
    spec: EnvSpec,
    stop: StopRule,
    logdir: Path,
    launched: float,
    resume: Checkpoint | None,
    serve: Any = None,
) -> int:
    from distrl.agents.guard import NonFiniteUpdates
    from distrl.runtime import LOOPS, make_backend
    from distrl.runtime.cluster import start_ray, stop_ray
    from distrl.runtime.ray_backend import LearnerFailuresExceeded, WorkerFailuresExceeded
    from distrl.service.state import StopRequested

    state = TrainingState()
    startup_s: float | None = None
    backend = None
    reporter: ProgressReporter | None = None
    checkpointer: Checkpointer | None = None
    metrics: MetricsLogger | None = None
    service: _Service | None = None
    stop_reason, exit_code = "error", 1
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        if config.workers > 0:
            start_ray(config)
            signal.signal(signal.SIGTERM, _raise_interrupt)  # ray.init installs its own
        backend = make_backend(config, spec, _learner_restore(config, resume))
        # The training clock starts at the first sample request (or continues a checkpoint's).
        state = _restore(backend, resume) if resume is not None else TrainingState()
        startup_s = time.perf_counter() - launched
        reporter = ProgressReporter(
            interval=config.progress_interval,
            log_path=logdir / "progress.jsonl",
            total_steps=config.max_steps,
        )
        if config.checkpoint_dir is not None:
            checkpointer = Checkpointer(
                root=config.checkpoint_dir,
                backend=backend,
                config=config.to_dict(),
                every_s=config.checkpoint_every,
                every_updates=config.checkpoint_every_updates,
                keep=config.checkpoint_keep,
                include_replay=config.checkpoint_replay,
            )

        metrics = MetricsLogger(logdir, interval=config.progress_interval)
        evaluator = _evaluator(config, spec, backend)
        if serve is not None:
            service = _Service(config, spec, backend, serve, checkpointer, state)

        def on_update(s: TrainingState) -> None:
            if service is not None:
                service.observe(s)
            reporter(s)
            metrics(s)
            returns = evaluator.maybe_run(s.updates) if evaluator is not None else None
            if returns is not None:
                metrics.write_eval(s.env_steps, returns)
                log.info(
                    "eval at %d env steps: mean return %.1f ± %.1f over %d episodes",
                    s.env_steps, returns.mean(), returns.std(), len(returns),
                )  # fmt: skip
            if checkpointer is not None:
                checkpointer.maybe_save(s)

        inbox = service.inbox if service is not None else None
        stop_reason = LOOPS[config.mode](backend, state, stop, on_update, inbox)
        exit_code = 0
    except StopRequested:
        log.info("stopped by the service's Stop call")
        stop_reason, exit_code = "stopped", 0
    except KeyboardInterrupt:
        stop_reason, exit_code = "interrupted", 130
    except WorkerFailuresExceeded as e:
        log.error("distrl.launch: %s", e)
        stop_reason = "worker_failures"
    except LearnerFailuresExceeded as e:
        log.error("distrl.launch: %s", e)
        stop_reason = "learner_failures"
    except NonFiniteUpdates as e:  # on Ray it arrives as a RayTaskError that is also one
        log.error("distrl.launch: %s", getattr(e, "cause", e))
        stop_reason = "nonfinite"
    except ConfigError as e:
        print(f"distrl.launch: error: {e}", file=sys.stderr)
        return 2
    except Exception:
        log.exception("training failed")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if service is not None:
            service.close()
        wall_s = state.elapsed if startup_s is not None else 0.0
        if reporter is not None:
            reporter.close(state)
        if metrics is not None:
            metrics.close(state)
            _plot(logdir)
        if checkpointer is not None:
            try:  # always a last checkpoint: at the end, on Ctrl-C and on SIGTERM
                log.info("checkpoint written: %s", checkpointer.save(state))
            except Exception as e:  # e.g. the learner is gone; the earlier ones stay usable
                log.warning("final checkpoint failed: %s", e)
        if backend is not None:
            backend.shutdown()
        stop_ray()
    summary = RunSummary(
        algo=config.algo,
        env=config.env,
        mode=config.mode,
        workers=config.workers,
        envs_per_worker=config.envs_per_worker,
        seed=config.seed,
        solved=stop_reason == "solved",
        stop_reason=stop_reason,
        env_steps=state.env_steps,
        learner_updates=state.updates,
        episodes=state.episodes,
        startup_s=round(startup_s if startup_s is not None else time.perf_counter() - launched, 3),
        wall_s=round(wall_s, 3),
        steps_per_s=round(state.env_steps / wall_s, 1) if wall_s > 0 else 0.0,
        final_mean_return=state.mean_return,
        worker_restarts=int(state.metrics.get("worker/restarts", 0)),
        learner_restarts=int(state.metrics.get("learner/restarts", 0)),
        worker_nodes=backend.worker_nodes if backend is not None else 0,
    )
    ret = "-" if summary.final_mean_return is None else f"{summary.final_mean_return:.1f}"
    log.info(
        "stopped (%s) after %d env steps, %d updates, %.1fs training (+%.1fs startup); "
        "mean return %s",
        stop_reason,
        summary.env_steps,
        summary.learner_updates,
        summary.wall_s,
        summary.startup_s,
        ret,
    )
    if config.json_summary:
        write_summary(summary, config.json_summary)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
