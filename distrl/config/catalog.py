"""The algorithms the config knows: names, their sections and the traits validation needs.

The algorithm registry (``distrl.agents.registry``) fills this catalog when an algorithm
registers, and installs the loader of the built-in ones; the config package itself imports no
algorithm. Entries are the registry's own objects, read here through :class:`AlgorithmTraits`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from distrl.config.fields import ConfigError


class AlgorithmTraits(Protocol):
    """What config validation reads of an algorithm's registry entry."""

    @property
    def name(self) -> str: ...

    @property
    def config(self) -> type | None:
        """Its section's dataclass."""

    @property
    def replay(self) -> bool:
        """Learns from replayed transitions."""

    @property
    def corrects_lag(self) -> bool:
        """Bounds and corrects policy lag."""

    @property
    def uses_model(self) -> bool:
        """Builds its networks from the ``model`` section."""

    @property
    def make_worker_loss(self) -> Callable[..., Any] | None:
        """The loss of gradient (A3C) workers, if it has them."""

    @property
    def section_name(self) -> str | None: ...

    @property
    def normalizes(self) -> bool:
        """Supports the ``normalize`` section (observation and reward normalization)."""

    @property
    def recurrent(self) -> bool:
        """Unrolls recurrent policies (``model.lstm_size``)."""

    @property
    def data_parallel(self) -> bool:
        """Its learner can be one of several data-parallel learners (``resources.learners``)."""

    @property
    def defaults(self) -> Mapping[str, Any]:
        """Its defaults for the run's sampling keys, under every layer."""


_entries: dict[str, AlgorithmTraits] = {}
_loaders: list[Callable[[], None]] = []
_lock = threading.RLock()


def add(entry: AlgorithmTraits) -> None:
    with _lock:
        _entries[entry.name] = entry


def remove(name: str) -> None:
    with _lock:
        _entries.pop(name, None)


def add_loader(loader: Callable[[], None]) -> None:
    """``loader`` registers algorithms on first need (the built-ins: their packages' imports)."""
    with _lock:
        _loaders.append(loader)


def entries() -> dict[str, AlgorithmTraits]:
    """Every known algorithm by name, after running the loaders once."""
    with _lock:
        while _loaders:
            _loaders.pop(0)()
        return dict(_entries)


def get(name: str) -> AlgorithmTraits:
    """The entry for ``name``; an unknown name is a ConfigError listing the known ones."""
    known = entries()
    if name not in known:
        raise ConfigError(f"algo must be one of {', '.join(sorted(known))}; got {name!r}")
    return known[name]


def sections() -> dict[str, type]:
    """Config section name -> its dataclass, over every known algorithm."""
    return {
        e.section_name: e.config
        for e in entries().values()
        if e.section_name is not None and e.config is not None
    }
