"""Building a :class:`Config` from presets, YAML files, flags and ``KEY=VALUE`` overrides.

Precedence, lowest first: dataclass defaults < preset < config file < command-line flags and
overrides (or, from Python, keyword arguments). Values are checked against each field's type
and converted only where that is lossless.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import re
import types
import typing
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

import distrl.config.catalog as catalog
from distrl.config.fields import ConfigError, factory_name
from distrl.config.schedule import Schedule, parse_schedule
from distrl.config.schema import RUN_SECTIONS, Config


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
    known = section_classes()
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if not prefix and key in known and isinstance(value, dict):
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
    cls = section_classes().get(section, Config) if section else Config
    hint = _field_types(cls).get(name)
    if hint in (str, str | None) and raw.strip().lower() not in ("null", "none", "~"):
        return raw
    return parse_value(raw)


def parse_value(raw: str) -> Any:
    try:
        return yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        return raw


def build_config(*layers: Mapping[str, Any], flag_names: bool = False) -> Config:
    """Merge flat ``{dotted key: value}`` layers (later wins) over the defaults and validate.

    Under the layers lie the defaults of the algorithm they choose (its registry entry's
    ``defaults``: ``rollout_len``, ``envs_per_worker``, ``samples_per_update``), and under those
    the run-wide ones. ``rollout_len`` and ``samples_per_update`` are one choice: a layer that
    sets one drops what the layers below (or the algorithm) set for the other.

    ``flag_names``: a key may also be a flag's name (``checkpoint_dir`` for ``checkpoint.dir``),
    as in ``make_config``'s keywords and in checkpoints written before the sections existed.
    """
    merged = merge_layers([keys_of_flags(la) if flag_names else la for la in layers])
    factory = None
    if "env" in merged and not isinstance(merged["env"], str):  # the API's class or callable
        factory = merged["env"]
        if not callable(factory):
            raise ConfigError(
                "env must be an env id (a string), a gymnasium.Env subclass or a callable "
                f"returning an env; got {factory!r}"
            )
        merged["env"] = factory_name(factory)
    merged = algorithm_defaults(merged) | merged
    classes = section_classes()
    values: dict[str, dict[str, Any]] = {name: {} for name in ("", *classes)}
    for key, value in merged.items():
        section, _, name = key.rpartition(".")
        cls = classes.get(section) if section else Config
        if cls is None or name not in _field_types(cls) or (not section and name in _HIDDEN):
            raise ConfigError(_unknown(key))
        coerced = coerce(value, _field_types(cls)[name], key)
        if section:
            _check_applies(key, section, coerced, cls, merged.get("algo", _DEFAULT_ALGO))
        values[section][name] = coerced
    top = values.pop("")
    built = {name: cls(**values[name]) for name, cls in classes.items()}
    top.update({name: built.pop(name) for name in RUN_SECTIONS})
    return Config(**top, sections=built, env_factory=factory)


# One layer's fragment length displaces a lower layer's batch and the other way round.
_ONE_CHOICE = {"rollout_len": "samples_per_update", "samples_per_update": "rollout_len"}


def merge_layers(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Flat layers merged, later ones winning (and displacing, see :func:`build_config`)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        flat = flatten(layer)
        merged = {k: v for k, v in merged.items() if k not in displaced(flat)} | flat
    return merged


def displaced(layer: Mapping[str, Any]) -> set[str]:
    """The keys of lower layers that ``layer`` takes the place of."""
    if layer.get("samples_per_update") is not None:
        return {"rollout_len"}  # a batch given with a fragment length: the length follows
    return {_ONE_CHOICE[k] for k in layer if k in _ONE_CHOICE}


def algorithm_defaults(merged: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults the algorithm of ``merged`` (flat layers, already merged) gives for keys
    the layers leave unset: its registry entry's ``defaults``. A fragment length set in the
    layers keeps the algorithm's batch out, and the other way round."""
    entry = catalog.entries().get(merged.get("algo", _DEFAULT_ALGO))
    if entry is None:
        return {}  # an unknown algo: build_config reports it
    blocked = {"samples_per_update"} if "rollout_len" in merged else set()
    if merged.get("samples_per_update") is not None:
        blocked = {"rollout_len"}
    return {k: v for k, v in entry.defaults.items() if k not in merged and k not in blocked}


_DEFAULT_ALGO = Config.__dataclass_fields__["algo"].default
# Top-level fields that are sections, not keys (they are written ``section.key``).
_HIDDEN = frozenset([*RUN_SECTIONS, "sections", "env_factory"])


def flag_keys() -> dict[str, str]:
    """Command-line flag name (``checkpoint_dir`` for ``--checkpoint-dir``) -> dotted key, for
    every top-level key and every section key that declares a flag."""
    out = {f.name: f.name for f in dataclasses.fields(Config) if f.name not in _HIDDEN}
    for section, cls in RUN_SECTIONS.items():
        for f in dataclasses.fields(cls):
            if "flag" in f.metadata:
                out[f.metadata["flag"].replace("-", "_")] = f"{section}.{f.name}"
    return out


