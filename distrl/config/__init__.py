"""Run configuration: frozen dataclasses, presets, overrides and validation.

- ``fields.py``: :class:`ConfigError`, help-carrying fields and the check helpers;
- ``schema.py``: :class:`Config` (top-level keys), the ``model`` and ``atari`` sections and
  their validation; each algorithm's section lives in ``distrl/agents/<algo>/config.py``;
- ``loading.py``: presets, YAML files, ``--set`` overrides, type coercion, ``describe_fields``.

Every problem is raised as :class:`ConfigError` with a one-line message naming the key, so the
launcher can print it and exit with status 2 before Ray starts (the Python API raises it).
"""

from distrl.config.fields import ConfigError
from distrl.config.loading import (
    build_config,
    coerce,
    describe_fields,
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
from distrl.config.schema import (
    CNN_MODELS,
    MODEL_NAMES,
    NUMPY_ACTIVATIONS,
    AtariConfig,
    Config,
    ModelConfig,
)

__all__ = [
    "CNN_MODELS",
    "MODEL_NAMES",
    "NUMPY_ACTIVATIONS",
    "AtariConfig",
    "Config",
    "ConfigError",
    "ModelConfig",
    "build_config",
    "coerce",
    "describe_fields",
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
