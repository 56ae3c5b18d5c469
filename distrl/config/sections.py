"""The run's sections by owner: how workers act, policy lag, non-finite updates, resources, the
service, checkpoints, evaluation, logging and fault tolerance. Each checks itself in
``__post_init__``; checks that involve several sections are in ``schema.py``.

Keys are written ``section.key`` in files and ``--set``; the ones people set most also have a
flag (``flag=``), named as the key was before the sections existed (``--checkpoint-dir``).
"""

from __future__ import annotations

from dataclasses import dataclass

from distrl.config.fields import check, check_at_least, check_choice, setting

ACTING = ("auto", "numpy", "tensorflow")
CORRECTIONS = ("auto", "vtrace", "none")
STALE_DATA = ("discard", "correct")
NONFINITE_ACTIONS = ("lower_lr", "stop")


@dataclass(frozen=True)
class ActingConfig:
    """How rollout workers (and the service's Act) run the policy."""

    backend: str = setting(
        "auto",
        "how workers run the policy: numpy (built-in MLPs, no TensorFlow in workers), "
        "tensorflow (the Keras model), or auto (numpy where possible)",
        flag="acting",
    )
    jit: bool = setting(
        True,
        "XLA-compile the workers' Keras forward pass (backend tensorflow; float32 only: under "
        "model.precision mixed_bfloat16 it runs as a TensorFlow graph, faster on CPUs)",
        flag="jit-acting",
    )

    def __post_init__(self) -> None:
        check_choice("acting.backend", self.backend, ACTING)


@dataclass(frozen=True)
class LagConfig:
    """What learners do with data acted by an older weights version (read by learners only)."""

    correction: str = setting(
        "auto",
        "off-policy correction of trajectories: vtrace, none, or auto (vtrace for async "
        "trajectories and overlap, else none)",
        flag="correction",
    )
    max_policy_lag: int | None = setting(
        None,
        "most weights versions a fragment or gradient may lag the learner (null: no bound)",
        flag="max-policy-lag",
    )
    stale_data: str = setting(
        "discard",
        "data beyond max_policy_lag: discard it, or correct it with V-trace (trajectories only); "
        "counted either way",
        flag="stale-data",
    )

    def __post_init__(self) -> None:
        check_choice("lag.correction", self.correction, CORRECTIONS)
        check_at_least("lag.max_policy_lag", self.max_policy_lag, 0)
        check_choice("lag.stale_data", self.stale_data, STALE_DATA)

    @property
    def vtrace(self) -> bool:
        """V-trace on every trajectory update (``correction`` as resolved for the run)."""
        return self.correction == "vtrace"


@dataclass(frozen=True)
class NonfiniteConfig:
    """What a learner does about updates with NaN or Inf in them."""

    limit: int = setting(
        10,
        "consecutive updates skipped for NaN/Inf before the learner rolls back to its last "
        "snapshot of good weights (see nonfinite.action)",
        flag="nonfinite-limit",
    )
    action: str = setting(
        "lower_lr",
        "after the rollback: lower_lr (halve the learning rates) or stop the run",
        flag="nonfinite-action",
    )

    def __post_init__(self) -> None:
        check_at_least("nonfinite.limit", self.limit, 1)
        check_choice("nonfinite.action", self.action, NONFINITE_ACTIONS)


@dataclass(frozen=True)
class NormalizeConfig:
    """Running normalization of observations and rewards, owned by distrl (as Stable-Baselines3's
    ``VecNormalize``): one set of statistics for the whole run, kept by the learner."""

    observations: bool = setting(
        False,
        "standardise vector observations by their running mean and variance (inside the model: "
        "workers, evaluation, the service and exports see the same statistics)",
    )
    rewards: bool = setting(
        False, "scale rewards by the running std of the discounted return (training only)"
    )
    clip: float = setting(10.0, "normalized observations and rewards are clipped to +-clip")
    epsilon: float = setting(1e-8, "added to the variances (VecNormalize's epsilon)")
    gamma: float = setting(0.99, "discount of the return whose std scales the rewards")

    def __post_init__(self) -> None:
        check_at_least("normalize.clip", self.clip, 0, strict=True)
        check_at_least("normalize.epsilon", self.epsilon, 0, strict=True)
        check(0.0 <= self.gamma <= 1.0, f"normalize.gamma must be in [0, 1]; got {self.gamma}")

    @property
    def any(self) -> bool:
        return self.observations or self.rewards


@dataclass(frozen=True)
class ResourcesConfig:
    """Where the run's processes go and what they reserve."""

    address: str | None = setting(
        None, "Ray cluster to join (auto or HOST:PORT); none: local Ray", flag="address"
    )
    learner_gpus: float | None = setting(
        None, "GPUs for the learner (default: 1 if the cluster has one)", flag="learner-gpus"
    )
    worker_cpus: float = setting(1.0, "CPUs reserved per rollout worker", flag="worker-cpus")
    learner_cpus: float = setting(1.0, "CPUs reserved for the learner", flag="learner-cpus")
    learners: int = setting(
        1,
        "data-parallel learners (a2c, ppo): each takes a share of every batch and they apply "
        "the same averaged gradient; each reserves learner_cpus and learner_gpus",
        flag="learners",
    )
    learner_threads: int | None = setting(
        None,
        "TensorFlow threads in the learner process (its intra- and inter-op pools; with workers 0 "
        "the whole process); default: TensorFlow's choice, one per core. 1 spends less CPU per "
        "update but takes longer (BENCHMARKS.md, the learner's TensorFlow threads)",
        flag="learner-threads",
    )

    def __post_init__(self) -> None:
        check_at_least("resources.learner_gpus", self.learner_gpus, 0)
        check_at_least("resources.worker_cpus", self.worker_cpus, 0, strict=True)
        check_at_least("resources.learner_cpus", self.learner_cpus, 0, strict=True)
        check_at_least("resources.learner_threads", self.learner_threads, 1)
        check_at_least("resources.learners", self.learners, 1)


