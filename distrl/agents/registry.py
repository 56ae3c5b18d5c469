"""The algorithm registry: one :class:`Algorithm` entry per algorithm, and nothing else names one.

Config validation, the runtime, the service, evaluation and checkpoints ask the entry of
``config.algo`` what to build and what is allowed; no module outside ``agents/<algo>/`` compares
algorithm names. Adding an algorithm is one folder plus one :func:`register` call::

    from distrl.agents.registry import Algorithm, register

    register(Algorithm(
        name="myalgo",
        summary="my algorithm (discrete actions)",
        action_kinds=("discrete",),
        make_learner=lambda *, spec, sections, seed, device: MyLearner(spec, sections.own),
        make_policy=lambda *, spec, sections, tf_threads=1, num_envs=1: MyPolicy(spec),
    ))

The factories receive :class:`distrl.config.AlgorithmSections`: the algorithm's own section
(``sections.own``), ``model``, ``acting``, ``lag`` and ``nonfinite``, never the whole run config.

The built-in algorithms (listed in ``BUILTIN``) register themselves in their package's
``__init__.py``, imported on first use. Entries are kept in the config's catalog
(``distrl.config.catalog``), which validation reads; nothing here imports a framework.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from distrl.config import ConfigError, catalog
from distrl.types import EnvSpec, Gradients, Rollout, UpdateResult, WeightsMessage

BUILTIN = (
    "distrl.agents.a2c",
    "distrl.agents.pg",
    "distrl.agents.ddpg",
    "distrl.agents.ppo",
    "distrl.agents.dqn",
    "distrl.agents.sac",
)
ACTION_KINDS = ("discrete", "continuous", "multi_discrete", "multi_binary")
SAMPLING_KEYS = ("rollout_len", "envs_per_worker", "samples_per_update")


class ActingPolicy(Protocol):
    """What acts, everywhere: rollout workers, the service's ``Act``, evaluation and
    :class:`distrl.Policy` all use the acting policy an algorithm's ``make_policy`` builds."""

    def set_weights(self, message: WeightsMessage) -> None: ...

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``obs`` [B, *obs] -> ``(actions [B, ...], behaviour log-probs [B])``, exploring."""
        ...

    def act_greedy(self, obs: np.ndarray) -> np.ndarray:
        """The policy's best action for each observation, without exploration (evaluation)."""
        ...

    def episodes_ended(self, envs: np.ndarray) -> None:
        """Episodes ended (and restarted) in the env copies flagged in ``envs`` [B]."""

    # Optional: ``place(worker_index, workers, mode)``, called once by each rollout worker, for
    # a policy that explores by its worker's place (DQN's Ape-X rates in mode async); and
    # ``initial_priorities(rollout)`` -> [T, B] or None, the replay priorities of a fragment's
    # steps from the worker's own network copy (Ape-X). A recurrent policy keeps ``state``
    # ([B, S], its env copies' LSTM states) and has ``fragment_state()`` -> a copy of it.


class Learner(Protocol):
    """What the runtime drives (``distrl.runtime.backend``); ``distrl.agents.learner.LearnerBase``
    implements the shared part. ``warm_up()`` is called once after construction, while the
    workers start (LearnerBase traces its compiled functions there)."""

    version: int

    def weights(self) -> WeightsMessage: ...

    def update(self, rollouts: Sequence[Rollout]) -> UpdateResult: ...

    def apply_gradients(self, gradients: Gradients) -> UpdateResult:
        """One update from an A3C worker's gradients (algorithms with gradient workers)."""
        ...

    def checkpoint(self, *, include_replay: bool = False) -> tuple[dict[str, np.ndarray], dict]: ...

    def restore(self, arrays: dict[str, np.ndarray], scalars: dict) -> None: ...

    def policy_bytes(self) -> bytes | None:
        """The policy as a ``.keras`` file, or None for a learner without a Keras model."""
        ...


