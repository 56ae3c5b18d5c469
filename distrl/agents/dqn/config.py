"""DQN's config section (``dqn.*``). Defaults are Stable-Baselines3's DQN defaults, except
where a line says otherwise; the extensions (double Q, dueling heads, n-step returns,
prioritized replay) are switches, off by default as in SB3."""

from __future__ import annotations

from dataclasses import dataclass, replace

from distrl.config.fields import check, check_at_least, setting
from distrl.replay.settings import PriorityKeys

# Epsilon's schedule when the run has no step budget to take a fraction of (SB3's 0.1 of 1e5).
NO_BUDGET_EXPLORATION = 10_000


@dataclass(frozen=True)
class DQNConfig(PriorityKeys):
    gamma: float = setting(0.99, "discount factor (SB3: 0.99)")
    lr: float = setting(1e-4, "Adam learning rate (SB3: 1e-4)")
    optimizer_eps: float = setting(1e-8, "Adam epsilon (SB3, PyTorch's default: 1e-8)")
    buffer_size: int = setting(1_000_000, "replay capacity in transitions (SB3: 1e6)")
    batch_size: int = setting(32, "transitions per gradient step (SB3: 32)")
    learning_starts: int = setting(
        100,
        "env steps stored before training starts (and at least batch_size); workers act at "
        "random until then (SB3: 100)",
    )
    replay_ratio: float = setting(
        0.25, "gradient steps per env step (SB3: train_freq 4, gradient_steps 1)"
    )
    target_update_interval: int = setting(
        10_000, "env steps between target network updates (SB3: 10000)"
    )
    tau: float = setting(
        1.0, "target <- tau * online + (1 - tau) * target at each target update (1: a copy)"
    )
    exploration_initial_eps: float = setting(1.0, "epsilon at the start (SB3: 1.0)")
    exploration_final_eps: float = setting(0.05, "epsilon after the schedule (SB3: 0.05)")
    exploration_fraction: float = setting(
        0.1, "with exploration_steps null: the share of max_steps epsilon falls over (SB3: 0.1)"
    )
    exploration_steps: int | None = setting(
        None,
        "env steps over which epsilon falls linearly to its final value (null: "
        f"exploration_fraction of max_steps, or {NO_BUDGET_EXPLORATION:,} without max_steps)",
    )
    max_grad_norm: float | None = setting(10.0, "global-norm gradient clip (SB3: 10)")
    loss: str = setting("huber", "TD loss: huber (SB3's smooth L1) or mse")
    double_q: bool = setting(
        False, "double DQN: the online network picks the next action, the target rates it"
    )
    dueling: bool = setting(
        False, "dueling heads: Q = V + A - mean(A) from the model's value and action heads"
    )
    n_step: int = setting(1, "steps summed before bootstrapping (Ape-X: 3)")
    apex_epsilon: float = setting(
        0.4, "mode async (Ape-X): worker i of N explores with eps^(1 + alpha * i / (N - 1))"
    )
    apex_alpha: float = setting(7.0, "mode async (Ape-X): the alpha of that formula")
    xla: bool = setting(
        False,
        "XLA-compile the train step (it compiles again for each new number of gradient "
        "steps per update: slower for DQN on CPU)",
    )

    def __post_init__(self) -> None:
        check(0.0 <= self.gamma <= 1.0, f"dqn.gamma must be in [0, 1]; got {self.gamma}")
        check(self.lr > 0, f"dqn.lr must be > 0; got {self.lr}")
        check(self.optimizer_eps > 0, f"dqn.optimizer_eps must be > 0; got {self.optimizer_eps}")
        check_at_least("dqn.buffer_size", self.buffer_size, 1)
        check_at_least("dqn.batch_size", self.batch_size, 1)
        check_at_least("dqn.learning_starts", self.learning_starts, 0)
        check_at_least("dqn.replay_ratio", self.replay_ratio, 0, strict=True)
        check_at_least("dqn.target_update_interval", self.target_update_interval, 1)
        check(0.0 < self.tau <= 1.0, f"dqn.tau must be in (0, 1]; got {self.tau}")
        for key in ("exploration_initial_eps", "exploration_final_eps", "apex_epsilon"):
            value = getattr(self, key)
            check(0.0 <= value <= 1.0, f"dqn.{key} must be in [0, 1]; got {value}")
        check_at_least("dqn.exploration_steps", self.exploration_steps, 0)
        fraction = self.exploration_fraction
        check(0.0 <= fraction <= 1.0, f"dqn.exploration_fraction must be in [0, 1]; got {fraction}")
        check_at_least("dqn.max_grad_norm", self.max_grad_norm, 0, strict=True)
        check(self.loss in ("huber", "mse"), f"dqn.loss must be huber or mse; got {self.loss!r}")
        check_at_least("dqn.n_step", self.n_step, 1)
        self.check_priorities("dqn")
        check_at_least("dqn.apex_alpha", self.apex_alpha, 0)

    def for_budget(self, max_steps: int | None) -> DQNConfig:
        """This section with ``exploration_steps`` resolved for a run of ``max_steps``."""
        if self.exploration_steps is not None:
            return self
        steps = (NO_BUDGET_EXPLORATION if max_steps is None
                 else round(self.exploration_fraction * max_steps))  # fmt: skip
        return replace(self, exploration_steps=steps)


def apex_epsilon(config: DQNConfig, index: int, workers: int) -> float:
    """Ape-X's exploration rate of worker ``index`` of ``workers`` (Horgan et al. 2018)."""
    if workers <= 1:
        return config.apex_epsilon
    return config.apex_epsilon ** (1 + config.apex_alpha * index / (workers - 1))
