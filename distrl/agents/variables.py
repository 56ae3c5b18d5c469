"""A learner's TensorFlow variables as named NumPy arrays and back (for checkpoints)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras


def soft_update(target: Sequence[Any], online: Sequence[Any], tau: float) -> None:
    """``target <- tau * online + (1 - tau) * target``, variable by variable (tau 1: a copy)."""
    for t, w in zip(target, online, strict=True):
        t.assign(tau * w + (1.0 - tau) * t)


def variables_to_arrays(groups: Mapping[str, Sequence[Any]]) -> dict[str, np.ndarray]:
    """``{"model": [v0, v1]}`` -> ``{"model/000": array, "model/001": array}``."""
    return {
        f"{group}/{i:03d}": np.array(v.numpy())
        for group, variables in groups.items()
        for i, v in enumerate(variables)
    }


def assign_arrays(groups: Mapping[str, Sequence[Any]], arrays: Mapping[str, np.ndarray]) -> None:
    """The inverse of :func:`variables_to_arrays` (keys and shapes checked by the caller)."""
    for group, variables in groups.items():
        for i, v in enumerate(variables):
            v.assign(arrays[f"{group}/{i:03d}"])


def keras_file_bytes(model: keras.Model) -> bytes:
    """``model`` as the bytes of a ``.keras`` file, so they can travel from a remote learner."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "policy.keras")
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def keras_file_weights(path: str | os.PathLike[str]) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """The variable paths and values of a ``.keras`` file's model (a checkpoint's policy or an
    exported one), for a policy to act with; TensorFlow runs on the CPU only."""
    from distrl.tfsetup import configure_tensorflow

    configure_tensorflow(threads=None, use_gpu=False)
    import keras

    from distrl.config import ConfigError

    try:
        model = keras.models.load_model(path, compile=False)
    except (ValueError, OSError, KeyError) as e:  # not a .keras file, or a damaged one
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"{str(path)!r} is not a readable .keras policy: {first}") from None
    return tuple(v.path for v in model.weights), [np.asarray(v.numpy()) for v in model.weights]
