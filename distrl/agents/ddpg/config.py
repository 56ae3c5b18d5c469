"""DDPG's config section (``ddpg.*``): networks, replay, targets, exploration noise and TD3's
switches; and TD3's (``td3.*``): the same keys with the TD3 paper's defaults."""

from __future__ import annotations

from dataclasses import dataclass

from distrl.config.fields import ConfigError, check, check_choice, check_sizes, setting
from distrl.replay.settings import PriorityKeys

DDPG_NETWORKS = ("seed003", "seed001", "mlp")
NOISES = ("ou", "gaussian")


@dataclass(frozen=True)
class DDPGConfig(PriorityKeys):
    network: str = setting(
        "mlp",
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
    actor_hidden: tuple[int, ...] = setting(
        (400, 300), "actor hidden sizes (network: mlp; SB3: 400, 300)"
    )
    critic_hidden: tuple[int, ...] = setting(
        (400, 300), "critic hidden sizes, over observation and action (network: mlp; SB3)"
    )
    gamma: float = setting(0.99, "discount factor (SB3: 0.99)")
    tau: float = setting(
        0.005, "soft target update rate: target <- tau * online + (1 - tau) * target (SB3)"
    )
    actor_lr: float = setting(1e-3, "actor learning rate (Adam; SB3: 1e-3)")
    critic_lr: float = setting(1e-3, "critic learning rate (Adam; SB3: 1e-3)")
    optimizer_eps: float = setting(
        1e-7, "Adam epsilon of both networks (Keras's default; PyTorch's, so SB3's, is 1e-8)"
    )
    buffer_size: int = setting(1_000_000, "replay capacity in transitions (SB3: 1e6)")
    batch_size: int = setting(256, "transitions per gradient step (SB3: 256)")
    learning_starts: int = setting(
        100,
        "env steps stored before training starts (at least batch_size; SB3 starts at 100 and "
        "draws its first batches with repeats); workers act uniformly at random until then",
    )
    replay_ratio: float = setting(
        1.0, "gradient steps per env step once training has started (SB3: train_freq 1, 1 step)"
    )
    noise: str = setting(
        "gaussian",
        "exploration noise: ou (Ornstein-Uhlenbeck) or gaussian (the TD3 paper's, as rl-zoo)",
    )
    noise_sigma: float = setting(
        0.1, "noise scale, as a fraction of the action range's half-width (TD3 paper: 0.1)"
    )
    ou_theta: float = setting(0.15, "OU mean reversion rate")
    ou_mu: float = setting(0.0, "OU long-run mean (fraction of the half-width)")
    ou_dt: float = setting(1e-2, "OU time step")
    twin_critics: bool = setting(
        False, "TD3: two critics, the target is the smaller of their targets (clipped double Q)"
    )
    target_noise: float = setting(
        0.0,
        "TD3: std of the Gaussian noise added to the target actor's action (target policy "
        "smoothing), as a fraction of the action range's half-width; 0 turns it off",
    )
    target_noise_clip: float = setting(
        0.5, "TD3: clip of that noise, as a fraction of the half-width"
    )
    policy_delay: int = setting(
        1, "TD3: critic steps per actor step (the targets move with the actor)"
    )
    xla: bool = setting(True, "XLA-compile the learner's train step (about 2x faster on CPU)")

    def __post_init__(self) -> None:
        check_choice("ddpg.network", self.network, DDPG_NETWORKS)
        check_sizes("ddpg.actor_hidden", self.actor_hidden)
        check_sizes("ddpg.critic_hidden", self.critic_hidden)
        check(0.0 <= self.gamma <= 1.0, f"ddpg.gamma must be in [0, 1]; got {self.gamma}")
        check(0.0 < self.tau <= 1.0, f"ddpg.tau must be in (0, 1]; got {self.tau}")
        check(self.actor_lr > 0, f"ddpg.actor_lr must be > 0; got {self.actor_lr}")
        check(self.critic_lr > 0, f"ddpg.critic_lr must be > 0; got {self.critic_lr}")
        check(self.optimizer_eps > 0, f"ddpg.optimizer_eps must be > 0; got {self.optimizer_eps}")
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
        check(self.target_noise >= 0, f"ddpg.target_noise must be >= 0; got {self.target_noise}")
        check(
            self.target_noise_clip > 0,
            f"ddpg.target_noise_clip must be > 0; got {self.target_noise_clip}",
        )
        check(self.policy_delay >= 1, f"ddpg.policy_delay must be >= 1; got {self.policy_delay}")
        self.check_priorities("ddpg")


@dataclass(frozen=True)
class TD3Config(DDPGConfig):
    """``td3.*``: DDPG's keys with TD3's switches on, defaults of the TD3 paper (Fujimoto et al.
    2018) as Stable-Baselines3's TD3 has them."""

    twin_critics: bool = setting(True, "two critics, min of their targets (TD3: on)")
    target_noise: float = setting(
        0.2, "target policy smoothing noise std, fraction of the half-width (TD3: 0.2)"
    )
    target_noise_clip: float = setting(0.5, "clip of that noise, fraction of the half-width (0.5)")
    policy_delay: int = setting(2, "critic steps per actor and target step (TD3: 2)")

    def __post_init__(self) -> None:
        try:
            super().__post_init__()
        except ConfigError as e:  # the checks are DDPG's: name this section's keys
            raise ConfigError(str(e).replace("ddpg.", "td3.")) from None