def keys_of_flags(layer: Mapping[str, Any]) -> dict[str, Any]:
    """A layer whose keys may be flag names (``serve``, as ``--serve``), with those renamed to
    the keys they set (``service.listen``); sections given as mappings stay as they are.
    ``make_config``'s keyword arguments are read so, and so are the configs of checkpoints
    written before the sections existed, whose flat keys were the flags' names."""
    flags = flag_keys()
    return {k if isinstance(v, dict) else flags.get(k, k): v for k, v in layer.items()}


def _unknown(key: str) -> str:
    if key in section_classes():  # a section given a single value (``lag=3``)
        return f"{key} is a section: set its keys ({key}.KEY=VALUE) or give a mapping"
    moved = flag_keys().get(key.replace("-", "_"))
    if moved is not None and moved != key:
        return f"unknown config key {key!r}; it is {moved} (flag --{key.replace('_', '-')})"
    return f"unknown config key {key!r}"


def _check_applies(key: str, section: str, value: Any, cls: type, algo: Any) -> None:
    """A section key set (away from its default) for an algorithm that does not read it is
    an error, not silently ignored: ``ddpg.tau`` with algo a2c, ``model.*`` with algo ddpg."""
    name = key.rpartition(".")[2]
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    known = catalog.entries()
    if value == defaults[name] or algo not in known:
        return  # defaults (as in a checkpoint's full config) are harmless; bad algo: reported
    entry = known[algo]
    owners = sorted(a for a, e in known.items() if e.section_name == section)
    if owners and section != entry.section_name:
        raise ConfigError(f"{key} applies to algo {' and '.join(owners)}, not to {algo}")
    if section == "model" and not entry.uses_model:
        raise ConfigError(f"{key} does not apply to algo {algo}: it builds its own networks "
                          f"(see the {entry.section_name}.* keys)")  # fmt: skip


def section_classes() -> dict[str, type]:
    """Every config section by name: the run's (``model``, ``lag``, ...) and the algorithms'."""
    return {**RUN_SECTIONS, **catalog.sections()}


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
    if hint is Any:
        return value
    if origin in (Mapping, dict, collections.abc.Mapping):
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{key} must be a mapping of names to values; got {value!r}")
        return dict(value)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        if Schedule in args:  # a constant or a schedule over the step budget
            return parse_schedule(value, key)
        inner = [a for a in args if a is not type(None)]
        return coerce(value, inner[0], key)
    if origin is tuple:
        if isinstance(value, int | str) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key} must be a list; got {value!r}")
        return tuple(coerce(v, args[0], key) for v in value)
    return _coerce_scalar(value, hint, key)


def _coerce_scalar(value: Any, hint: Any, key: str) -> Any:
    """A bool, int, float or str field: a bool is never a number, 2.0 is an int, 2 a float."""
    if hint is bool and isinstance(value, bool):
        return value
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int and is_number and float(value).is_integer():
        return int(value)
    if hint is float and is_number:
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    wanted = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if hint not in wanted:
        raise TypeError(f"unsupported config type {hint!r} for {key}")  # a bug in this module
    raise ConfigError(f"{key} must be {wanted[hint]}; got {value!r}")


def describe_fields() -> list[tuple[str, str, Any]]:
    """``(dotted key, help, default)`` for every field, in declaration order."""
    classes = section_classes()
    rows: list[tuple[str, str, Any]] = []
    for f in dataclasses.fields(Config):
        if f.name not in _HIDDEN:
            help_text = f.metadata["help"]
            if f.name == "algo":  # the registered algorithms, whichever they are
                help_text = f"algorithm: {', '.join(sorted(catalog.entries()))}"
            rows.append((f.name, help_text, f.default))
    for name, cls in classes.items():
        for sf in dataclasses.fields(cls):
            rows.append((f"{name}.{sf.name}", sf.metadata["help"], sf.default))
    return rows


def make_config(
    preset: str | None = None,
    *layers: Mapping[str, Any] | str | Path,
    **overrides: Any,
) -> Config:
    """A validated config from the Python API, as the command line builds one.

    ``preset``: a preset's name; ``layers``: mappings or YAML files, later ones winning;
    ``overrides``: top-level keys, sections as mappings, or a section key by its command-line
    flag's name (``checkpoint_dir`` for ``--checkpoint-dir``, that is ``checkpoint.dir``)::

        make_config("cartpole-a2c", workers=2, a2c={"lr": 1e-3})
        make_config(None, "run.yaml", {"a2c.lr": 1e-3}, max_steps=50_000, checkpoint_dir="ck")

    Bad input raises the same ConfigError, with the same message, as the command line.
    """
    merged: list[Mapping[str, Any]] = [load_preset(preset)] if preset is not None else []
    for layer in layers:
        merged.append(load_file(layer) if isinstance(layer, str | Path) else layer)
    merged.append(keys_of_flags(overrides))
    return build_config(*merged)


def key_reference() -> str:
    """Every config key with its default and meaning, grouped by section (``--help-keys``)."""
    lines: list[str] = []
    current = None
    flags = {key: flag for flag, key in flag_keys().items() if flag != key}
    for key, help_text, default in describe_fields():
        section = key.rpartition(".")[0] or "top level (each also a flag: --key-name)"
        if section != current:
            current = section
            lines.append(f"\n{section}:" if lines else f"{section}:")
        shown = "null" if default is None else default
        flag = f"  (flag --{flags[key].replace('_', '-')})" if key in flags else ""
        lines.append(f"  {key} = {shown}{flag}\n      {help_text}")
    return "\n".join(lines)
