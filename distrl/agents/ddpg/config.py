"""DDPG's config section (``ddpg.*``): networks, replay, targets and exploration noise."""

from __future__ import annotations

from dataclasses import dataclass

from distrl.config.fields import check, check_choice, check_sizes, setting

DDPG_NETWORKS = ("seed003", "seed001", "mlp")
NOISES = ("ou", "gaussian")


@dataclass(frozen=True)
class DDPGConfig:
    network: str = setting(
        "seed003",
        "actor and critic: seed003 (actor 256-256, critic state 16-32 + action 32, then 256-256), "
        "seed001 (actor 3x320, critic 3x640 over state and action), or mlp (the sizes below)",
    )
    actor: str | None = setting(
        None,
        "the actor from your builder, package.module:function(spec, ddpg_config) -> keras.Model "
        "of observations to [N, actions] in [-1, 1]; null: from network",
    )
    critic: str | None = setting(
        None,
        "the critic from your builder, package.module:function(spec, ddpg_config) -> keras.Model "
        "of [observations, actions] to [N, 1]; null: from network",
    )
    actor_hidden: tuple[int, ...] = setting((256, 256), "actor hidden sizes (network: mlp)")
    critic_hidden: tuple[int, ...] = setting((256, 256), "critic hidden sizes (network: mlp)")
    gamma: float = setting(0.99, "discount factor")
    tau: float = setting(
        0.005, "soft target update rate: target <- tau * online + (1 - tau) * target"
    )
    actor_lr: float = setting(1e-3, "actor learning rate (Adam)")
    critic_lr: float = setting(2e-3, "critic learning rate (Adam)")
    buffer_size: int = setting(50_000, "replay capacity in transitions")
    batch_size: int = setting(64, "transitions per gradient step")
    learning_starts: int = setting(
        1_000, "env steps stored before training starts; workers act uniformly at random until then"
    )
    replay_ratio: float = setting(1.0, "gradient steps per env step once training has started")
    noise: str = setting("ou", "exploration noise: ou (Ornstein-Uhlenbeck) or gaussian")
    noise_sigma: float = setting(0.2, "noise scale, as a fraction of the action range's half-width")
    ou_theta: float = setting(0.15, "OU mean reversion rate")
    ou_mu: float = setting(0.0, "OU long-run mean (fraction of the half-width)")
    ou_dt: float = setting(1e-2, "OU time step")
    xla: bool = setting(True, "XLA-compile the learner's train step (about 2x faster on CPU)")

    def __post_init__(self) -> None:
        check_choice("ddpg.network", self.network, DDPG_NETWORKS)
        check_sizes("ddpg.actor_hidden", self.actor_hidden)
        check_sizes("ddpg.critic_hidden", self.critic_hidden)
        check(0.0 <= self.gamma <= 1.0, f"ddpg.gamma must be in [0, 1]; got {self.gamma}")
        check(0.0 < self.tau <= 1.0, f"ddpg.tau must be in (0, 1]; got {self.tau}")
        check(self.actor_lr > 0, f"ddpg.actor_lr must be > 0; got {self.actor_lr}")
        check(self.critic_lr > 0, f"ddpg.critic_lr must be > 0; got {self.critic_lr}")
        check(self.batch_size >= 1, f"ddpg.batch_size must be >= 1; got {self.batch_size}")
        check(
            self.buffer_size >= self.batch_size,
            f"ddpg.buffer_size must be >= ddpg.batch_size; got {self.buffer_size}",
        )
        check(
            self.learning_starts >= 0,
            f"ddpg.learning_starts must be >= 0; got {self.learning_starts}",
        )
        check(self.replay_ratio > 0, f"ddpg.replay_ratio must be > 0; got {self.replay_ratio}")
        check_choice("ddpg.noise", self.noise, NOISES)
        check(self.noise_sigma >= 0, f"ddpg.noise_sigma must be >= 0; got {self.noise_sigma}")
        check(self.ou_theta >= 0, f"ddpg.ou_theta must be >= 0; got {self.ou_theta}")
        check(self.ou_dt > 0, f"ddpg.ou_dt must be > 0; got {self.ou_dt}")
