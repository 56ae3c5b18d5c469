"""Run configuration: frozen dataclasses, presets, overrides and validation.

Precedence, lowest first: dataclass defaults < ``--preset`` < ``--config FILE`` < command-line
flags and ``--set KEY=VALUE``. Every field carries a ``help`` string; the launch command turns
those into ``--help`` and the README lists them.

All problems are raised as :class:`ConfigError` with a one-line message naming the key, so the
launcher can print it and exit with status 2 before Ray starts.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

ALGOS = ("a2c", "ddpg", "pg")
MODES = ("sync", "async")
ASYNC_UNITS = ("trajectories", "gradients")
CORRECTIONS = ("auto", "vtrace", "none")
STALE_DATA = ("discard", "correct")
ADVANTAGE_ESTIMATORS = ("gae", "nstep")
VALUE_LOSSES = ("mse", "huber")
OPTIMIZERS = ("adam", "rmsprop")
ACTING = ("auto", "numpy", "tensorflow")
# Activations the workers' NumPy forward pass implements (see distrl/models/numpy_forward.py).
NUMPY_ACTIVATIONS = ("tanh", "relu", "linear", "sigmoid", "elu")
MODEL_NAMES = (
    "mlp",
    "shared_mlp",
    "seed000_actor_critic",
    "seed004_actor_critic",
    "nature_cnn",
    "seed002_cnn",
)
CNN_MODELS = ("nature_cnn", "seed002_cnn")
PREPROCESS = ("standard", "karpathy")
VECTORIZERS = ("auto", "ale", "gymnasium")
PG_NORMALIZE = ("standardize", "std", "none")
DDPG_NETWORKS = ("seed003", "seed001", "mlp")
NOISES = ("ou", "gaussian")
NONFINITE_ACTIONS = ("lower_lr", "stop")


class ConfigError(ValueError):
    """A configuration problem, phrased as one line that names the offending key."""


def _f(default: Any, help: str) -> Any:
    """A dataclass field with a help text (shown by ``--help`` and in the README)."""
    if isinstance(default, list | dict):
        raise TypeError("use tuples for defaults: configs are frozen")
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ModelConfig:
    name: str = _f(
        "mlp",
        "model builder: mlp, shared_mlp, seed000_actor_critic, seed004_actor_critic, "
        "nature_cnn (Atari: 3 conv + 512 dense), seed002_cnn (2 conv, on frame differences), "
        "or package.module:function",
    )
    hidden: tuple[int, ...] = _f((64, 64), "hidden layer sizes of the policy (mlp, shared_mlp)")
    value_hidden: tuple[int, ...] | None = _f(
        None, "hidden sizes of the value network for mlp (default: same as hidden)"
    )
    activation: str = _f("tanh", "hidden activation (any Keras activation name)")


@dataclass(frozen=True)
class A2CConfig:
    gamma: float = _f(0.99, "discount factor")
    advantage: str = _f("gae", "advantage estimator: gae or nstep (bootstrapped at fragment end)")
    gae_lambda: float = _f(0.95, "GAE lambda (1.0 gives n-step returns)")
    value_loss: str = _f("mse", "value loss: mse or huber")
    value_coef: float = _f(0.5, "weight of the value loss")
    entropy_coef: float = _f(0.0, "weight of the entropy bonus")
    optimizer: str = _f("adam", "adam or rmsprop")
    lr: float = _f(3e-3, "learning rate")
    optimizer_eps: float = _f(1e-5, "epsilon of the optimizer")
    rmsprop_rho: float = _f(0.99, "RMSprop decay")
    max_grad_norm: float | None = _f(0.5, "global-norm gradient clip (null disables)")
    normalize_advantages: bool = _f(True, "standardise advantages per update batch")
    vtrace_rho_bar: float = _f(1.0, "V-trace: clip of the importance weights rho (rho-bar)")
    vtrace_c_bar: float = _f(1.0, "V-trace: clip of the trace coefficients c (c-bar)")


@dataclass(frozen=True)
class PGConfig:
    gamma: float = _f(0.99, "discount factor of the Monte Carlo returns")
    lr: float = _f(1e-3, "learning rate (Adam)")
    episodes_per_update: int = _f(1, "complete episodes per gradient step")
    normalize: str = _f(
        "standardize",
        "returns per update: standardize (minus mean, over std), std (over the std of the "
        "centred returns only, as seed 002), or none",
    )
    baseline: bool = _f(False, "subtract the value head's V(s) from the return (and train it)")
    value_coef: float = _f(0.5, "weight of the value loss (baseline)")
    entropy_coef: float = _f(0.0, "weight of the entropy bonus")
    reset_at_reward: bool = _f(
        False, "restart the discounted sum at every non-zero reward (Pong's points, seed 002)"
    )
    max_grad_norm: float | None = _f(None, "global-norm gradient clip (null disables)")
    chunk: int = _f(4096, "steps per forward/backward pass; gradients are summed over chunks")


@dataclass(frozen=True)
class AtariConfig:
    preprocess: str = _f(
        "standard",
        "standard (frame skip 4 with max-pool, no-op reset, 84x84 gray, frame stack) or "
        "karpathy (seed 002: crop, downsample, binarise; the model takes frame differences)",
    )
    frame_skip: int = _f(4, "emulator frames per agent step (standard)")
    frame_stack: int = _f(4, "frames stacked per observation (standard)")
    noop_max: int = _f(30, "most random no-op actions at reset (standard)")
    episodic_life: bool = _f(True, "training only: a lost life ends the episode (standard)")
    clip_rewards: bool = _f(True, "training only: rewards clipped to their sign (standard)")
    sticky_actions: float | None = _f(
        None, "probability of repeating the last action (null: the env id's default)"
    )
    vectorizer: str = _f(
        "auto",
        "how workers step their envs: ale (ale-py's C++ vector env; standard preprocessing "
        "only), gymnasium (Python wrappers), or auto (ale for standard, else gymnasium)",
    )


@dataclass(frozen=True)
class DDPGConfig:
    network: str = _f(
        "seed003",
        "actor and critic: seed003 (actor 256-256, critic state 16-32 + action 32, then 256-256), "
        "seed001 (actor 3x320, critic 3x640 over state and action), or mlp (the sizes below)",
    )
    actor_hidden: tuple[int, ...] = _f((256, 256), "actor hidden sizes (network: mlp)")
    critic_hidden: tuple[int, ...] = _f((256, 256), "critic hidden sizes (network: mlp)")
    gamma: float = _f(0.99, "discount factor")
    tau: float = _f(0.005, "soft target update rate: target <- tau * online + (1 - tau) * target")
    actor_lr: float = _f(1e-3, "actor learning rate (Adam)")
    critic_lr: float = _f(2e-3, "critic learning rate (Adam)")
    buffer_size: int = _f(50_000, "replay capacity in transitions")
    batch_size: int = _f(64, "transitions per gradient step")
    learning_starts: int = _f(
        1_000, "env steps stored before training starts; workers act uniformly at random until then"
    )
    replay_ratio: float = _f(1.0, "gradient steps per env step once training has started")
    noise: str = _f("ou", "exploration noise: ou (Ornstein-Uhlenbeck) or gaussian")
    noise_sigma: float = _f(0.2, "noise scale, as a fraction of the action range's half-width")
    ou_theta: float = _f(0.15, "OU mean reversion rate")
    ou_mu: float = _f(0.0, "OU long-run mean (fraction of the half-width)")
    ou_dt: float = _f(1e-2, "OU time step")
    xla: bool = _f(True, "XLA-compile the learner's train step (about 2x faster on CPU)")


@dataclass(frozen=True)
class Config:
    algo: str = _f(
        "a2c",
        "algorithm: a2c (discrete actions; A3C with mode async), pg (REINFORCE, discrete) or "
        "ddpg (continuous actions)",
    )
    mode: str = _f(
        "sync",
        "training loop: sync (all workers, one version, one update) or async (A3C-style: "
        "update on whichever worker finishes first)",
    )
    async_unit: str = _f(
        "trajectories",
        "what async workers send: trajectories (fragments) or gradients (computed on the "
        "worker's model copy, as in the A3C paper)",
    )
    correction: str = _f(
        "auto",
        "off-policy correction of trajectories: vtrace, none, or auto (vtrace for async "
        "trajectories, else none)",
    )
    max_policy_lag: int | None = _f(
        None, "most weights versions a fragment or gradient may lag the learner (null: no bound)"
    )
    stale_data: str = _f(
        "discard",
        "data beyond max_policy_lag: discard it, or correct it with V-trace (trajectories only); "
        "counted either way",
    )
    env: str = _f("CartPole-v1", "gymnasium environment id")
    workers: int = _f(16, "rollout workers (0: one worker and the learner in this process)")
    envs_per_worker: int = _f(4, "vectorised env copies per worker")
    rollout_len: int = _f(16, "env steps per env in one fragment")
    seed: int = _f(0, "root seed; worker and env seeds are spawned from it")
    stop_reward: float | None = _f(
        None, "stop when the mean return of the last 20 episodes reaches this (default: env's)"
    )
    max_steps: int | None = _f(None, "stop after this many env steps")
    max_seconds: float | None = _f(None, "stop after this many seconds of training")
    logdir: str = _f("runs", "directory for the run's config and progress log")
    json_summary: str | None = _f(None, "write the end-of-run summary as JSON here")
    eval_every: int | None = _f(
        None, "every this many learner updates, evaluate the greedy policy on a separate env"
    )
    eval_episodes: int = _f(5, "episodes per evaluation (eval_every)")
    checkpoint_dir: str | None = _f(
        None, "write checkpoints here (periodically, on Ctrl-C/SIGTERM and at the end)"
    )
    checkpoint_every: float | None = _f(None, "seconds between periodic checkpoints")
    checkpoint_every_updates: int | None = _f(None, "learner updates between periodic checkpoints")
    checkpoint_keep: int = _f(3, "how many of the newest checkpoints to keep")
    checkpoint_replay: bool = _f(False, "include the replay buffer in checkpoints (DDPG)")
    resume: str | None = _f(None, "continue from this checkpoint (or the newest in this directory)")
    serve: str | None = _f(
        None,
        "HOST:PORT: run the gRPC service beside training (external actors, acting, weights, "
        "status); a non-loopback host needs --token. With workers 0 the learner then learns "
        "only from what external actors push",
    )
    tls_cert: str | None = _f(None, "PEM certificate for the service (TLS; with tls_key)")
    tls_key: str | None = _f(None, "PEM private key for the service (TLS; with tls_cert)")
    serve_backlog: int = _f(
        100_000,
        "env steps of pushed experience that may wait for the learner; beyond, pushes are "
        "refused with RESOURCE_EXHAUSTED",
    )
    address: str | None = _f(None, "Ray cluster to join (auto or HOST:PORT); none: local Ray")
    learner_gpus: float | None = _f(
        None, "GPUs for the learner (default: 1 if the cluster has one)"
    )
    worker_cpus: float = _f(1.0, "CPUs reserved per rollout worker")
    learner_cpus: float = _f(1.0, "CPUs reserved for the learner")
    acting: str = _f(
        "auto",
        "how workers run the policy: numpy (built-in MLPs, no TensorFlow in workers), "
        "tensorflow (the Keras model), or auto (numpy where possible)",
    )
    jit_acting: bool = _f(True, "XLA-compile the workers' Keras forward pass (acting: tensorflow)")
    max_worker_failures: int = _f(
        10, "rollout worker deaths to recover from (recreate the worker) before stopping the run"
    )
    worker_start_timeout: float = _f(
        60.0,
        "seconds a recreated rollout worker may take to start; past it (no room left in the "
        "cluster, e.g. after a node was lost) the run goes on without that worker",
    )
    learner_restarts: int = _f(
        0,
        "learner deaths to recover from by restarting it from the newest checkpoint "
        "(needs checkpoint_dir)",
    )
    env_step_timeout: float | None = _f(
        None,
        "seconds one vector-env step or reset may take; a slower one is an env error (the env "
        "is recreated and the partial fragment discarded)",
    )
    nonfinite_limit: int = _f(
        10,
        "consecutive updates skipped for NaN/Inf before the learner rolls back to its last "
        "snapshot of good weights (see nonfinite_action)",
    )
    nonfinite_action: str = _f(
        "lower_lr", "after the rollback: lower_lr (halve the learning rates) or stop the run"
    )
    progress_interval: float = _f(2.0, "seconds between progress reports")
    straggler_delay: float = _f(
        0.0,
        "extra seconds per vector-env step in worker 0 only: a simulated slow machine "
        "(for tests and benchmarks of the async modes)",
    )
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "model"})
    a2c: A2CConfig = field(default_factory=A2CConfig, metadata={"help": "A2C hyperparameters"})
    ddpg: DDPGConfig = field(default_factory=DDPGConfig, metadata={"help": "DDPG hyperparameters"})
    pg: PGConfig = field(default_factory=PGConfig, metadata={"help": "REINFORCE hyperparameters"})
    atari: AtariConfig = field(default_factory=AtariConfig, metadata={"help": "Atari envs"})

    def __post_init__(self) -> None:
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    @property
    def uses_vtrace(self) -> bool:
        """The resolved ``correction``: V-trace on every trajectory update."""
        if self.correction == "auto":
            return self.mode == "async" and self.async_unit == "trajectories"
        return self.correction == "vtrace"


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "a2c": A2CConfig,
    "ddpg": DDPGConfig,
    "pg": PGConfig,
    "atari": AtariConfig,
}


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively, so the dict dumps as ordinary YAML/JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _validate(c: Config) -> None:
    _check(c.algo in ALGOS, f"algo must be one of {', '.join(ALGOS)}; got {c.algo!r}")
    _check(c.mode in MODES, f"mode must be one of {', '.join(MODES)}; got {c.mode!r}")
    _check(
        c.async_unit in ASYNC_UNITS,
        f"async_unit must be one of {', '.join(ASYNC_UNITS)}; got {c.async_unit!r}",
    )
    _check(
        c.async_unit == "trajectories" or c.mode == "async",
        "async_unit gradients needs mode async",
    )
    _check(
        c.algo == "a2c" or c.async_unit == "trajectories",
        f"async_unit gradients is A3C's; algo {c.algo} sends trajectories",
    )
    _check(
        c.correction in CORRECTIONS,
        f"correction must be one of {', '.join(CORRECTIONS)}; got {c.correction!r}",
    )
    _check(
        c.async_unit == "trajectories" or c.correction != "vtrace",
        "correction vtrace applies to trajectories; async_unit gradients cannot use it",
    )
    _check(
        c.max_policy_lag is None or c.max_policy_lag >= 0,
        f"max_policy_lag must be >= 0 or null; got {c.max_policy_lag}",
    )
    _check(
        c.algo == "a2c" or c.max_policy_lag is None,
        f"max_policy_lag bounds A2C/A3C's on-policy data; algo {c.algo} learns from replay",
    )
    _check(
        c.stale_data in STALE_DATA,
        f"stale_data must be one of {', '.join(STALE_DATA)}; got {c.stale_data!r}",
    )
    _check(
        c.async_unit == "trajectories" or c.stale_data == "discard",
        "stale_data correct needs trajectories; stale gradients can only be discarded",
    )
    _check(bool(c.env), "env must not be empty")
    _check(c.workers >= 0, f"workers must be >= 0; got {c.workers}")
    _check(c.envs_per_worker >= 1, f"envs_per_worker must be >= 1; got {c.envs_per_worker}")
    _check(c.rollout_len >= 1, f"rollout_len must be >= 1; got {c.rollout_len}")
    _check(c.seed >= 0, f"seed must be >= 0; got {c.seed}")
    _check(c.max_steps is None or c.max_steps > 0, f"max_steps must be > 0; got {c.max_steps}")
    _check(
        c.max_seconds is None or c.max_seconds > 0, f"max_seconds must be > 0; got {c.max_seconds}"
    )
    _check(
        c.learner_gpus is None or c.learner_gpus >= 0,
        f"learner_gpus must be >= 0; got {c.learner_gpus}",
    )
    _check(
        c.checkpoint_every is None or c.checkpoint_every > 0,
        f"checkpoint_every must be > 0 seconds; got {c.checkpoint_every}",
    )
    _check(
        c.checkpoint_every_updates is None or c.checkpoint_every_updates > 0,
        f"checkpoint_every_updates must be > 0; got {c.checkpoint_every_updates}",
    )
    _check(c.eval_every is None or c.eval_every > 0, f"eval_every must be > 0; got {c.eval_every}")
    _check(c.eval_episodes >= 1, f"eval_episodes must be >= 1; got {c.eval_episodes}")
    _check(c.checkpoint_keep >= 1, f"checkpoint_keep must be >= 1; got {c.checkpoint_keep}")
    _check(
        c.checkpoint_dir is not None
        or (c.checkpoint_every is None and c.checkpoint_every_updates is None),
        "checkpoint_every needs checkpoint_dir",
    )
    _check(
        c.max_worker_failures >= 0,
        f"max_worker_failures must be >= 0; got {c.max_worker_failures}",
    )
    _check(
        c.worker_start_timeout > 0,
        f"worker_start_timeout must be > 0; got {c.worker_start_timeout}",
    )
    _check(c.serve_backlog >= 1, f"serve_backlog must be >= 1; got {c.serve_backlog}")
    _check((c.tls_cert is None) == (c.tls_key is None), "TLS needs both tls_cert and tls_key")
    _check(
        c.serve is None or c.async_unit == "trajectories",
        "serve takes experience as trajectories; async_unit gradients cannot use it",
    )
    _check(c.learner_restarts >= 0, f"learner_restarts must be >= 0; got {c.learner_restarts}")
    _check(
        c.learner_restarts == 0 or c.checkpoint_dir is not None,
        "learner_restarts restarts the learner from a checkpoint: it needs checkpoint_dir",
    )
    _check(
        c.env_step_timeout is None or c.env_step_timeout > 0,
        f"env_step_timeout must be > 0 seconds; got {c.env_step_timeout}",
    )
    _check(c.nonfinite_limit >= 1, f"nonfinite_limit must be >= 1; got {c.nonfinite_limit}")
    _check(
        c.nonfinite_action in NONFINITE_ACTIONS,
        f"nonfinite_action must be one of {', '.join(NONFINITE_ACTIONS)}; "
        f"got {c.nonfinite_action!r}",
    )
    _check(c.worker_cpus > 0, f"worker_cpus must be > 0; got {c.worker_cpus}")
    _check(c.learner_cpus > 0, f"learner_cpus must be > 0; got {c.learner_cpus}")
    _check(c.progress_interval > 0, f"progress_interval must be > 0; got {c.progress_interval}")
    _check(c.straggler_delay >= 0, f"straggler_delay must be >= 0; got {c.straggler_delay}")
    _check(c.acting in ACTING, f"acting must be one of {', '.join(ACTING)}; got {c.acting!r}")
    m = c.model
    _check(
        c.acting != "numpy"
        or (":" not in m.name and m.name not in CNN_MODELS and m.activation in NUMPY_ACTIVATIONS),
        "acting numpy needs a built-in model with activation "
        f"{', '.join(NUMPY_ACTIVATIONS)}; use acting auto or tensorflow",
    )
    _check(
        m.name in MODEL_NAMES or ":" in m.name,
        f"model.name must be one of {', '.join(MODEL_NAMES)} or package.module:function; "
        f"got {m.name!r}",
    )
    _check(
        len(m.hidden) > 0 and all(h > 0 for h in m.hidden),
        f"model.hidden must be positive layer sizes; got {list(m.hidden)}",
    )
    _check(
        m.value_hidden is None or all(h > 0 for h in m.value_hidden),
        f"model.value_hidden must be positive layer sizes; got {m.value_hidden}",
    )
    a = c.a2c
    _check(0.0 <= a.gamma <= 1.0, f"a2c.gamma must be in [0, 1]; got {a.gamma}")
    _check(0.0 <= a.gae_lambda <= 1.0, f"a2c.gae_lambda must be in [0, 1]; got {a.gae_lambda}")
    _check(
        a.advantage in ADVANTAGE_ESTIMATORS,
        f"a2c.advantage must be one of {', '.join(ADVANTAGE_ESTIMATORS)}; got {a.advantage!r}",
    )
    _check(
        a.value_loss in VALUE_LOSSES,
        f"a2c.value_loss must be one of {', '.join(VALUE_LOSSES)}; got {a.value_loss!r}",
    )
    _check(
        a.optimizer in OPTIMIZERS,
        f"a2c.optimizer must be one of {', '.join(OPTIMIZERS)}; got {a.optimizer!r}",
    )
    _check(a.lr > 0, f"a2c.lr must be > 0; got {a.lr}")
    _check(a.optimizer_eps > 0, f"a2c.optimizer_eps must be > 0; got {a.optimizer_eps}")
    _check(0.0 < a.rmsprop_rho < 1.0, f"a2c.rmsprop_rho must be in (0, 1); got {a.rmsprop_rho}")
    _check(a.value_coef >= 0, f"a2c.value_coef must be >= 0; got {a.value_coef}")
    _check(a.entropy_coef >= 0, f"a2c.entropy_coef must be >= 0; got {a.entropy_coef}")
    _check(a.vtrace_rho_bar > 0, f"a2c.vtrace_rho_bar must be > 0; got {a.vtrace_rho_bar}")
    _check(a.vtrace_c_bar > 0, f"a2c.vtrace_c_bar must be > 0; got {a.vtrace_c_bar}")
    _check(
        a.max_grad_norm is None or a.max_grad_norm > 0,
        f"a2c.max_grad_norm must be > 0 or null; got {a.max_grad_norm}",
    )
    _validate_ddpg(c.ddpg)
    _validate_pg(c.pg)
    _validate_atari(c.atari)


def _validate_pg(p: PGConfig) -> None:
    _check(0.0 <= p.gamma <= 1.0, f"pg.gamma must be in [0, 1]; got {p.gamma}")
    _check(p.lr > 0, f"pg.lr must be > 0; got {p.lr}")
    _check(
        p.episodes_per_update >= 1,
        f"pg.episodes_per_update must be >= 1; got {p.episodes_per_update}",
    )
    _check(
        p.normalize in PG_NORMALIZE,
        f"pg.normalize must be one of {', '.join(PG_NORMALIZE)}; got {p.normalize!r}",
    )
    _check(p.value_coef >= 0, f"pg.value_coef must be >= 0; got {p.value_coef}")
    _check(p.entropy_coef >= 0, f"pg.entropy_coef must be >= 0; got {p.entropy_coef}")
    _check(p.chunk >= 1, f"pg.chunk must be >= 1; got {p.chunk}")
    _check(
        p.max_grad_norm is None or p.max_grad_norm > 0,
        f"pg.max_grad_norm must be > 0 or null; got {p.max_grad_norm}",
    )


def _validate_atari(t: AtariConfig) -> None:
    _check(
        t.preprocess in PREPROCESS,
        f"atari.preprocess must be one of {', '.join(PREPROCESS)}; got {t.preprocess!r}",
    )
    _check(t.frame_skip >= 1, f"atari.frame_skip must be >= 1; got {t.frame_skip}")
    _check(t.frame_stack >= 1, f"atari.frame_stack must be >= 1; got {t.frame_stack}")
    _check(t.noop_max >= 0, f"atari.noop_max must be >= 0; got {t.noop_max}")
    _check(
        t.sticky_actions is None or 0.0 <= t.sticky_actions < 1.0,
        f"atari.sticky_actions must be in [0, 1) or null; got {t.sticky_actions}",
    )
    _check(
        t.vectorizer in VECTORIZERS,
        f"atari.vectorizer must be one of {', '.join(VECTORIZERS)}; got {t.vectorizer!r}",
    )
    _check(
        t.vectorizer != "ale" or t.preprocess == "standard",
        f"atari.vectorizer ale needs atari.preprocess standard; got {t.preprocess!r}",
    )


def _validate_ddpg(d: DDPGConfig) -> None:
    _check(
        d.network in DDPG_NETWORKS,
        f"ddpg.network must be one of {', '.join(DDPG_NETWORKS)}; got {d.network!r}",
    )
    for key, sizes in (("actor_hidden", d.actor_hidden), ("critic_hidden", d.critic_hidden)):
        _check(
            len(sizes) > 0 and all(h > 0 for h in sizes),
            f"ddpg.{key} must be positive layer sizes; got {list(sizes)}",
        )
    _check(0.0 <= d.gamma <= 1.0, f"ddpg.gamma must be in [0, 1]; got {d.gamma}")
    _check(0.0 < d.tau <= 1.0, f"ddpg.tau must be in (0, 1]; got {d.tau}")
    _check(d.actor_lr > 0, f"ddpg.actor_lr must be > 0; got {d.actor_lr}")
    _check(d.critic_lr > 0, f"ddpg.critic_lr must be > 0; got {d.critic_lr}")
    _check(d.batch_size >= 1, f"ddpg.batch_size must be >= 1; got {d.batch_size}")
    _check(
        d.buffer_size >= d.batch_size,
        f"ddpg.buffer_size must be >= ddpg.batch_size; got {d.buffer_size}",
    )
    _check(d.learning_starts >= 0, f"ddpg.learning_starts must be >= 0; got {d.learning_starts}")
    _check(d.replay_ratio > 0, f"ddpg.replay_ratio must be > 0; got {d.replay_ratio}")
    _check(d.noise in NOISES, f"ddpg.noise must be one of {', '.join(NOISES)}; got {d.noise!r}")
    _check(d.noise_sigma >= 0, f"ddpg.noise_sigma must be >= 0; got {d.noise_sigma}")
    _check(d.ou_theta >= 0, f"ddpg.ou_theta must be >= 0; got {d.ou_theta}")
    _check(d.ou_dt > 0, f"ddpg.ou_dt must be > 0; got {d.ou_dt}")


# --- building configs from presets, files and overrides ------------------------------------


def preset_names() -> list[str]:
    folder = resources.files("distrl") / "presets"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_preset(name: str) -> dict[str, Any]:
    if name not in preset_names():
        raise ConfigError(f"unknown preset {name!r}; known: {', '.join(preset_names())}")
    text = (resources.files("distrl") / "presets" / f"{name}.yaml").read_text()
    return _read_mapping(text, f"preset {name}")


def load_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist")
    return _read_mapping(p.read_text(), f"config file {str(p)!r}")


def _read_mapping(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"{where} is not valid YAML: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping of keys to values")
    return data


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a2c": {"lr": 1}}`` -> ``{"a2c.lr": 1}``; only known sections are descended into."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if not prefix and key in SECTIONS and isinstance(value, dict):
            out.update(flatten(value, prefix=f"{key}."))
        else:
            out[dotted] = value
    return out


def parse_override(text: str) -> tuple[str, Any]:
    """``"a2c.lr=3e-4"`` -> ``("a2c.lr", 0.0003)``; the value is read as a YAML scalar."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects KEY=VALUE; got {text!r}")
    return key.strip(), parse_cli_value(key.strip(), raw)