@dataclass(frozen=True)
class ServiceConfig:
    """The gRPC service beside training."""

    listen: str | None = setting(
        None,
        "HOST:PORT: run the gRPC service beside training (external actors, acting, weights, "
        "status); a non-loopback host needs --token. With workers 0 the learner then learns "
        "only from what external actors push",
        flag="serve",
    )
    tls_cert: str | None = setting(
        None, "PEM certificate for the service (TLS; with tls_key)", flag="tls-cert"
    )
    tls_key: str | None = setting(
        None, "PEM private key for the service (TLS; with tls_cert)", flag="tls-key"
    )
    backlog: int = setting(
        100_000,
        "env steps of pushed experience that may wait for the learner; beyond, pushes are "
        "refused with RESOURCE_EXHAUSTED",
        flag="serve-backlog",
    )

    def __post_init__(self) -> None:
        check_at_least("service.backlog", self.backlog, 1)
        check(
            (self.tls_cert is None) == (self.tls_key is None),
            "TLS needs both service.tls_cert and service.tls_key",
        )


@dataclass(frozen=True)
class CheckpointConfig:
    """Where and how often the learner's state is saved."""

    dir: str | None = setting(
        None,
        "write checkpoints here (periodically, on Ctrl-C/SIGTERM and at the end)",
        flag="checkpoint-dir",
    )
    every: float | None = setting(
        None, "seconds between periodic checkpoints", flag="checkpoint-every"
    )
    every_updates: int | None = setting(
        None, "learner updates between periodic checkpoints", flag="checkpoint-every-updates"
    )
    keep: int = setting(3, "how many of the newest checkpoints to keep", flag="checkpoint-keep")
    replay: bool = setting(
        False,
        "include the replay buffer in checkpoints (algorithms that learn from replay)",
        flag="checkpoint-replay",
    )

    def __post_init__(self) -> None:
        check_at_least("checkpoint.every", self.every, 0, strict=True)
        check_at_least("checkpoint.every_updates", self.every_updates, 0, strict=True)
        check_at_least("checkpoint.keep", self.keep, 1)
        check(
            self.dir is not None or (self.every is None and self.every_updates is None),
            "checkpoint.every needs checkpoint.dir",
        )


@dataclass(frozen=True)
class EvaluationConfig:
    """Periodic evaluation of the greedy policy on an env of its own."""

    every: int | None = setting(
        None,
        "every this many learner updates, evaluate the greedy policy on a separate env",
        flag="eval-every",
    )
    episodes: int = setting(5, "episodes per evaluation", flag="eval-episodes")

    def __post_init__(self) -> None:
        check_at_least("evaluation.every", self.every, 0, strict=True)
        check_at_least("evaluation.episodes", self.episodes, 1)


@dataclass(frozen=True)
class LoggingConfig:
    """What the run reports beyond its folder: the console's pace, a JSON summary, MLflow."""

    progress_interval: float = setting(
        2.0, "seconds between progress reports", flag="progress-interval"
    )
    json_summary: str | None = setting(
        None, "write the end-of-run summary as JSON here", flag="json-summary"
    )
    mlflow: str | None = setting(
        None,
        "also log params, metrics and the summary to MLflow at this tracking URI: a folder "
        "(./mlruns, no server), sqlite:///mlflow.db or http://host:5000 (needs distrl[mlflow])",
        flag="mlflow",
    )
    mlflow_experiment: str = setting(
        "distrl", "the MLflow experiment runs are logged under", flag="mlflow-experiment"
    )

    def __post_init__(self) -> None:
        check_at_least("logging.progress_interval", self.progress_interval, 0, strict=True)
        check(self.mlflow is None or bool(self.mlflow), "mlflow must not be empty (null: off)")
        check(bool(self.mlflow_experiment), "logging.mlflow_experiment must not be empty")


@dataclass(frozen=True)
class FaultsConfig:
    """How the run survives lost workers, a lost learner and envs that hang."""

    max_worker_failures: int = setting(
        10,
        "rollout worker deaths to recover from (recreate the worker) before stopping the run",
        flag="max-worker-failures",
    )
    worker_start_timeout: float = setting(
        60.0,
        "seconds a recreated rollout worker may take to start; past it (no room left in the "
        "cluster, e.g. after a node was lost) the run goes on without that worker",
        flag="worker-start-timeout",
    )
    learner_restarts: int = setting(
        0,
        "learner deaths to recover from by restarting it from the newest checkpoint "
        "(needs checkpoint.dir)",
        flag="learner-restarts",
    )
    env_step_timeout: float | None = setting(
        None,
        "seconds one vector-env step or reset may take; a slower one is an env error (the env "
        "is recreated and the partial fragment discarded)",
        flag="env-step-timeout",
    )
    straggler_delay: float = setting(
        0.0,
        "extra seconds per vector-env step in worker 0 only: a simulated slow machine "
        "(for tests and benchmarks of the async modes)",
        flag="straggler-delay",
    )

    def __post_init__(self) -> None:
        check_at_least("faults.max_worker_failures", self.max_worker_failures, 0)
        check_at_least("faults.worker_start_timeout", self.worker_start_timeout, 0, strict=True)
        check_at_least("faults.learner_restarts", self.learner_restarts, 0)
        check_at_least("faults.env_step_timeout", self.env_step_timeout, 0, strict=True)
        check_at_least("faults.straggler_delay", self.straggler_delay, 0)
