"""REINFORCE's config section (``pg.*``)."""

from __future__ import annotations

from dataclasses import dataclass

from distrl.config.fields import check, check_choice, setting
from distrl.schedules import SCHEDULABLE, Schedule, check_schedule

PG_NORMALIZE = ("standardize", "std", "none")


@dataclass(frozen=True)
class PGConfig:
    gamma: float = setting(0.99, "discount factor of the Monte Carlo returns")
    lr: float | Schedule = setting(1e-3, "learning rate (Adam)" + SCHEDULABLE)
    episodes_per_update: int = setting(1, "complete episodes per gradient step")
    normalize: str = setting(
        "standardize",
        "returns per update: standardize (minus mean, over std), std (over the std of the "
        "centred returns only, as seed 002), or none",
    )
    baseline: bool = setting(False, "subtract the value head's V(s) from the return (and train it)")
    value_coef: float = setting(0.5, "weight of the value loss (baseline)")
    entropy_coef: float = setting(0.0, "weight of the entropy bonus")
    reset_at_reward: bool = setting(
        False, "restart the discounted sum at every non-zero reward (Pong's points, seed 002)"
    )
    max_grad_norm: float | None = setting(None, "global-norm gradient clip (null disables)")
    chunk: int = setting(4096, "steps per forward/backward pass; gradients are summed over chunks")

    def __post_init__(self) -> None:
        check(0.0 <= self.gamma <= 1.0, f"pg.gamma must be in [0, 1]; got {self.gamma}")
        check_schedule("pg.lr", self.lr, 0, strict=True)
        check(
            self.episodes_per_update >= 1,
            f"pg.episodes_per_update must be >= 1; got {self.episodes_per_update}",
        )
        check_choice("pg.normalize", self.normalize, PG_NORMALIZE)
        check(self.value_coef >= 0, f"pg.value_coef must be >= 0; got {self.value_coef}")
        check(self.entropy_coef >= 0, f"pg.entropy_coef must be >= 0; got {self.entropy_coef}")
        check(self.chunk >= 1, f"pg.chunk must be >= 1; got {self.chunk}")
        check(
            self.max_grad_norm is None or self.max_grad_norm > 0,
            f"pg.max_grad_norm must be > 0 or null; got {self.max_grad_norm}",
        )
