"""One training run, wired in one place: config -> backend -> loop -> hooks -> summary.

Every entry point drives this class: the command line (``distrl.launch``), the Python API,
Ray Tune and the benchmarks. ::

    config = distrl.make_config("cartpole-a2c", workers=2, max_steps=200_000)
    trainer = distrl.Trainer(config)
    summary = trainer.train()                      # blocks; returns the RunSummary
    policy = trainer.policy()                      # acts on NumPy batches, no Ray needed
    trainer.save("checkpoints/")                   # a checkpoint Trainer.restore() continues

It installs no signal handler, never calls ``sys.exit`` and leaves logging to its caller, so it
runs from any thread (a notebook, a Tune trial). It joins the Ray this process already uses, or
the cluster at ``config.resources.address``, or starts an embedded one, and shuts down only
what it started.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distrl.agents import registry
from distrl.callbacks import Callback
from distrl.config import Config, ConfigError, build_config, flatten
from distrl.envs.custom import EnvOptions
from distrl.models.precision import bfloat16_warning
from distrl.ops.checkpoint import (
    Checkpoint,
    check_matches,
    check_same_run,
    checkpoints,
    read_checkpoint,
    with_policy_info,
    write_checkpoint,
)
from distrl.ops.summary import RunSummary, write_summary
from distrl.ops.tracking import StopRequested, StopRule, TrainingProgress
from distrl.policy import Policy
from distrl.run_folder import (
    check_checkpoint_dir,
    discard_unstarted,
    one_line,
    prepare_run_dir,
    run_dir_of,
    serve_options,
    write_error,
)
from distrl.run_parts import RunParts, close_parts, start_parts
from distrl.types import EnvSpec, WeightsMessage

log = logging.getLogger("distrl.trainer")

# Stop reasons that end a run normally (exit status 0 for the command line).
CLEAN_STOPS = ("solved", "max_steps", "max_seconds", "stopped")


@dataclass(frozen=True)
class FinalLearner:
    """What a finished run keeps of its learner, for ``policy()`` and ``save()`` once the
    learner's process is gone."""

    checkpoint: tuple[dict, dict]  # arrays and scalars, as learner.checkpoint() gives them
    policy: bytes | None  # the .keras file
    weights: WeightsMessage


class TrainingFailed(RuntimeError):
    """The run ended in a failure (too many worker or learner deaths, non-finite updates, an
    error). Its summary was written; ``summary.stop_reason`` says which; ``__cause__`` is the
    original exception."""

    def __init__(self, message: str, summary: RunSummary) -> None:
        super().__init__(message)
        self.summary = summary


