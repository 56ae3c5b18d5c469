"""SAC's config section (``sac.*``). Defaults are Stable-Baselines3's SAC defaults."""

from __future__ import annotations

from dataclasses import dataclass

from distrl.config.fields import check, check_at_least, check_sizes, setting
from distrl.replay.settings import PriorityKeys


@dataclass(frozen=True)
class SACConfig(PriorityKeys):
    actor_hidden: tuple[int, ...] = setting((256, 256), "actor hidden sizes, ReLU (SB3: 256, 256)")
    critic_hidden: tuple[int, ...] = setting(
        (256, 256), "each critic's hidden sizes over observation and action, ReLU (SB3)"
    )
    gamma: float = setting(0.99, "discount factor (SB3: 0.99)")
    tau: float = setting(0.005, "soft target update rate, every gradient step (SB3: 0.005)")
    lr: float = setting(3e-4, "Adam learning rate of the actor, the critics and alpha (SB3)")
    buffer_size: int = setting(1_000_000, "replay capacity in transitions (SB3: 1e6)")
    batch_size: int = setting(256, "transitions per gradient step (SB3: 256)")
    learning_starts: int = setting(
        100,
        "env steps stored before training starts (at least batch_size; SB3 starts at 100 and "
        "draws its first batches with repeats); workers act at random until then",
    )
    replay_ratio: float = setting(
        1.0, "gradient steps per env step (SB3: train_freq 1, gradient_steps 1)"
    )
    initial_alpha: float = setting(1.0, "the entropy coefficient alpha at the start (SB3: 1.0)")
    learn_alpha: bool = setting(
        True, "tune alpha so the policy's entropy tracks target_entropy (SB3: ent_coef auto)"
    )
    target_entropy: float | None = setting(
        None, "the entropy alpha's tuning aims at (null: -number of action dimensions, as SB3)"
    )
    log_std_min: float = setting(-20.0, "clip of the actor's log-std from below (SB3: -20)")
    log_std_max: float = setting(2.0, "clip of the actor's log-std from above (SB3: 2)")
    xla: bool = setting(False, "XLA-compile the train step (it compiles per update size)")

    def __post_init__(self) -> None:
        check_sizes("sac.actor_hidden", self.actor_hidden)
        check_sizes("sac.critic_hidden", self.critic_hidden)
        check(0.0 <= self.gamma <= 1.0, f"sac.gamma must be in [0, 1]; got {self.gamma}")
        check(0.0 < self.tau <= 1.0, f"sac.tau must be in (0, 1]; got {self.tau}")
        check(self.lr > 0, f"sac.lr must be > 0; got {self.lr}")
        check_at_least("sac.buffer_size", self.buffer_size, 1)
        check_at_least("sac.batch_size", self.batch_size, 1)
        check_at_least("sac.learning_starts", self.learning_starts, 0)
        check_at_least("sac.replay_ratio", self.replay_ratio, 0, strict=True)
        check_at_least("sac.initial_alpha", self.initial_alpha, 0, strict=True)
        check(
            self.log_std_min < self.log_std_max,
            f"sac.log_std_min must be below sac.log_std_max; got {self.log_std_min}, "
            f"{self.log_std_max}",
        )
        self.check_priorities("sac")


def actor_layers(config: SACConfig) -> list[tuple[str, str]]:
    """The actor's ``(layer name, activation)`` chain to ``[mean, log_std]``: read by the Keras
    builder and by the workers' NumPy forward pass, so the two agree."""
    hidden = [(f"actor_{i}", "relu") for i in range(len(config.actor_hidden))]
    return [*hidden, ("actor_out", "linear")]
