"""The run's config: its top-level keys (what to train, where and for how long), the sections by
owner (``model``, ``atari``, ``acting``, ``lag``, ...) and the algorithms' own sections.

Each section checks itself; :func:`_validate` adds the checks that span sections. An algorithm's
section (``a2c``, ``ddpg``, ...) lives beside the algorithm and reaches :class:`Config` through
the catalog the registry fills. Every problem is a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import distrl.config.catalog as catalog
from distrl.config.fields import ConfigError, check, check_at_least, check_choice, setting
from distrl.config.model import AtariConfig, ModelConfig
from distrl.config.schedule import Schedule
from distrl.config.sections import (
    ActingConfig,
    CheckpointConfig,
    EvaluationConfig,
    FaultsConfig,
    LagConfig,
    LoggingConfig,
    NonfiniteConfig,
    NormalizeConfig,
    ResourcesConfig,
    ServiceConfig,
)

__all__ = ["AlgorithmSections", "Config", "ConfigError", "RolloutSettings"]

MODES = ("sync", "async")
ASYNC_UNITS = ("trajectories", "gradients")
# The sections every run has, by key; an algorithm's own sections come from the catalog.
RUN_SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "atari": AtariConfig,
    "acting": ActingConfig,
    "lag": LagConfig,
    "nonfinite": NonfiniteConfig,
    "normalize": NormalizeConfig,
    "resources": ResourcesConfig,
    "service": ServiceConfig,
    "checkpoint": CheckpointConfig,
    "evaluation": EvaluationConfig,
    "logging": LoggingConfig,
    "faults": FaultsConfig,
}


@dataclass(frozen=True)
class AlgorithmSections:
    """What an algorithm's learner, acting policy and worker loss read: its own section, the
    model, how workers act, the lag policy (``correction`` resolved for this run's loop) and
    what to do about non-finite updates."""

    own: Any
    model: ModelConfig
    acting: ActingConfig
    lag: LagConfig
    nonfinite: NonfiniteConfig
    budget: int | None = None  # the run's max_steps: what schedules run over
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)


@dataclass(frozen=True)
class RolloutSettings:
    """What a rollout worker reads: its algorithm's sections (to build the acting policy), how
    to make its envs (imports, kwargs, wrappers, Atari preprocessing), its fragments' shape and
    its fault settings. Made in the driver by :meth:`Config.rollout_settings`."""

    sections: AlgorithmSections
    env_imports: tuple[str, ...]
    env_kwargs: Mapping[str, Any] | None
    env_wrappers: tuple[Any, ...]
    atari: AtariConfig
    envs_per_worker: int
    rollout_len: int  # env steps per env in one fragment
    env_step_timeout: float | None  # seconds
    straggler_delay: float  # seconds per vector-env step, worker 0 only
    workers: int = 1  # rollout workers in the run (an acting policy may explore by its place)
    mode: str = "sync"
    env_factory: Any = None  # the API's env class or callable, if the env is one


@dataclass(frozen=True)
class Config:
    algo: str = setting("a2c", "algorithm (python -m distrl.launch --help-keys lists them)")
    mode: str = setting(
        "sync",
        "training loop: sync (all workers, one version, one update) or async (update on "
        "whichever worker finishes first)",
    )
    overlap: bool = setting(
        False,
        "sync mode: workers sample the next round while the learner updates on this one "
        "(faster; one version of policy lag, corrected with V-trace unless lag.correction none)",
    )
    async_unit: str = setting(
        "trajectories",
        "what async workers send: trajectories (fragments) or gradients (computed on the "
        "worker's model copy; algorithms with gradient workers only)",
    )
    env: str = setting(
        "CartPole-v1",
        "gymnasium environment id, or package.module:EnvId (the module is imported first, in "
        "every process)",
    )
    env_imports: tuple[str, ...] = setting(
        (), "modules imported in every process before the env is made (they register its id)"
    )
    # The Python API's env=SomeEnvClass or env=lambda: ...: the factory itself (Ray pickles it
    # to the workers); ``env`` is then its name. Not a key of files or flags, not saved.
    env_factory: Any = field(default=None, metadata={"help": "the API's env class or callable"})
    env_kwargs: Mapping[str, Any] | None = setting(
        None, "keyword arguments for gymnasium.make, e.g. {size: 8}"
    )
    env_wrappers: tuple[Any, ...] = setting(
        (),
        "gymnasium wrappers applied in order to every copy, before distrl's own processing: "
        "package.module:Name or {name: package.module:Name, kwargs: {...}}",
    )
    workers: int = setting(16, "rollout workers (0: one worker and the learner in this process)")
    envs_per_worker: int = setting(4, "vectorised env copies per worker")
    rollout_len: int = setting(
        16, "env steps per env in one fragment (derived when samples_per_update is set)"
    )
    samples_per_update: int | None = setting(
        None,
        "on-policy algorithms: env steps in one update's batch (sync: all workers' fragments; "
        "async: one fragment); rollout_len is derived from it for the workers and envs at hand "
        "(null: rollout_len as set)",
    )
    seed: int = setting(0, "root seed; worker and env seeds are spawned from it")
    stop_reward: float | None = setting(
        None, "stop when the mean return of the last 20 episodes reaches this (default: env's)"
    )
    max_steps: int | None = setting(None, "stop after this many env steps")
    max_seconds: float | None = setting(None, "stop after this many seconds of training")
    logdir: str = setting("runs", "the folder that holds one folder per run")
    run_name: str | None = setting(
        None, "this run's folder under logdir (default: <algo>-<env>-<start time>)"
    )
    resume: str | None = setting(
        None,
        "continue from this checkpoint (or the newest in this directory); alone (without "
        "--preset or --config) with the checkpoint's own config, flags overriding it",
    )
    model: ModelConfig = field(
        default_factory=ModelConfig, metadata={"help": "the network the algorithm builds"}
    )
    atari: AtariConfig = field(
        default_factory=AtariConfig, metadata={"help": "Atari envs' preprocessing"}
    )
    acting: ActingConfig = field(
        default_factory=ActingConfig, metadata={"help": "how workers run the policy"}
    )
    lag: LagConfig = field(
        default_factory=LagConfig, metadata={"help": "policy lag: bound and correction"}
    )
    nonfinite: NonfiniteConfig = field(
        default_factory=NonfiniteConfig, metadata={"help": "updates with NaN or Inf"}
    )
    normalize: NormalizeConfig = field(
        default_factory=NormalizeConfig, metadata={"help": "observation and reward normalization"}
    )
    resources: ResourcesConfig = field(
        default_factory=ResourcesConfig, metadata={"help": "Ray cluster, CPUs, GPUs, threads"}
    )
    service: ServiceConfig = field(
        default_factory=ServiceConfig, metadata={"help": "the gRPC service beside training"}
    )
    checkpoint: CheckpointConfig = field(
        default_factory=CheckpointConfig, metadata={"help": "checkpoints"}
    )
    evaluation: EvaluationConfig = field(
        default_factory=EvaluationConfig, metadata={"help": "periodic greedy evaluation"}
    )
    logging: LoggingConfig = field(
        default_factory=LoggingConfig, metadata={"help": "console pace, JSON summary, MLflow"}
    )
    faults: FaultsConfig = field(
        default_factory=FaultsConfig, metadata={"help": "lost workers and learners, hanging envs"}
    )
    # The registered algorithms' sections (``a2c``, ``ddpg``, ...), read as attributes:
    # ``config.a2c.lr``. Which exist is the catalog's business, not this module's.
    sections: Mapping[str, Any] = field(
        default_factory=lambda: {name: cls() for name, cls in catalog.sections().items()},
        metadata={"help": "algorithm sections"},
    )

    def __post_init__(self) -> None:
        if self.samples_per_update is not None and self.envs_per_worker >= 1:
            check_at_least("samples_per_update", self.samples_per_update, 1)
            object.__setattr__(self, "rollout_len", _derived_rollout_len(self))
        _validate(self)

    @property
    def fragments_per_update(self) -> int:
        """Fragments in one update: one per worker in sync mode, one in async mode."""
        return max(self.workers, 1) if self.mode == "sync" else 1

    @property
    def batch_size(self) -> int:
        """Env steps in one update's batch, as the loop runs it."""
        return self.fragments_per_update * self.envs_per_worker * self.rollout_len

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not fields: an algorithm's section.
        sections = object.__getattribute__(self, "__dict__").get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(f"Config has no field or section {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain values, sections as nested mappings (``{"a2c": {"lr": ...}}``)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "env_factory":
                continue  # code, not configuration
            if f.name == "sections":
                out.update({name: dataclasses.asdict(s) for name, s in value.items()})
            else:
                out[f.name] = dataclasses.asdict(value) if f.name in RUN_SECTIONS else value
        return _plain(out)

    def sampling(self) -> str:
        """How one update's batch is made, for the console's header."""
        if self.workers == 0:
            source = "the in-process worker's"
        elif self.mode == "async" or self.workers == 1:
            source = "one worker's"
        else:
            source = f"{self.workers} workers'"
        return (f"{source} {self.envs_per_worker} envs x {self.rollout_len} steps = "
                f"{self.batch_size} samples per update")  # fmt: skip

    @property
    def uses_vtrace(self) -> bool:
        """The resolved ``lag.correction``: V-trace on every trajectory update."""
        if self.lag.correction == "auto":
            lagged = self.mode == "async" or self.overlap
            return lagged and self.async_unit == "trajectories"
        return self.lag.correction == "vtrace"

    def algorithm_sections(self) -> AlgorithmSections:
        """The sections this run's algorithm reads (its learner, policy and worker loss). Made
        in the driver, where the algorithm is registered; they travel to Ray's processes as
        plain data."""
        entry = catalog.get(self.algo)
        own = self.sections[entry.section_name] if entry.section_name else None
        if own is not None and hasattr(
            own, "for_budget"
        ):  # keys that default to a share of the step budget
            own = own.for_budget(self.max_steps)
        lag = dataclasses.replace(self.lag, correction="vtrace" if self.uses_vtrace else "none")
        return AlgorithmSections(own, self.model, self.acting, lag, self.nonfinite,
                                 budget=self.max_steps, normalize=self.normalize)  # fmt: skip

    def rollout_settings(self) -> RolloutSettings:
        """What this run's rollout workers read."""
        return RolloutSettings(
            sections=self.algorithm_sections(),
            env_imports=self.env_imports,
            env_factory=self.env_factory,
            env_kwargs=self.env_kwargs,
            env_wrappers=self.env_wrappers,
            atari=self.atari,
            envs_per_worker=self.envs_per_worker,
            rollout_len=self.rollout_len,
            env_step_timeout=self.faults.env_step_timeout,
            straggler_delay=self.faults.straggler_delay,
            workers=max(self.workers, 1),
            mode=self.mode,
        )

    def section_dicts(self) -> dict[str, Any]:
        """:meth:`to_dict` without the sections of algorithms this run does not use."""
        unused = set(catalog.sections()) - {catalog.get(self.algo).section_name}
        return {k: v for k, v in self.to_dict().items() if k not in unused}


def _derived_rollout_len(c: Config) -> int:
    """The fragment length that gives ``samples_per_update`` (rounded up) for this run's workers
    and envs; a combination whose smallest batch is over twice it is a ConfigError."""
    assert c.samples_per_update is not None
    per_step = c.fragments_per_update * c.envs_per_worker
    check(
        per_step <= 2 * c.samples_per_update,
        f"samples_per_update {c.samples_per_update} cannot be reached within 2x: "
        f"{c.fragments_per_update} fragment(s) x {c.envs_per_worker} envs_per_worker is "
        f"{per_step} samples per env step; lower workers or envs_per_worker, or raise it",
    )
    return -(-c.samples_per_update // per_step)


def _validate(c: Config) -> None:
    algorithm = catalog.get(c.algo)  # an unknown name is a ConfigError listing the known ones
    for name, cls in catalog.sections().items():
        check(isinstance(c.sections.get(name), cls), f"config section {name!r} is missing")
    _validate_run(c)
    _validate_loop(c, algorithm)
    _validate_lag(c, algorithm)
    _validate_services(c)
    _validate_schedules(c, algorithm)
    check(
        not c.normalize.any or algorithm.normalizes,
        f"normalize.observations/rewards: algo {c.algo} does not normalize (algos that do: "
        "a2c, ppo, pg)",
    )
    check(
        not c.normalize.any or c.async_unit == "trajectories",
        "normalize needs trajectories: with async_unit gradients the learner sees no "
        "observations or rewards",
    )
    _validate_recurrent(c, algorithm)
    _validate_learners(c, algorithm)


def _validate_learners(c: Config, algorithm: catalog.AlgorithmTraits) -> None:
    """Several data-parallel learners: what the group supports (``distrl.agents.data_parallel``)."""
    if c.resources.learners == 1:
        return
    n = f"resources.learners {c.resources.learners}"
    check(
        algorithm.data_parallel, f"{n}: algo {c.algo} has one learner (algos with more: a2c, ppo)"
    )
    check(
        c.async_unit == "trajectories",
        f"{n} needs async_unit trajectories (a worker's gradients go to one learner)",
    )
    check(c.workers >= 1, f"{n} needs Ray rollout workers (workers >= 1)")
    check(c.service.listen is None, f"{n}: the gRPC service needs one learner")
    check(
        not c.normalize.any, f"{n}: normalize needs one learner (its statistics are the learner's)"
    )
    check(not c.model.recurrent, f"{n}: model.lstm_size needs one learner")


def _validate_recurrent(c: Config, algorithm: catalog.AlgorithmTraits) -> None:
    """An LSTM policy: an algorithm that unrolls it, fragments it can be unrolled on."""
    if not c.model.recurrent:
        return
    check(
        algorithm.recurrent,
        f"model.lstm_size: algo {c.algo} has no recurrent policies (algos that do: a2c, ppo)",
    )
    check(
        c.async_unit == "trajectories",
        "model.lstm_size needs async_unit trajectories (the learner unrolls the fragments)",
    )
    check(
        c.model.lstm_burn_in < c.rollout_len,
        f"model.lstm_burn_in {c.model.lstm_burn_in} must be below rollout_len {c.rollout_len}",
    )


def _validate_schedules(c: Config, algorithm: catalog.AlgorithmTraits) -> None:
    """A schedule runs over the step budget: the run needs one."""
    own = c.sections.get(algorithm.section_name) if algorithm.section_name else None
    if own is None or c.max_steps is not None:
        return
    for f in dataclasses.fields(own):
        check(
            not isinstance(getattr(own, f.name), Schedule),
            f"{algorithm.section_name}.{f.name} is a schedule over max_steps: set max_steps",
        )


def _validate_run(c: Config) -> None:
    check(bool(c.env), "env must not be empty")
    check_at_least("workers", c.workers, 0)
    check_at_least("envs_per_worker", c.envs_per_worker, 1)
    check_at_least("rollout_len", c.rollout_len, 1)
    check_at_least("seed", c.seed, 0)
    check_at_least("max_steps", c.max_steps, 0, strict=True)
    check_at_least("max_seconds", c.max_seconds, 0, strict=True)
    check(
        c.acting.backend != "numpy" or c.model.numpy_friendly,
        "acting.backend numpy needs a built-in MLP model with a NumPy activation and no LSTM; use "
        "acting auto or tensorflow",
    )


def _validate_loop(c: Config, algorithm: catalog.AlgorithmTraits) -> None:
    check_choice("mode", c.mode, MODES)
    check_choice("async_unit", c.async_unit, ASYNC_UNITS)
    check(
        c.async_unit == "trajectories" or c.mode == "async",
        "async_unit gradients needs mode async",
    )
    check(
        algorithm.make_worker_loss is not None or c.async_unit == "trajectories",
        f"async_unit gradients needs gradient workers; algo {c.algo} sends trajectories",
    )
    check(
        c.samples_per_update is None or not algorithm.replay,
        f"samples_per_update sizes on-policy batches; algo {c.algo} learns from replay (its "
        "replay_ratio sets the gradient steps per env step)",
    )
    check(
        not c.overlap or c.mode == "sync",
        "overlap applies to mode sync (async workers never wait for the learner)",
    )
    section = algorithm.section_name
    shards = getattr(c.sections.get(section or ""), "replay_shards", 0)
    check(
        not shards or c.workers > 0,
        f"{section}.replay_shards {shards} needs Ray rollout workers (workers >= 1); with "
        "workers 0 the replay lives in the learner",
    )
    check(
        not c.overlap or algorithm.corrects_lag or algorithm.replay,
        f"overlap adds a version of policy lag; algo {c.algo} neither corrects it nor learns "
        "from replay",
    )


def _validate_lag(c: Config, algorithm: catalog.AlgorithmTraits) -> None:
    lag = c.lag
    check(
        c.async_unit == "trajectories" or lag.correction != "vtrace",
        "lag.correction vtrace applies to trajectories; async_unit gradients cannot use it",
    )
    check(
        algorithm.corrects_lag or lag.max_policy_lag is None,
        f"lag.max_policy_lag bounds on-policy data; algo {c.algo} learns from replay",
    )
    check(
        c.async_unit == "trajectories" or lag.stale_data == "discard",
        "lag.stale_data correct needs trajectories; stale gradients can only be discarded",
    )


def _validate_services(c: Config) -> None:
    check(
        c.service.listen is None or c.async_unit == "trajectories",
        "serve takes experience as trajectories; async_unit gradients cannot use it",
    )
    check(
        c.faults.learner_restarts == 0 or c.checkpoint.dir is not None,
        "faults.learner_restarts restarts the learner from a checkpoint: it needs checkpoint.dir",
    )


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively, so the dict dumps as ordinary YAML/JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
