"""A2C/A3C's config section (``a2c.*``): the loss, the optimizer and V-trace's clips."""

from __future__ import annotations

from dataclasses import dataclass

from distrl.config.fields import check, check_choice, setting
from distrl.schedules import SCHEDULABLE, Schedule, check_schedule

ADVANTAGE_ESTIMATORS = ("gae", "nstep")
VALUE_LOSSES = ("mse", "huber")
OPTIMIZERS = ("adam", "rmsprop")


@dataclass(frozen=True)
class A2CConfig:
    gamma: float = setting(0.99, "discount factor")
    advantage: str = setting(
        "gae", "advantage estimator: gae or nstep (bootstrapped at fragment end)"
    )
    gae_lambda: float = setting(0.95, "GAE lambda (1.0 gives n-step returns)")
    value_loss: str = setting("mse", "value loss: mse or huber")
    value_coef: float = setting(
        0.25, "weight of the value loss (a plain mean squared error, as SB3; SB3 default 0.5)"
    )
    entropy_coef: float = setting(0.0, "weight of the entropy bonus")
    optimizer: str = setting("adam", "adam or rmsprop")
    lr: float | Schedule = setting(3e-3, "learning rate" + SCHEDULABLE)
    optimizer_eps: float = setting(1e-5, "epsilon of the optimizer")
    rmsprop_rho: float = setting(0.99, "RMSprop decay")
    rmsprop_ms_init: float = setting(
        0.0,
        "starting value of RMSprop's mean-square accumulators: 0 as Keras, 1 as TF1's "
        "RMSPropOptimizer and SB3's RMSpropTFLike (small steps until it decays)",
    )
    max_grad_norm: float | None = setting(0.5, "global-norm gradient clip (null disables)")
    normalize_advantages: bool = setting(True, "standardise advantages per update batch")
    vtrace_rho_bar: float = setting(1.0, "V-trace: clip of the importance weights rho (rho-bar)")
    vtrace_c_bar: float = setting(1.0, "V-trace: clip of the trace coefficients c (c-bar)")

    def __post_init__(self) -> None:
        check(0.0 <= self.gamma <= 1.0, f"a2c.gamma must be in [0, 1]; got {self.gamma}")
        check(
            0.0 <= self.gae_lambda <= 1.0,
            f"a2c.gae_lambda must be in [0, 1]; got {self.gae_lambda}",
        )
        check_choice("a2c.advantage", self.advantage, ADVANTAGE_ESTIMATORS)
        check_choice("a2c.value_loss", self.value_loss, VALUE_LOSSES)
        check_choice("a2c.optimizer", self.optimizer, OPTIMIZERS)
        check_schedule("a2c.lr", self.lr, 0, strict=True)
        check(self.optimizer_eps > 0, f"a2c.optimizer_eps must be > 0; got {self.optimizer_eps}")
        check(
            0.0 < self.rmsprop_rho < 1.0,
            f"a2c.rmsprop_rho must be in (0, 1); got {self.rmsprop_rho}",
        )
        check(
            self.rmsprop_ms_init >= 0,
            f"a2c.rmsprop_ms_init must be >= 0; got {self.rmsprop_ms_init}",
        )
        check(self.value_coef >= 0, f"a2c.value_coef must be >= 0; got {self.value_coef}")
        check(self.entropy_coef >= 0, f"a2c.entropy_coef must be >= 0; got {self.entropy_coef}")
        check(self.vtrace_rho_bar > 0, f"a2c.vtrace_rho_bar must be > 0; got {self.vtrace_rho_bar}")
        check(self.vtrace_c_bar > 0, f"a2c.vtrace_c_bar must be > 0; got {self.vtrace_c_bar}")
        check(
            self.max_grad_norm is None or self.max_grad_norm > 0,
            f"a2c.max_grad_norm must be > 0 or null; got {self.max_grad_norm}",
        )
