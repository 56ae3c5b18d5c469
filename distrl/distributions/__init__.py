"""Action distributions, shared by every algorithm that samples its actions.

Each distribution is a small stateless class over the policy head's parameters (``params``: the
model's first output) in two forms with the same method names:

- NumPy (this package's ``categorical.py``, ``gaussian.py`` and ``squashed.py``, SAC's
  tanh-squashed Gaussian): for acting in rollout workers
  without TensorFlow, and for the float64 log-probs V-trace compares;
- TensorFlow (``tensorflow_forms.py``): for the losses inside compiled train steps.

Both offer ``log_prob(params, actions)``, ``entropy(params)`` and ``mode(params)``; the NumPy
form also ``sample(params, rng)``. :func:`for_spec` picks the one an env's action space needs::

    dist = for_spec(spec)                  # Categorical or DiagGaussian
    actions = dist.sample(params, rng)     # [B] int64 or [B, A] float64
    logp = dist.log_prob(params, actions)  # [B] float64
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from distrl.distributions.categorical import Categorical, log_softmax
from distrl.distributions.gaussian import DiagGaussian
from distrl.distributions.squashed import SquashedGaussian
from distrl.types import EnvSpec

__all__ = [
    "Categorical",
    "DiagGaussian",
    "Distribution",
    "SquashedGaussian",
    "for_spec",
    "log_softmax",
]


class Distribution(Protocol):
    """The NumPy side of one family of action distributions."""

    @staticmethod
    def sample(params: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...

    @staticmethod
    def log_prob(params: np.ndarray, actions: np.ndarray) -> np.ndarray: ...

    @staticmethod
    def entropy(params: np.ndarray) -> np.ndarray: ...

    @staticmethod
    def mode(params: np.ndarray) -> np.ndarray: ...


def for_spec(spec: EnvSpec) -> type[Distribution]:
    """The distribution over ``spec``'s actions: categorical (discrete) or diagonal Gaussian."""
    return DiagGaussian if spec.action_kind == "continuous" else Categorical