def parse_cli_value(key: str, raw: str) -> Any:
    """A command-line string for ``key``: kept as text for string fields, else read as YAML."""
    section, _, name = key.rpartition(".")
    cls = SECTIONS.get(section, Config) if section else Config
    hint = _field_types(cls).get(name)
    if hint in (str, str | None) and raw.strip().lower() not in ("null", "none", "~"):
        return raw
    return parse_value(raw)


def parse_value(raw: str) -> Any:
    try:
        return yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        return raw


def build_config(*layers: Mapping[str, Any]) -> Config:
    """Merge flat ``{dotted key: value}`` layers (later wins) over the defaults and validate."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(flatten(layer))
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for key, value in merged.items():
        section, _, name = key.rpartition(".")
        cls = SECTIONS.get(section) if section else Config
        if cls is None or name not in _field_types(cls) or (not section and name in SECTIONS):
            raise ConfigError(f"unknown config key {key!r}")
        coerced = coerce(value, _field_types(cls)[name], key)
        if section:
            sections[section][name] = coerced
        else:
            top[name] = coerced
    for name, cls in SECTIONS.items():
        top[name] = cls(**sections[name])
    return Config(**top)


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


# PyYAML follows YAML 1.1, which reads "7e-4" (no dot) as a string; people write it as a number.
_SCIENTIFIC = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def coerce(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against a field's type hint, converting only where it is lossless."""
    if hint in (int, float) and isinstance(value, str) and _SCIENTIFIC.match(value.strip()):
        value = float(value)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(value, inner[0], key)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false; got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{key} must be an integer; got {value!r}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key} must be a number; got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key} must be a string; got {value!r}")
    if origin is tuple:
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key} must be a list; got {value!r}")
        return tuple(coerce(v, args[0], key) for v in value)
    raise TypeError(f"unsupported config type {hint!r} for {key}")  # a bug in this module


def describe_fields() -> list[tuple[str, str, Any]]:
    """``(dotted key, help, default)`` for every field, in declaration order."""
    rows: list[tuple[str, str, Any]] = []
    for f in dataclasses.fields(Config):
        if f.name in SECTIONS:
            for sf in dataclasses.fields(SECTIONS[f.name]):
                rows.append((f"{f.name}.{sf.name}", sf.metadata["help"], sf.default))
        else:
            rows.append((f.name, f.metadata["help"], f.default))
    return rows
