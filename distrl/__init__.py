"""distrl: distributed actor-learner reinforcement learning for Keras 3 on Ray core.

The Python API, in a few lines::

    import distrl

    config = distrl.make_config("cartpole-a2c", workers=2, max_steps=100_000)
    summary = distrl.Trainer(config).train()

Names are imported on first use, so ``import distrl`` stays cheap (no TensorFlow, no Ray). The
algorithm registry is imported at once: it tells the config's catalog how to load the built-in
algorithms, whichever part of distrl a process imports first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from distrl.agents import registry as _registry  # noqa: F401  (installs the built-ins' loader)

__version__ = "0.1.0"

_EXPORTS = {
    "Algorithm": "distrl.agents.registry",
    "Callback": "distrl.callbacks",
    "Config": "distrl.config",
    "ConfigError": "distrl.config",
    "Policy": "distrl.policy",
    "RunSummary": "distrl.ops.summary",
    "SaveBestPolicy": "distrl.callbacks",
    "Trainer": "distrl.trainer",
    "TrainingFailed": "distrl.trainer",
    "TrainingProgress": "distrl.ops.tracking",
    "make_config": "distrl.config",
    "register": "distrl.agents.registry",
}

__all__ = [
    "Algorithm",
    "Callback",
    "Config",
    "ConfigError",
    "Policy",
    "RunSummary",
    "SaveBestPolicy",
    "Trainer",
    "TrainingFailed",
    "TrainingProgress",
    "make_config",
    "register",
]

if TYPE_CHECKING:
    from distrl.agents.registry import Algorithm, register
    from distrl.callbacks import Callback, SaveBestPolicy
    from distrl.config import Config, ConfigError, make_config
    from distrl.ops.summary import RunSummary
    from distrl.ops.tracking import TrainingProgress
    from distrl.policy import Policy
    from distrl.trainer import Trainer, TrainingFailed


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'distrl' has no attribute {name!r}")