@dataclass(frozen=True)
class Algorithm:
    """Everything the rest of distrl needs to know about one algorithm.

    The factories are called with keyword arguments only:
    ``make_learner(spec=, sections=, seed=, device=)`` and
    ``make_policy(spec=, sections=, tf_threads=, num_envs=)`` (``num_envs``: the env copies
    the policy keeps per-env state for, such as exploration noise).
    The entry itself travels to Ray workers (pickled), so an algorithm defined in a script or
    a test module works there too.
    """

    name: str
    summary: str  # one line: what it is and which action spaces (for --help and the docs)
    action_kinds: tuple[str, ...]  # of ACTION_KINDS
    make_learner: Callable[..., Any]
    make_policy: Callable[..., ActingPolicy]
    # Its hyperparameters: a frozen dataclass whose fields carry help texts (see
    # distrl.config.fields.setting), read as ``config.<section>``; None: no section.
    config: type | None = None
    section: str | None = None  # default: the algorithm's name
    # Learns from single transitions out of a replay buffer: the service also takes
    # PushTransitions, and fragments need no behaviour log-probs.
    replay: bool = False
    # The policy samples its actions and reports their log-probs (Act returns them).
    stochastic: bool = True
    # The learner uses the behaviour log-probs of fragments (PushRollout must carry them).
    behaviour_log_probs: bool = True
    # Bounds and corrects policy lag (max_policy_lag, stale_data, V-trace).
    corrects_lag: bool = False
    # A3C-style workers that send gradients (async_unit gradients): the loss they differentiate,
    # ``make_worker_loss(spec=, sections=, tf_threads=)``, or None.
    make_worker_loss: Callable[..., Any] | None = None
    # The config key that caps the replay buffer (a resumed checkpoint's must fit), e.g.
    # "ddpg.buffer_size"; None: no replay buffer.
    replay_capacity_key: str | None = None
    # Builds its networks from the ``model`` section (model.name, model.hidden, ...).
    uses_model: bool = True
    # Acts on action masks (an ``action_mask`` entry of a Dict observation): its policy and
    # losses read the model's masked logits.
    action_masks: bool = False
    # Supports the ``normalize`` section: builds its model with ``normalize`` and keeps the
    # statistics (``distrl.agents.normalizing``).
    normalizes: bool = False
    # Unrolls recurrent policies (``model.lstm_size``): its workers carry the LSTM state and
    # its learner unrolls each fragment from the state it began with.
    recurrent: bool = False
    # Its learner trains as one of several data-parallel learners (``resources.learners``):
    # it implements ``join_group`` (``distrl.agents.data_parallel``).
    data_parallel: bool = False
    # How exports compute greedy actions from the policy model's first output
    # (``distrl.agents.serving.GREEDY``): mode, argmax, output or squashed.
    greedy: str = "mode"
    # Where the algorithm and its defaults come from (papers, seed tutorials, reference code),
    # one line each, for its page in docs/algorithms/.
    references: tuple[str, ...] = ()
    # Its defaults for the run's sampling keys (SAMPLING_KEYS), under presets, files and
    # flags, so that it samples as its reference does: ``{"samples_per_update": 2048}``.
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def section_name(self) -> str | None:
        """The key of its config section (``section``, else its name); None without one."""
        if self.config is None:
            return None
        return self.section or self.name

    def replay_capacity(self, own: Any) -> int:
        """Transitions this run's replay buffer holds at most (0: none), from the algorithm's
        own section ``own``."""
        if self.replay_capacity_key is None:
            return 0
        return int(getattr(own, self.replay_capacity_key.partition(".")[2]))

    def check_spec(self, spec: EnvSpec) -> None:
        """The env's action space is one this algorithm acts in; else one line."""
        if spec.action_kind not in self.action_kinds:
            *most, last = self.action_kinds
            kinds = f"{', '.join(most)} or {last}" if most else last
            raise ConfigError(
                f"algo {self.name} needs a {kinds} action space; "
                f"{spec.env_id} has a {spec.action_kind} one"
            )
        if spec.masked and not self.action_masks:
            raise ConfigError(
                f"algo {self.name} does not act on action masks; {spec.env_id}'s observations "
                "hold an action_mask (algos that do: a2c, ppo, pg)"
            )


def lazy(target: str) -> Callable[..., Any]:
    """A factory that imports ``"package.module:name"`` on its first call, then calls it with
    the arguments it was given: a registry entry names its learner without importing
    TensorFlow when it registers."""

    def build(**kwargs: Any) -> Any:
        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)(**kwargs)

    build.__qualname__ = f"lazy({target!r})"
    return build


_lock = threading.RLock()  # registering may load the built-ins, which register


def register(algorithm: Algorithm, *, replace: bool = False) -> Algorithm:
    """Add ``algorithm``; a second entry under the same name is an error unless ``replace``."""
    bad = set(algorithm.action_kinds) - set(ACTION_KINDS)
    if bad or not algorithm.action_kinds:
        raise ValueError(f"action_kinds must be among {ACTION_KINDS}; got {algorithm.action_kinds}")
    if set(algorithm.defaults) - set(SAMPLING_KEYS):
        keys = ", ".join(SAMPLING_KEYS)
        raise ValueError(f"defaults may set {keys}; got {dict(algorithm.defaults)}")
    with _lock:
        entries = catalog.entries()
        known = entries.get(algorithm.name)
        if known is not None and known is not algorithm and not replace:
            raise ValueError(f"algorithm {algorithm.name!r} is registered already")
        section = algorithm.section_name
        for other in entries.values():
            shared = other.name != algorithm.name and section and other.section_name == section
            if shared and other.config is not algorithm.config:
                raise ValueError(f"config section {section!r} belongs to {other.name}")
        catalog.add(algorithm)
    return algorithm


def unregister(name: str) -> None:
    """Remove an entry (tests that register their own algorithm clean up with it)."""
    catalog.remove(name)


def _load_builtin() -> None:
    for module in BUILTIN:
        importlib.import_module(module)


catalog.add_loader(_load_builtin)


def names() -> list[str]:
    """The registered algorithms' names, sorted."""
    return sorted(catalog.entries())


def get(name: str) -> Algorithm:
    """The entry for ``name``; an unknown name is a ConfigError listing the known ones."""
    entry = catalog.get(name)
    assert isinstance(entry, Algorithm)  # the catalog holds only what register() added
    return entry


def sections() -> dict[str, type]:
    """Config section name -> its dataclass, over every registered algorithm."""
    return catalog.sections()
