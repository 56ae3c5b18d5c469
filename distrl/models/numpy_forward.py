"""The policy path of a built-in Dense model in NumPy: acting without TensorFlow.

A rollout worker only needs logits. For the built-in MLPs a NumPy forward pass gives exactly
those (to float32 rounding), costs a few microseconds instead of a TensorFlow call, and lets the
worker process skip importing TensorFlow (seconds of CPU and hundreds of MB per worker).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from distrl.config import ModelConfig
from distrl.distributions import mask_logits
from distrl.models.plan import NUMPY_ACTIVATIONS, dense_plan


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "linear": lambda x: x,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "elu": _elu,
}
assert set(_ACTIVATIONS) == set(NUMPY_ACTIVATIONS)


class NumpyForward:
    """The output of a chain of Dense layers, ``[(layer name, activation), ...]`` from the
    observation on, from weights given by Keras variable path (``"<layer>/kernel"``)."""

    def __init__(
        self,
        layers: Sequence[tuple[str, str]],
        mask: tuple[int, int] | None = None,
        normalize_clip: float | None = None,
    ) -> None:
        self.layers = list(layers)
        self.mask = mask  # where the action mask lies in the flattened observation
        # The model standardises its input first (models.builders.with_normalization).
        self.normalize_clip = normalize_clip
        self._params: list[tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray]]] = []

    def set_weights(self, names: Sequence[str], weights: Sequence[np.ndarray]) -> None:
        by_name = dict(zip(names, weights, strict=True))
        self._params = [
            (by_name[f"{layer}/kernel"], by_name[f"{layer}/bias"], _ACTIVATIONS[activation])
            for layer, activation in self.layers
        ]
        if self.normalize_clip is not None:
            self._norm = (by_name["obs_norm/kernel"], by_name["obs_norm/bias"])

    def params(self, obs: np.ndarray) -> np.ndarray:
        """``obs`` [B, *obs] -> logits [B, A] (float32)."""
        x = obs.reshape(obs.shape[0], -1).astype(np.float32)  # [B, features]
        flat = x
        if self.normalize_clip is not None:
            kernel, bias = self._norm
            x = np.clip(x @ kernel + bias, -self.normalize_clip, self.normalize_clip)
        for kernel, bias, activation in self._params:
            x = activation(x @ kernel + bias)
        if self.mask is not None:
            x = mask_logits(x, flat[:, self.mask[0] : self.mask[1]])
        return x


class GaussianNumpyForward(NumpyForward):
    """The Gaussian head's ``[mean, log_std]``: the Dense chain gives the mean, the
    ``log_std`` layer's bias the state-independent log-std (``models/gaussian.py``)."""

    def set_weights(self, names: Sequence[str], weights: Sequence[np.ndarray]) -> None:
        super().set_weights(names, weights)
        self._log_std = dict(zip(names, weights, strict=True))["log_std/bias"]

    def params(self, obs: np.ndarray) -> np.ndarray:
        mean = super().params(obs)
        return np.concatenate([mean, np.broadcast_to(self._log_std, mean.shape)], axis=-1)


def numpy_forward_for(
    config: ModelConfig,
    *,
    continuous: bool = False,
    mask: tuple[int, int] | None = None,
    normalize_clip: float | None = None,
) -> NumpyForward | None:
    """A NumPy forward pass for ``config`` if it is a built-in model with a supported activation
    (``continuous``: of the Gaussian head; ``mask``: where the action mask lies in the
    flattened observation, as :func:`distrl.models.builders.with_action_mask`)."""
    plan = dense_plan(config)
    if plan is None or plan.activation not in NUMPY_ACTIVATIONS:
        return None
    if continuous:
        return GaussianNumpyForward(plan.policy_layers(), normalize_clip=normalize_clip)
    return NumpyForward(plan.policy_layers(), mask, normalize_clip)
