"""Run configuration: frozen dataclasses, presets, overrides and validation.

- ``fields.py``: :class:`ConfigError`, help-carrying fields and the check helpers;
- ``schema.py``: :class:`Config` (the top-level keys and every section) and the checks that
  span sections;
- ``model.py`` (``model``, ``atari``) and ``sections.py`` (``acting``, ``lag``, ``nonfinite``,
  ``resources``, ``service``, ``checkpoint``, ``evaluation``, ``logging``, ``faults``): the
  sections by owner, each checking itself; each algorithm's section lives beside it in
  ``distrl/agents/<algo>/config.py``;
- ``catalog.py``: the algorithms the config knows, filled by the registry (no import of it);
- ``loading.py``: presets, YAML files, ``--set`` overrides, type coercion, ``describe_fields``.

Every problem is raised as :class:`ConfigError` with a one-line message naming the key, so the
launcher can print it and exit with status 2 before Ray starts (the Python API raises it).
"""

from distrl.config.fields import ConfigError
from distrl.config.loading import (
    build_config,
    coerce,
    describe_fields,
    flag_keys,
    flatten,
    key_reference,
    load_file,
    load_preset,
    make_config,
    parse_cli_value,
    parse_override,
    parse_value,
    preset_names,
    section_classes,
)
from distrl.config.model import CNN_MODELS, MODEL_NAMES, NUMPY_ACTIVATIONS, AtariConfig, ModelConfig
from distrl.config.schema import RUN_SECTIONS, AlgorithmSections, Config, RolloutSettings
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

__all__ = [
    "CNN_MODELS",
    "MODEL_NAMES",
    "NUMPY_ACTIVATIONS",
    "RUN_SECTIONS",
    "ActingConfig",
    "AlgorithmSections",
    "AtariConfig",
    "CheckpointConfig",
    "Config",
    "ConfigError",
    "EvaluationConfig",
    "FaultsConfig",
    "LagConfig",
    "LoggingConfig",
    "ModelConfig",
    "NonfiniteConfig",
    "NormalizeConfig",
    "ResourcesConfig",
    "RolloutSettings",
    "ServiceConfig",
    "build_config",
    "coerce",
    "describe_fields",
    "flag_keys",
    "flatten",
    "key_reference",
    "load_file",
    "load_preset",
    "make_config",
    "parse_cli_value",
    "parse_override",
    "parse_value",
    "preset_names",
    "section_classes",
]
