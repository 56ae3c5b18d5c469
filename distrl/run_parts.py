"""What a run starts beside its training loop (progress, metrics, checkpoints, evaluation, the
gRPC service) and closes after it, each part only when the config asks for it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distrl.agents import make_policy, registry
from distrl.config import Config
from distrl.envs.custom import EnvOptions
from distrl.ops.checkpoint import Checkpointer
from distrl.ops.console import ProgressReporter
from distrl.ops.evaluation import PeriodicEvaluator
from distrl.ops.metrics import MetricsLogger
from distrl.ops.plot import plot_learning_curve
from distrl.ops.tracking import TrainingProgress
from distrl.types import EnvSpec

log = logging.getLogger("distrl.trainer")


@dataclass
class RunParts:
    """What a run starts beside its loop; each optional part is None unless the config asks."""

    reporter: ProgressReporter
    metrics: MetricsLogger
    checkpointer: Checkpointer | None = None
    evaluator: PeriodicEvaluator | None = None
    service: Any = None  # a ServiceHost (distrl.service, imported only when the run serves)


def start_parts(
    config: Config,
    run_dir: Path,
    backend: Any,
    spec: EnvSpec,
    progress: TrainingProgress,
    serve_options: Any,
) -> RunParts:
    """The parts of a run whose backend is up, writing into ``run_dir``."""
    parts = RunParts(
        reporter=ProgressReporter(
            interval=config.logging.progress_interval,
            log_path=run_dir / "progress.jsonl",
            total_steps=config.max_steps,
        ),
        metrics=MetricsLogger(run_dir, interval=config.logging.progress_interval),
    )
    if config.checkpoint.dir is not None:
        parts.checkpointer = Checkpointer(
            root=config.checkpoint.dir,
            backend=backend,
            config=config.to_dict(),
            spec=spec.to_dict(),
            every_s=config.checkpoint.every,
            every_updates=config.checkpoint.every_updates,
            keep=config.checkpoint.keep,
            include_replay=config.checkpoint.replay,
        )
    if config.evaluation.every is not None:
        parts.evaluator = PeriodicEvaluator(
            env_id=config.env,
            every=config.evaluation.every,
            episodes=config.evaluation.episodes,
            policy=make_policy(
                algorithm=config.algo,
                sections=config.algorithm_sections(),
                spec=spec,
                tf_threads=None,
            ),
            weights=lambda: backend.fetch(backend.weights()),
            seed=config.seed,
            atari=config.atari,
            options=EnvOptions.of(config),
        )
    if serve_options is not None:
        from distrl.service.host import ServiceHost
        from distrl.service.server import ServedRun

        checkpointer = parts.checkpointer
        save = None if checkpointer is None else (lambda s: str(checkpointer.save(s)))
        run = ServedRun(
            registry.get(config.algo), config.algorithm_sections(), config.rollout_len,
            config.seed,
        )  # fmt: skip
        parts.service = ServiceHost(
            run=run, spec=spec, backend=backend, options=serve_options,
            checkpoint=save, state=progress,
        )  # fmt: skip
    return parts


def close_parts(parts: RunParts, state: TrainingProgress, run_dir: Path) -> None:
    """Close each part; the learning curve; always a last checkpoint (at the end, on Ctrl-C
    and on SIGTERM). One part failing loses no other."""
    if parts.service is not None:
        parts.service.close()
    parts.reporter.close(state)
    parts.metrics.close(state)
    try:  # the learning curve, drawn from the metrics files
        plot_learning_curve(run_dir)
    except (FileNotFoundError, ValueError) as e:
        log.info("no learning curve: %s", e)
    if parts.checkpointer is not None:
        try:
            log.info("checkpoint written: %s", parts.checkpointer.save(state))
        except Exception as e:  # e.g. the learner is gone; the earlier ones stay usable
            log.warning("final checkpoint failed: %s", e)
