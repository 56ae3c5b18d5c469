"""Where each value of a config came from: the default, a preset, a file, a flag or ``--set``.

``--print-config`` prints the resolved config as YAML with the source of every value as a
comment, so a user sees which numbers are defaults and which a preset or a flag chose::

    workers: 2  # flag
    a2c:
      lr: 0.0007  # preset cartpole-a3c
      gamma: 0.99  # default
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

import distrl.config.catalog as catalog
from distrl.config.loading import algorithm_defaults, displaced, flatten, merge_layers
from distrl.config.schedule import Schedule
from distrl.config.schema import Config

DEFAULT = "default"


def sources(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, str]:
    """Dotted key -> the name of the last of ``layers`` (``(name, mapping)``) that sets it, or
    ``default (<algo>)`` for a key the algorithm's registry entry gives a default."""
    out: dict[str, str] = {}
    for name, layer in layers:
        flat = flatten(layer)
        out = {k: v for k, v in out.items() if k not in displaced(flat)}
        out.update(dict.fromkeys(flat, name))
    merged = merge_layers([layer for _, layer in layers])
    algo = merged.get("algo", Config.__dataclass_fields__["algo"].default)
    out.update(dict.fromkeys(algorithm_defaults(merged), f"{DEFAULT} ({algo})"))
    return out


def annotated_yaml(config: Config, origin: Mapping[str, str]) -> str:
    """``config`` as YAML (what ``--config`` reads back), each value followed by its source."""
    if config.samples_per_update is not None:
        c = config
        derived = (f"from samples_per_update: {c.fragments_per_update} fragment(s) x "
                   f"{c.envs_per_worker} envs x {c.rollout_len} = {c.batch_size}")  # fmt: skip
        origin = {**origin, "rollout_len": derived}
    lines: list[str] = []
    for key, value in config.to_dict().items():
        if isinstance(value, dict) and key != "env_kwargs":
            lines.append(f"{key}:")
            lines += [_line(f"{key}.{k}", k, v, origin, "  ") for k, v in value.items()]
        else:
            lines.append(_line(key, key, value, origin, ""))
    return "\n".join(lines) + "\n"


def _line(dotted: str, name: str, value: Any, origin: Mapping[str, str], indent: str) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).rstrip("\n")
    text = text.removesuffix("\n...")  # the end-of-document line YAML puts after a bare scalar
    return f"{indent}{name}: {text}  # {origin.get(dotted, DEFAULT)}"


def moved_horizons(
    config: Config, layers: Sequence[tuple[str, Mapping[str, Any]]], origin: Mapping[str, str]
) -> list[str]:
    """One line per schedule whose source also chose a ``max_steps`` that a later source
    changed: a schedule runs over ``max_steps``, so it now anneals faster or slower than the
    preset (or file) that wrote it meant. Empty when nothing moved."""
    entry = catalog.get(config.algo)
    own = config.sections.get(entry.section_name) if entry.section_name else None
    if own is None or config.max_steps is None:
        return []
    written_for = {name: flatten(layer).get("max_steps") for name, layer in layers}
    notes = []
    for f in dataclasses.fields(own):
        value, key = getattr(own, f.name), f"{entry.section_name}.{f.name}"
        meant = written_for.get(origin.get(key, DEFAULT))
        if isinstance(value, Schedule) and meant is not None and meant != config.max_steps:
            ratio = meant / config.max_steps
            pace = f"{ratio:.3g}x faster" if ratio > 1 else f"{1 / ratio:.3g}x slower"
            notes.append(
                f"{key} ({origin[key]}) was written to run over max_steps {meant}; it runs over "
                f"{config.max_steps} ({origin.get('max_steps', DEFAULT)}), {pace}"
            )
    return notes
