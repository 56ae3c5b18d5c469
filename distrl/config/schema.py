"""The run's config: the top-level keys, the ``model`` and ``atari`` sections, and validation.

An algorithm's own section (``a2c``, ``ddpg``, ``pg``, ...) lives beside the algorithm
(``distrl/agents/<algo>/config.py``) and reaches :class:`Config` through the registry.
Every problem is a :class:`ConfigError` with a one-line message naming the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from distrl.agents import registry
from distrl.config.fields import ConfigError, check, setting

__all__ = ["AtariConfig", "Config", "ConfigError", "ModelConfig"]

MODES = ("sync", "async")
ASYNC_UNITS = ("trajectories", "gradients")
CORRECTIONS = ("auto", "vtrace", "none")
STALE_DATA = ("discard", "correct")
ACTING = ("auto", "numpy", "tensorflow")
NONFINITE_ACTIONS = ("lower_lr", "stop")
# Activations the workers' NumPy forward pass implements (see distrl/models/numpy_forward.py).
NUMPY_ACTIVATIONS = ("tanh", "relu", "linear", "sigmoid", "elu")
MODEL_NAMES = (
    "mlp",
    "shared_mlp",
    "seed000_actor_critic",
    "seed004_actor_critic",
    "nature_cnn",
    "seed002_cnn",
    "cnn",
)
CNN_MODELS = ("nature_cnn", "seed002_cnn", "cnn")
PREPROCESS = ("standard", "karpathy")
VECTORIZERS = ("auto", "ale", "gymnasium")


@dataclass(frozen=True)
class ModelConfig:
    name: str = setting(
        "mlp",
        "model builder: mlp, shared_mlp, seed000_actor_critic, seed004_actor_critic, "
        "nature_cnn (Atari: 3 conv + 512 dense), seed002_cnn (2 conv, on frame differences), "
        "cnn (images of any size, HxWxC or CxHxW), "
        "or package.module:function",
    )
    hidden: tuple[int, ...] = setting(
        (64, 64), "hidden layer sizes of the policy (mlp, shared_mlp)"
    )
    value_hidden: tuple[int, ...] | None = setting(
        None, "hidden sizes of the value network for mlp (default: same as hidden)"
    )
    activation: str = setting("tanh", "hidden activation (any Keras activation name)")


@dataclass(frozen=True)
class AtariConfig:
    preprocess: str = setting(
        "standard",
        "standard (frame skip 4 with max-pool, no-op reset, 84x84 gray, frame stack) or "
        "karpathy (seed 002: crop, downsample, binarise; the model takes frame differences)",
    )
    frame_skip: int = setting(4, "emulator frames per agent step (standard)")
    frame_stack: int = setting(4, "frames stacked per observation (standard)")
    noop_max: int = setting(30, "most random no-op actions at reset (standard)")
    episodic_life: bool = setting(True, "training only: a lost life ends the episode (standard)")
    clip_rewards: bool = setting(True, "training only: rewards clipped to their sign (standard)")
    sticky_actions: float | None = setting(
        None, "probability of repeating the last action (null: the env id's default)"
    )
    vectorizer: str = setting(
        "auto",
        "how workers step their envs: ale (ale-py's C++ vector env; standard preprocessing "
        "only), gymnasium (Python wrappers), or auto (ale for standard, else gymnasium)",
    )


@dataclass(frozen=True)
class Config:
    algo: str = setting(
        "a2c",
        "algorithm: a2c (discrete actions; A3C with mode async), ppo (discrete; APPO-style "
        "with mode async), pg (REINFORCE, discrete), ddpg (continuous actions), or any "
        "registered with distrl.agents.registry",
    )
    mode: str = setting(
        "sync",
        "training loop: sync (all workers, one version, one update) or async (A3C-style: "
        "update on whichever worker finishes first)",
    )
    overlap: bool = setting(
        False,
        "sync mode: workers sample the next round while the learner updates on this one "
        "(faster; one version of policy lag, corrected with V-trace unless correction is none)",
    )
    async_unit: str = setting(
        "trajectories",
        "what async workers send: trajectories (fragments) or gradients (computed on the "
        "worker's model copy, as in the A3C paper)",
    )
    correction: str = setting(
        "auto",
        "off-policy correction of trajectories: vtrace, none, or auto (vtrace for async "
        "trajectories and overlap, else none)",
    )
    max_policy_lag: int | None = setting(
        None, "most weights versions a fragment or gradient may lag the learner (null: no bound)"
    )
    stale_data: str = setting(
        "discard",
        "data beyond max_policy_lag: discard it, or correct it with V-trace (trajectories only); "
        "counted either way",
    )
    env: str = setting(
        "CartPole-v1",
        "gymnasium environment id, or package.module:EnvId (the module is imported first, in "
        "every process)",
    )
    env_imports: tuple[str, ...] = setting(
        (), "modules imported in every process before the env is made (they register its id)"
    )
    env_kwargs: Mapping[str, Any] | None = setting(
        None, "keyword arguments for gymnasium.make, e.g. {size: 8}"
    )
    env_wrappers: tuple[Any, ...] = setting(
        (),
        "gymnasium wrappers applied in order to every copy, before distrl's own processing: "
        "package.module:Name or {name: package.module:Name, kwargs: {...}}",
    )
    run_name: str | None = setting(
        None, "this run's folder under logdir (default: <algo>-<env>-<start time>)"
    )
    workers: int = setting(16, "rollout workers (0: one worker and the learner in this process)")
    envs_per_worker: int = setting(4, "vectorised env copies per worker")
    rollout_len: int = setting(16, "env steps per env in one fragment")
    seed: int = setting(0, "root seed; worker and env seeds are spawned from it")
    stop_reward: float | None = setting(
        None, "stop when the mean return of the last 20 episodes reaches this (default: env's)"
    )
    max_steps: int | None = setting(None, "stop after this many env steps")
    max_seconds: float | None = setting(None, "stop after this many seconds of training")
    logdir: str = setting("runs", "directory for the run's config and progress log")
    json_summary: str | None = setting(None, "write the end-of-run summary as JSON here")
    mlflow: str | None = setting(
        None,
        "also log params, metrics and the summary to MLflow at this tracking URI: a folder "
        "(./mlruns, no server), sqlite:///mlflow.db or http://host:5000 (needs distrl[mlflow])",
    )
    mlflow_experiment: str = setting("distrl", "the MLflow experiment runs are logged under")
    eval_every: int | None = setting(
        None, "every this many learner updates, evaluate the greedy policy on a separate env"
    )
    eval_episodes: int = setting(5, "episodes per evaluation (eval_every)")
    checkpoint_dir: str | None = setting(
        None, "write checkpoints here (periodically, on Ctrl-C/SIGTERM and at the end)"
    )
    checkpoint_every: float | None = setting(None, "seconds between periodic checkpoints")
    checkpoint_every_updates: int | None = setting(
        None, "learner updates between periodic checkpoints"
    )
    checkpoint_keep: int = setting(3, "how many of the newest checkpoints to keep")
    checkpoint_replay: bool = setting(False, "include the replay buffer in checkpoints (DDPG)")
    resume: str | None = setting(
        None, "continue from this checkpoint (or the newest in this directory)"
    )
    serve: str | None = setting(
        None,
        "HOST:PORT: run the gRPC service beside training (external actors, acting, weights, "
        "status); a non-loopback host needs --token. With workers 0 the learner then learns "
        "only from what external actors push",
    )
    tls_cert: str | None = setting(None, "PEM certificate for the service (TLS; with tls_key)")
    tls_key: str | None = setting(None, "PEM private key for the service (TLS; with tls_cert)")
    serve_backlog: int = setting(
        100_000,
        "env steps of pushed experience that may wait for the learner; beyond, pushes are "
        "refused with RESOURCE_EXHAUSTED",
    )
    address: str | None = setting(None, "Ray cluster to join (auto or HOST:PORT); none: local Ray")
    learner_gpus: float | None = setting(
        None, "GPUs for the learner (default: 1 if the cluster has one)"
    )
    worker_cpus: float = setting(1.0, "CPUs reserved per rollout worker")
    learner_cpus: float = setting(1.0, "CPUs reserved for the learner")
    learner_threads: int | None = setting(
        None,
        "TensorFlow threads in the learner process (its intra- and inter-op pools; with workers 0 "
        "the whole process); default: "
        "TensorFlow's choice, one per core. 1 spends less CPU per update but takes longer "
        "(BENCHMARKS.md, the learner's TensorFlow threads)",
    )
    acting: str = setting(
        "auto",
        "how workers run the policy: numpy (built-in MLPs, no TensorFlow in workers), "
        "tensorflow (the Keras model), or auto (numpy where possible)",
    )
    jit_acting: bool = setting(
        True, "XLA-compile the workers' Keras forward pass (acting: tensorflow)"
    )
    max_worker_failures: int = setting(
        10, "rollout worker deaths to recover from (recreate the worker) before stopping the run"
    )
    worker_start_timeout: float = setting(
        60.0,
        "seconds a recreated rollout worker may take to start; past it (no room left in the "
        "cluster, e.g. after a node was lost) the run goes on without that worker",
    )
    learner_restarts: int = setting(
        0,
        "learner deaths to recover from by restarting it from the newest checkpoint "
        "(needs checkpoint_dir)",
    )
    env_step_timeout: float | None = setting(
        None,
        "seconds one vector-env step or reset may take; a slower one is an env error (the env "
        "is recreated and the partial fragment discarded)",
    )
    nonfinite_limit: int = setting(
        10,
        "consecutive updates skipped for NaN/Inf before the learner rolls back to its last "
        "snapshot of good weights (see nonfinite_action)",
    )
    nonfinite_action: str = setting(
        "lower_lr", "after the rollback: lower_lr (halve the learning rates) or stop the run"
    )
    progress_interval: float = setting(2.0, "seconds between progress reports")
    straggler_delay: float = setting(
        0.0,
        "extra seconds per vector-env step in worker 0 only: a simulated slow machine "
        "(for tests and benchmarks of the async modes)",
    )
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "model"})
    atari: AtariConfig = field(default_factory=AtariConfig, metadata={"help": "Atari envs"})
    # The registered algorithms' sections (``a2c``, ``ddpg``, ``pg``, ...), read as attributes:
    # ``config.a2c.lr``. Which sections exist is the registry's business, not this module's.
    sections: Mapping[str, Any] = field(
        default_factory=lambda: {name: cls() for name, cls in registry.sections().items()},
        metadata={"help": "algorithm sections"},
    )

    def __post_init__(self) -> None:
        _validate(self)

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not fields: an algorithm's section.
        sections = object.__getattribute__(self, "__dict__").get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(f"Config has no field or section {name!r}")

    @property
    def algorithm(self) -> registry.Algorithm:
        """The registry entry of ``algo``."""
        return registry.get(self.algo)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, sections as nested mappings (``{"a2c": {"lr": ...}}``)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        sections = out.pop("sections")
        out["model"], out["atari"] = dataclasses.asdict(self.model), dataclasses.asdict(self.atari)
        out.update({name: dataclasses.asdict(s) for name, s in sections.items()})
        return _plain(out)

    @property
    def uses_vtrace(self) -> bool:
        """The resolved ``correction``: V-trace on every trajectory update."""
        if self.correction == "auto":
            lagged = self.mode == "async" or self.overlap
            return lagged and self.async_unit == "trajectories"
        return self.correction == "vtrace"


def _validate(c: Config) -> None:
    algorithm = registry.get(c.algo)  # an unknown name is a ConfigError listing the known ones
    for name, cls in registry.sections().items():
        check(isinstance(c.sections.get(name), cls), f"config section {name!r} is missing")
    check(c.mode in MODES, f"mode must be one of {', '.join(MODES)}; got {c.mode!r}")
    check(
        c.async_unit in ASYNC_UNITS,
        f"async_unit must be one of {', '.join(ASYNC_UNITS)}; got {c.async_unit!r}",
    )
    check(
        c.async_unit == "trajectories" or c.mode == "async",
        "async_unit gradients needs mode async",
    )
    check(
        algorithm.make_worker_loss is not None or c.async_unit == "trajectories",
        f"async_unit gradients is A3C's; algo {c.algo} sends trajectories",
    )
    check(
        c.correction in CORRECTIONS,
        f"correction must be one of {', '.join(CORRECTIONS)}; got {c.correction!r}",
    )
    check(
        c.async_unit == "trajectories" or c.correction != "vtrace",
        "correction vtrace applies to trajectories; async_unit gradients cannot use it",
    )
    check(
        not c.overlap or c.mode == "sync",
        "overlap applies to mode sync (async workers never wait for the learner)",
    )
    check(
        not c.overlap or algorithm.corrects_lag or algorithm.replay,
        f"overlap adds a version of policy lag; algo {c.algo} neither corrects it nor learns "
        "from replay",
    )
    check(
        c.max_policy_lag is None or c.max_policy_lag >= 0,
        f"max_policy_lag must be >= 0 or null; got {c.max_policy_lag}",
    )
    check(
        algorithm.corrects_lag or c.max_policy_lag is None,
        f"max_policy_lag bounds A2C/A3C's on-policy data; algo {c.algo} learns from replay",
    )
    check(
        c.stale_data in STALE_DATA,
        f"stale_data must be one of {', '.join(STALE_DATA)}; got {c.stale_data!r}",
    )
    check(
        c.async_unit == "trajectories" or c.stale_data == "discard",
        "stale_data correct needs trajectories; stale gradients can only be discarded",
    )
    check(bool(c.env), "env must not be empty")
    check(c.mlflow is None or bool(c.mlflow), "mlflow must not be empty (null turns it off)")
    check(bool(c.mlflow_experiment), "mlflow_experiment must not be empty")
    check(c.workers >= 0, f"workers must be >= 0; got {c.workers}")
    check(c.envs_per_worker >= 1, f"envs_per_worker must be >= 1; got {c.envs_per_worker}")
    check(c.rollout_len >= 1, f"rollout_len must be >= 1; got {c.rollout_len}")
    check(c.seed >= 0, f"seed must be >= 0; got {c.seed}")
    check(c.max_steps is None or c.max_steps > 0, f"max_steps must be > 0; got {c.max_steps}")
    check(
        c.max_seconds is None or c.max_seconds > 0, f"max_seconds must be > 0; got {c.max_seconds}"
    )
    check(
        c.learner_gpus is None or c.learner_gpus >= 0,
        f"learner_gpus must be >= 0; got {c.learner_gpus}",
    )
    check(
        c.checkpoint_every is None or c.checkpoint_every > 0,
        f"checkpoint_every must be > 0 seconds; got {c.checkpoint_every}",
    )
    check(
        c.checkpoint_every_updates is None or c.checkpoint_every_updates > 0,
        f"checkpoint_every_updates must be > 0; got {c.checkpoint_every_updates}",
    )
    check(c.eval_every is None or c.eval_every > 0, f"eval_every must be > 0; got {c.eval_every}")
    check(c.eval_episodes >= 1, f"eval_episodes must be >= 1; got {c.eval_episodes}")
    check(c.checkpoint_keep >= 1, f"checkpoint_keep must be >= 1; got {c.checkpoint_keep}")
    check(
        c.checkpoint_dir is not None
        or (c.checkpoint_every is None and c.checkpoint_every_updates is None),
        "checkpoint_every needs checkpoint_dir",
    )
    check(
        c.max_worker_failures >= 0,
        f"max_worker_failures must be >= 0; got {c.max_worker_failures}",
    )
    check(
        c.worker_start_timeout > 0,
        f"worker_start_timeout must be > 0; got {c.worker_start_timeout}",
    )
    check(c.serve_backlog >= 1, f"serve_backlog must be >= 1; got {c.serve_backlog}")
    check((c.tls_cert is None) == (c.tls_key is None), "TLS needs both tls_cert and tls_key")
    check(
        c.serve is None or c.async_unit == "trajectories",
        "serve takes experience as trajectories; async_unit gradients cannot use it",
    )
    check(c.learner_restarts >= 0, f"learner_restarts must be >= 0; got {c.learner_restarts}")
    check(
        c.learner_restarts == 0 or c.checkpoint_dir is not None,
        "learner_restarts restarts the learner from a checkpoint: it needs checkpoint_dir",
    )
    check(
        c.env_step_timeout is None or c.env_step_timeout > 0,
        f"env_step_timeout must be > 0 seconds; got {c.env_step_timeout}",
    )
    check(c.nonfinite_limit >= 1, f"nonfinite_limit must be >= 1; got {c.nonfinite_limit}")
    check(
        c.nonfinite_action in NONFINITE_ACTIONS,
        f"nonfinite_action must be one of {', '.join(NONFINITE_ACTIONS)}; "
        f"got {c.nonfinite_action!r}",
    )
    check(c.worker_cpus > 0, f"worker_cpus must be > 0; got {c.worker_cpus}")
    check(c.learner_cpus > 0, f"learner_cpus must be > 0; got {c.learner_cpus}")
    check(
        c.learner_threads is None or c.learner_threads >= 1,
        f"learner_threads must be >= 1; got {c.learner_threads}",
    )
    check(c.progress_interval > 0, f"progress_interval must be > 0; got {c.progress_interval}")
    check(c.straggler_delay >= 0, f"straggler_delay must be >= 0; got {c.straggler_delay}")
    check(c.acting in ACTING, f"acting must be one of {', '.join(ACTING)}; got {c.acting!r}")
    m = c.model
    check(
        c.acting != "numpy"
        or (":" not in m.name and m.name not in CNN_MODELS and m.activation in NUMPY_ACTIVATIONS),
        "acting numpy needs a built-in model with activation "
        f"{', '.join(NUMPY_ACTIVATIONS)}; use acting auto or tensorflow",
    )
    check(
        m.name in MODEL_NAMES or ":" in m.name,
        f"model.name must be one of {', '.join(MODEL_NAMES)} or package.module:function; "
        f"got {m.name!r}",
    )
    check(
        len(m.hidden) > 0 and all(h > 0 for h in m.hidden),
        f"model.hidden must be positive layer sizes; got {list(m.hidden)}",
    )
    check(
        m.value_hidden is None or all(h > 0 for h in m.value_hidden),
        f"model.value_hidden must be positive layer sizes; got {m.value_hidden}",
    )
    _validate_atari(c.atari)


def _validate_atari(t: AtariConfig) -> None:
    check(
        t.preprocess in PREPROCESS,
        f"atari.preprocess must be one of {', '.join(PREPROCESS)}; got {t.preprocess!r}",
    )
    check(t.frame_skip >= 1, f"atari.frame_skip must be >= 1; got {t.frame_skip}")
    check(t.frame_stack >= 1, f"atari.frame_stack must be >= 1; got {t.frame_stack}")
    check(t.noop_max >= 0, f"atari.noop_max must be >= 0; got {t.noop_max}")
    check(
        t.sticky_actions is None or 0.0 <= t.sticky_actions < 1.0,
        f"atari.sticky_actions must be in [0, 1) or null; got {t.sticky_actions}",
    )
    check(
        t.vectorizer in VECTORIZERS,
        f"atari.vectorizer must be one of {', '.join(VECTORIZERS)}; got {t.vectorizer!r}",
    )
    check(
        t.vectorizer != "ale" or t.preprocess == "standard",
        f"atari.vectorizer ale needs atari.preprocess standard; got {t.preprocess!r}",
    )


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively, so the dict dumps as ordinary YAML/JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
