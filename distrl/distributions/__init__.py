"""Action distributions, shared by every algorithm that samples its actions.

Each distribution is a small stateless class over the policy head's parameters (``params``: the
model's first output) in two forms with the same method names:

- NumPy (this package's ``categorical.py``, ``gaussian.py``, ``multi.py`` (multi-part
  discrete actions) and ``squashed.py``, SAC's tanh-squashed Gaussian): for acting in rollout
  workers without TensorFlow, and for the float64 log-probs V-trace compares;
- TensorFlow (``tensorflow_forms.py``): for the losses inside compiled train steps.

Action masks are not a distribution of their own: the model sets the logits of illegal actions
to ``MASKED_LOGIT`` (``mask_logits``), which gives them probability 0 in every form.

Both offer ``log_prob(params, actions)``, ``entropy(params)`` and ``mode(params)``; the NumPy
form also ``sample(params, rng)``. :func:`for_spec` picks the one an env's action space needs::

    dist = for_spec(spec)                  # Categorical, DiagGaussian, MultiCategorical, Bernoulli
    actions = dist.sample(params, rng)     # [B] int64, [B, A] float64 or [B, K] int64
    logp = dist.log_prob(params, actions)  # [B] float64
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from distrl.distributions.categorical import (
    MASKED_LOGIT,
    Categorical,
    empty_mask_rows,
    log_softmax,
    mask_logits,
)
from distrl.distributions.gaussian import DiagGaussian
from distrl.distributions.multi import Bernoulli, MultiCategorical
from distrl.distributions.squashed import SquashedGaussian
from distrl.types import EnvSpec

__all__ = [
    "MASKED_LOGIT",
    "Bernoulli",
    "Categorical",
    "DiagGaussian",
    "Distribution",
    "MultiCategorical",
    "SquashedGaussian",
    "empty_mask_rows",
    "for_spec",
    "log_softmax",
    "mask_logits",
]


class Distribution(Protocol):
    """The NumPy side of one family of action distributions (a class of static methods, or an
    instance for the families with a shape, such as :class:`MultiCategorical`)."""

    def sample(self, params: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...

    def log_prob(self, params: np.ndarray, actions: np.ndarray) -> np.ndarray: ...

    def entropy(self, params: np.ndarray) -> np.ndarray: ...

    def mode(self, params: np.ndarray) -> np.ndarray: ...


def for_spec(spec: EnvSpec) -> Distribution:
    """The distribution over ``spec``'s actions: categorical (discrete), diagonal Gaussian
    (continuous), one categorical per part (multi_discrete) or one Bernoulli per bit
    (multi_binary)."""
    if spec.action_kind == "multi_discrete":
        return MultiCategorical(spec.action_nvec)
    if spec.action_kind == "multi_binary":
        return Bernoulli
    return DiagGaussian if spec.action_kind == "continuous" else Categorical
