"""PPO's config section (``ppo.*``). Defaults are Stable-Baselines3's PPO defaults (which CleanRL
shares for its classic-control script), except where a line says otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from distrl.config.fields import check, setting
from distrl.schedules import SCHEDULABLE, Schedule, check_schedule


@dataclass(frozen=True)
class PPOConfig:
    gamma: float = setting(0.99, "discount factor (SB3: 0.99)")
    gae_lambda: float = setting(0.95, "GAE lambda (SB3: 0.95)")
    clip_range: float | Schedule = setting(
        0.2, "clip of the probability ratio, epsilon (SB3: 0.2)" + SCHEDULABLE
    )
    clip_range_vf: float | None = setting(
        None,
        "clip of the value change from the acting values, in reward units, as SB3 (null: no "
        "value clipping, SB3's default)",
    )
    n_epochs: int = setting(10, "passes over each batch (SB3: 10)")
    minibatch_size: int = setting(64, "samples per gradient step (SB3's batch_size: 64)")
    lr: float | Schedule = setting(3e-4, "Adam learning rate (SB3: 3e-4)" + SCHEDULABLE)
    optimizer_eps: float = setting(1e-5, "Adam epsilon (SB3 and CleanRL: 1e-5)")
    entropy_coef: float | Schedule = setting(
        0.0, "weight of the entropy bonus (SB3: 0.0)" + SCHEDULABLE
    )
    value_coef: float = setting(0.5, "weight of the value loss, a plain MSE (SB3: 0.5)")
    max_grad_norm: float | None = setting(0.5, "global-norm gradient clip (SB3: 0.5)")
    target_kl: float | None = setting(
        None,
        "stop the epochs of a batch early once the approximate KL passes 1.5 x this "
        "(SB3's rule; null: never)",
    )
    normalize_advantages: bool = setting(True, "standardise advantages per minibatch (SB3)")
    vtrace_rho_bar: float = setting(
        1.0, "lagged data (async, overlap): V-trace's clip of the importance weights"
    )
    vtrace_c_bar: float = setting(1.0, "lagged data: V-trace's clip of the trace coefficients")

    def __post_init__(self) -> None:
        check(0.0 <= self.gamma <= 1.0, f"ppo.gamma must be in [0, 1]; got {self.gamma}")
        check(
            0.0 <= self.gae_lambda <= 1.0,
            f"ppo.gae_lambda must be in [0, 1]; got {self.gae_lambda}",
        )
        check_schedule("ppo.clip_range", self.clip_range, 0, strict=True)
        check(
            self.clip_range_vf is None or self.clip_range_vf > 0,
            f"ppo.clip_range_vf must be > 0 or null; got {self.clip_range_vf}",
        )
        check(self.n_epochs >= 1, f"ppo.n_epochs must be >= 1; got {self.n_epochs}")
        check(
            self.minibatch_size >= 1,
            f"ppo.minibatch_size must be >= 1; got {self.minibatch_size}",
        )
        check_schedule("ppo.lr", self.lr, 0, strict=True)
        check(self.optimizer_eps > 0, f"ppo.optimizer_eps must be > 0; got {self.optimizer_eps}")
        check_schedule("ppo.entropy_coef", self.entropy_coef, 0, strict=False)
        check(self.value_coef >= 0, f"ppo.value_coef must be >= 0; got {self.value_coef}")
        check(
            self.max_grad_norm is None or self.max_grad_norm > 0,
            f"ppo.max_grad_norm must be > 0 or null; got {self.max_grad_norm}",
        )
        check(
            self.target_kl is None or self.target_kl > 0,
            f"ppo.target_kl must be > 0 or null; got {self.target_kl}",
        )
        check(self.vtrace_rho_bar > 0, f"ppo.vtrace_rho_bar must be > 0; got {self.vtrace_rho_bar}")
        check(self.vtrace_c_bar > 0, f"ppo.vtrace_c_bar must be > 0; got {self.vtrace_c_bar}")