class Trainer:
    """Runs ``config``; ``callbacks`` see every update, episode and evaluation.

    ``token`` / ``admin_token``: the service's bearer tokens when ``config.service.listen`` is
    set (kept out of the config, so they are never written to the logdir or checkpoints).
    """

    def __init__(
        self,
        config: Config,
        *,
        callbacks: Sequence[Callback] = (),
        token: str | None = None,
        admin_token: str | None = None,
        keep_final: bool = True,
    ) -> None:
        self.config = config
        self.callbacks = list(callbacks)
        self.token, self.admin_token = token, admin_token
        self.progress = TrainingProgress()
        self.summary: RunSummary | None = None
        self.spec: EnvSpec | None = None
        self._created = time.perf_counter()
        self._prepared = False
        self._stop = threading.Event()
        self._backend: Any = None
        # The learner as the run left it (state, policy file, weights), for policy() and save()
        # once its process is gone; kept only when ``keep_final`` (the CLI does not need it).
        self._final: FinalLearner | None = None
        self.keep_final = keep_final
        self._seen: Any = None  # the newest UpdateResult whose episodes callbacks were shown
        self._parts: RunParts | None = None
        self._worker_nodes = 0

    # --- before anything starts -------------------------------------------------------------

    def prepare(self) -> None:
        """Every check that can refuse the run before a worker starts (a ConfigError), and the
        logdir. ``train`` calls it; call it first to report bad input early."""
        if self._prepared:
            return
        from distrl.envs import env_spec

        config = self.config
        self.resume: Checkpoint | None = None
        if config.resume is not None:
            self.resume = read_checkpoint(config.resume)
            own = config.algorithm_sections().own
            check_same_run(self.resume, algo=config.algo, env=config.env, own_section=own)
        self.run_dir = run_dir_of(config, self.resume)
        self.config = config = dataclasses.replace(config, run_name=self.run_dir.name)
        self.spec = env_spec(config.env, config.atari, EnvOptions.of(config))
        registry.get(config.algo).check_spec(self.spec)
        slow = bfloat16_warning(config.model.precision, config.resources.learner_gpus)
        if slow:
            log.warning(slow)
        stop_reward = config.stop_reward
        if stop_reward is None:
            stop_reward = self.spec.reward_threshold
        self.stop_rule = StopRule(stop_reward, config.max_steps, config.max_seconds)
        check_checkpoint_dir(config)
        logs = config.logging
        if logs.mlflow is not None:  # a store that cannot be used is refused here
            from distrl.ops.mlflow_log import MLflowLogger

            self.callbacks.append(MLflowLogger(logs.mlflow, logs.mlflow_experiment,
                                               interval=logs.progress_interval))  # fmt: skip
        self._new_run_dir = not self.run_dir.exists()  # removed again if training never starts
        prepare_run_dir(config, self.run_dir)
        self.serve_options = serve_options(config, self.token, self.admin_token)
        self._prepared = True

    # --- the run ------------------------------------------------------------------------------

    def train(
        self, *, max_steps: int | None = None, max_seconds: float | None = None
    ) -> RunSummary:
        """Train until the stop rule, ``stop()`` or Ctrl-C; the summary (also ``self.summary``).

        A second call continues the same run, as Stable-Baselines3's ``learn(...,
        reset_num_timesteps=False)``: the learner's weights, optimizer and counters, the env-step
        and update counters, the training clock and the run folder (its files are appended to).
        ``max_steps`` and ``max_seconds`` replace the stop rule's budgets; both count the whole
        run, so continuing a run that stopped at ``max_steps`` needs a larger one. A replay
        learner's buffer carries over only with ``checkpoint.replay`` (as in checkpoints).

        Raises ConfigError for bad input (nothing started) and :class:`TrainingFailed` when the
        run fails; in both of those cases and on Ctrl-C, the final checkpoint (with
        ``checkpoint_dir``) and the summary are still written.
        """
        from distrl.agents.guard import NonFiniteUpdates
        from distrl.runtime import make_backend, training_loop
        from distrl.runtime.cluster import start_ray, stop_ray
        from distrl.runtime.ray_backend import LearnerFailuresExceeded, WorkerFailuresExceeded

        self.prepare()
        continuing = self.summary is not None
        if continuing and self._final is None:
            raise RuntimeError(
                "train() cannot continue this run: its learner state was not kept "
                "(keep_final=False, or the first train() failed before the learner started)"
            )
        self._set_budget(max_steps, max_seconds)
        if continuing:
            self._created = time.perf_counter()  # this call's startup
        assert self.spec is not None
        config, spec = self.config, self.spec
        self._stop.clear()
        startup_s: float | None = None
        parts: RunParts | None = None
        stop_reason, failure = "error", None  # type: tuple[str, BaseException | None]
        bad_input = False
        try:
            if config.workers > 0:
                start_ray(config)
            self._backend = make_backend(config, spec, self._learner_restore())
            self._worker_nodes = self._backend.worker_nodes
            if continuing:
                self.progress = self._continued()
            else:
                self.progress = self._restored() if self.resume is not None else TrainingProgress()
            made = time.perf_counter()
            parts = self._start_parts()
            for callback in self.callbacks:
                callback.on_start(self)
            # The training clock starts at the first sample request (or continues a
            # checkpoint's): setting up logs, evaluator and service counts as startup.
            startup_s = time.perf_counter() - self._created
            self.progress.started += time.perf_counter() - made
            inbox = parts.service.inbox if parts.service is not None else None
            stop_reason = training_loop(config)(
                self._backend, self.progress, self.stop_rule, self._on_update, inbox
            )
        except StopRequested:
            log.info("stopped on request")
            stop_reason = "stopped"
        except KeyboardInterrupt:
            stop_reason = "interrupted"
        except WorkerFailuresExceeded as e:
            stop_reason, failure = "worker_failures", e
        except LearnerFailuresExceeded as e:
            stop_reason, failure = "learner_failures", e
        except NonFiniteUpdates as e:  # on Ray it arrives as a RayTaskError that is also one
            stop_reason, failure = "nonfinite", e
        except ConfigError:
            bad_input = True
            raise  # bad input found late (e.g. a user's model builder): after the cleanup below
        except Exception as e:
            stop_reason, failure = "error", e
        finally:
            wall_s = self.progress.elapsed if startup_s is not None else 0.0
            for callback in self.callbacks:
                callback.on_stopping(self)
            self._shut_down(parts, stop_ray)
            if startup_s is None and bad_input and self._new_run_dir:  # others: error.txt
                self._prepared = not discard_unstarted(self.run_dir)  # a new train() prepares
        summary = self._summarize(stop_reason, startup_s, wall_s)
        for callback in self.callbacks:
            callback.on_end(self, summary)
        if failure is not None:
            cause = getattr(failure, "cause", None) or failure  # what a remote task raised
            message = str(cause)
            if stop_reason == "error":  # one line; the whole story goes to a file
                message = f"{one_line(cause)} (traceback: {write_error(self.run_dir, failure)})"
            raise TrainingFailed(message, summary) from failure
        return summary

    def stop(self) -> None:
        """Ask the run to end after the current update (from a callback or any thread)."""
        self._stop.set()

    @property
    def service_port(self) -> int | None:
        """The port the gRPC service listens on while the run serves (``serve``), else None."""
        service = self._parts.service if self._parts is not None else None
        return None if service is None else int(service.port)

    def _start_parts(self) -> RunParts:
        assert self.spec is not None  # prepare() ran
        self._parts = start_parts(self.config, self.run_dir, self._backend, self.spec,
                                  self.progress, self.serve_options)  # fmt: skip
        return self._parts

    def _on_update(self, state: TrainingProgress) -> None:
        parts = self._parts
        assert parts is not None  # started before the loop
        if parts.service is not None:
            parts.service.observe(state)
        parts.reporter(state)
        parts.metrics(state)
        if state.last is not None and state.last is not self._seen:
            self._seen = state.last
            for ret, length in zip(state.last.episode_returns, state.last.episode_lengths,
                                   strict=True):  # fmt: skip
                for callback in self.callbacks:
                    callback.on_episode(self, float(ret), int(length))
        evaluator = parts.evaluator
        returns = evaluator.maybe_run(state.updates) if evaluator is not None else None
        if returns is not None:
            parts.metrics.write_eval(state.env_steps, returns)
            parts.reporter.write_eval(state, returns)
            log.info("eval at %d env steps: mean return %.1f ± %.1f over %d episodes",
                     state.env_steps, returns.mean(), returns.std(), len(returns))  # fmt: skip
            for callback in self.callbacks:
                callback.on_evaluation(self, returns)
        if parts.checkpointer is not None:
            parts.checkpointer.maybe_save(state)
        for callback in self.callbacks:
            callback.on_update(self, state)
        if self._stop.is_set():
            raise StopRequested()

    def _shut_down(self, parts: RunParts | None, stop_ray: Any) -> None:
        """Everything after the loop, each step on its own so that one failing loses no other:
        the service, progress and metrics files, the final checkpoint, then the processes."""
        state = self.progress
        if parts is not None:
            close_parts(parts, state, self.run_dir)
        backend, self._backend = self._backend, None
        if backend is not None:
            if self.keep_final:
                try:  # what policy() and save() need once the learner is gone
                    self._final = FinalLearner(
                        checkpoint=backend.learner_checkpoint(self.config.checkpoint.replay),
                        policy=backend.policy_bytes(),
                        weights=backend.fetch(backend.weights()),
                    )
                except Exception as e:
                    log.warning("could not keep the final learner state: %s", e)
            backend.shutdown()
        stop_ray()

    def _summarize(self, stop_reason: str, startup_s: float | None, wall_s: float) -> RunSummary:
        config, state = self.config, self.progress
        if startup_s is None:
            startup_s = time.perf_counter() - self._created
        summary = RunSummary(
            algo=config.algo, env=config.env, mode=config.mode, workers=config.workers,
            envs_per_worker=config.envs_per_worker, seed=config.seed,
            solved=stop_reason == "solved", stop_reason=stop_reason, env_steps=state.env_steps,
            learner_updates=state.updates, episodes=state.episodes,
            startup_s=round(startup_s, 3), wall_s=round(wall_s, 3),
            steps_per_s=round(state.env_steps / wall_s, 1) if wall_s > 0 else 0.0,
            final_mean_return=state.mean_return,
            worker_restarts=int(state.metrics.get("worker/restarts", 0)),
            learner_restarts=int(state.metrics.get("learner/restarts", 0)),
            worker_nodes=self._worker_nodes,
            run_dir=str(self.run_dir),
        )  # fmt: skip
        ret = "-" if summary.final_mean_return is None else f"{summary.final_mean_return:.1f}"
        log.info("stopped (%s) after %d env steps, %d updates, %.1fs training (+%.1fs startup); "
                 "mean return %s", stop_reason, summary.env_steps, summary.learner_updates,
                 summary.wall_s, summary.startup_s, ret)  # fmt: skip
        if config.logging.json_summary:
            write_summary(summary, config.logging.json_summary)
        self.summary = summary
        return summary

    # --- checkpoints and the policy --------------------------------------------------------------

    def _restored(self) -> TrainingProgress:
        """Load the checkpoint into the learner (after checking it fits); continue its counters.
        The driver then drops the checkpoint's arrays (a replay buffer can be gigabytes) and
        reads them from disk again if it needs them (a learner restart, another ``train()``)."""
        assert self.resume is not None
        resume = self.resume if self.resume.arrays else read_checkpoint(self.resume.path)
        current, _ = self._backend.learner_checkpoint(False)
        check_matches(resume.arrays, current, resume.path)
        self._backend.restore_learner(resume.arrays, resume.scalars)
        self.resume = dataclasses.replace(resume, arrays={})
        return TrainingProgress.restore(resume.counters)

    def _continued(self) -> TrainingProgress:
        """Load what the previous ``train()`` left into the new learner; continue its counters."""
        assert self._final is not None
        arrays, scalars = self._final.checkpoint
        current, _ = self._backend.learner_checkpoint(False)
        check_matches(arrays, current, Path("the previous train()"))
        self._backend.restore_learner(arrays, scalars)
        return TrainingProgress.restore(self.progress.counters())

    def _set_budget(self, max_steps: int | None, max_seconds: float | None) -> None:
        """``train(max_steps=..., max_seconds=...)``: new budgets, checked like the config's."""
        if max_steps is None and max_seconds is None:
            return
        changes: dict[str, Any] = {}
        if max_steps is not None:
            changes["max_steps"] = max_steps
        if max_seconds is not None:
            changes["max_seconds"] = max_seconds
        self.config = dataclasses.replace(self.config, **changes)  # a ConfigError if bad
        self.stop_rule = StopRule(self.stop_rule.stop_reward, self.config.max_steps,
                                  self.config.max_seconds)  # fmt: skip

    def _learner_restore(self) -> Any:
        """For a learner that died: the newest checkpoint's learner state (or the one resumed
        from, before this run has written any), or None."""
        config = self.config
        resumed = self.resume.path if self.resume is not None else None  # read again from disk

        def restore() -> tuple[dict, dict] | None:
            assert config.checkpoint.dir is not None  # learner_restarts needs it (config check)
            path = config.checkpoint.dir if checkpoints(config.checkpoint.dir) else resumed
            if path is None:
                return None
            saved = read_checkpoint(path)
            return saved.arrays, saved.scalars

        return restore if config.faults.learner_restarts > 0 else None

    def _learner(self) -> Any:
        """The live learner's backend during the run, else what the finished run kept."""
        if self._backend is not None:
            return self._backend
        if self._final is None:
            raise RuntimeError("no learner yet: the run has not trained (or keep_final=False)")
        return None

    def _learner_checkpoint(self) -> tuple[dict, dict]:
        backend = self._learner()
        if backend is not None:
            return backend.learner_checkpoint(self.config.checkpoint.replay)
        assert self._final is not None
        return self._final.checkpoint

    def _policy_bytes(self) -> bytes | None:
        backend = self._learner()
        if backend is not None:
            return backend.policy_bytes()
        assert self._final is not None
        return self._final.policy

    def _weights(self) -> WeightsMessage:
        backend = self._learner()
        if backend is not None:
            return backend.fetch(backend.weights())
        assert self._final is not None
        return self._final.weights

    def save(self, directory: str | Path | None = None) -> Path:
        """Write a checkpoint now (from a callback) or of the finished run, into ``directory``
        (default: ``checkpoint_dir``); its path. ``Trainer.restore`` continues from it."""
        root = directory if directory is not None else self.config.checkpoint.dir
        if root is None:
            raise ConfigError("save needs a directory (or checkpoint_dir in the config)")
        arrays, scalars = self._learner_checkpoint()
        return write_checkpoint(
            root, updates=self.progress.updates, arrays=arrays, scalars=scalars,
            counters=self.progress.counters(), config=self.config.to_dict(),
            policy=self._policy_bytes(), keep=self.config.checkpoint.keep,
            spec=self.spec.to_dict() if self.spec is not None else None,
        )  # fmt: skip

    def save_policy(self, path: str | Path) -> Path:
        """The current policy as a ``.keras`` file (``Policy.from_keras`` loads it)."""
        target = Path(path)
        if target.suffix != ".keras":  # Keras opens only files named so
            raise ConfigError(f"save_policy writes a .keras file; {str(path)!r} does not end "
                              "in .keras")  # fmt: skip
        data = self._policy_bytes()
        if data is None:
            raise RuntimeError(f"algo {self.config.algo} has no Keras policy to save")
        spec = self.spec.to_dict() if self.spec is not None else None
        data = with_policy_info(data, self.config.to_dict(), spec)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".keras", delete=False) as f:
            f.write(data)
        Path(f.name).replace(target)  # atomic: a reader never sees half a file
        return target

    def policy(self, seed: int = 0) -> Policy:
        """The newest policy (live during the run, the final one after it) as a :class:`Policy`."""
        weights = self._weights()
        self.prepare()
        assert self.spec is not None
        return Policy(
            algorithm=self.config.algo,
            sections=self.config.algorithm_sections(),
            spec=self.spec,
            weights=weights,
            seed=seed,
        )

    @classmethod
    def restore(
        cls, path: str | Path, *, callbacks: Sequence[Callback] = (), **overrides: Any
    ) -> Trainer:
        """A trainer that continues the checkpoint at ``path`` (its counters, weights and
        optimizer), with the checkpoint's config under ``overrides`` (e.g. ``max_steps``)."""
        checkpoint = read_checkpoint(path)
        config = build_config(
            checkpoint.config, flatten(overrides), {"resume": str(path)}, flag_names=True
        )
        return cls(config, callbacks=callbacks)
