"""The layer plan of the built-in actor-critic models (pure Python, no framework).

One plan drives both the Keras builder (``builders.py``) and the NumPy forward pass that rollout
workers use to act (``numpy_forward.py``), so the two cannot drift apart: layer names, sizes and
activations come from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from distrl.config import NUMPY_ACTIVATIONS, ModelConfig

__all__ = ["NUMPY_ACTIVATIONS", "DensePlan", "dense_plan"]


@dataclass(frozen=True)
class DensePlan:
    """An actor-critic of Dense layers: a policy tower (or a shared trunk) and a value tower."""

    shared: bool  # one trunk feeds both heads
    policy_hidden: tuple[int, ...]  # the trunk's sizes when shared
    value_hidden: tuple[int, ...]  # empty when shared
    activation: str

    @property
    def tower_name(self) -> str:
        return "trunk" if self.shared else "policy"

    def policy_layers(self) -> list[tuple[str, str]]:
        """``(layer name, activation)`` from the observation to the logits, in order."""
        hidden = [
            (f"{self.tower_name}_{i}", self.activation) for i in range(len(self.policy_hidden))
        ]
        return [*hidden, ("logits", "linear")]


def dense_plan(config: ModelConfig) -> DensePlan | None:
    """The plan of a built-in model name; None for a user's ``package.module:function``."""
    if config.name == "mlp":
        value = config.value_hidden if config.value_hidden is not None else config.hidden
        return DensePlan(False, config.hidden, value, config.activation)
    if config.name == "shared_mlp":
        return DensePlan(True, config.hidden, (), config.activation)
    if config.name == "seed004_actor_critic":  # seeds 003/004: one shared 128-unit ReLU layer
        return DensePlan(True, (128,), (), "relu")
    if config.name == "seed000_actor_critic":  # seed 000: actor 3 x 320, critic 3 x 640, ReLU
        return DensePlan(False, (320, 320, 320), (640, 640, 640), "relu")
    return None
