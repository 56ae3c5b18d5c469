"""Keras 3 model builders, selectable by name.

Every actor-critic builder takes ``(spec, config)`` and returns a ``keras.Model`` that maps a
batch of observations to ``[logits [N, A], value [N, 1]]``. Users plug in their own with
``model.name: package.module:function`` and the same signature.
"""

from distrl.models.builders import build_model
from distrl.models.device import configure_tensorflow

__all__ = ["build_model", "configure_tensorflow"]
