"""DDPG and TD3: ``config.py``, exploration ``noise.py``, ``acting.py``, ``plan.py``,
``networks.py``, ``learning.py``, and their registry entries below (TD3 is DDPG with its three
switches on: ``ddpg.twin_critics``, ``target_noise``, ``policy_delay``)."""

from __future__ import annotations

from distrl.agents.ddpg.acting import noisy_actor_policy
from distrl.agents.ddpg.config import DDPGConfig, TD3Config
from distrl.agents.registry import Algorithm, lazy, register

# SB3 trains one gradient step per env step of one env (train_freq 1, gradient_steps 1):
# replay_ratio 1 over one env per worker, in fragments of 8 steps (1-step fragments halve the
# env steps/s for the same sample efficiency; benchmarks/defaults.py measures both against SB3).
SB3_SAMPLING = {"envs_per_worker": 1, "rollout_len": 8}

DDPG = register(
    Algorithm(
        name="ddpg",
        greedy="output",
        summary="deep deterministic policy gradient from replay; continuous actions",
        action_kinds=("continuous",),
        make_learner=lazy("distrl.agents.ddpg.learning:DDPGLearner"),
        make_policy=noisy_actor_policy,
        config=DDPGConfig,
        replay=True,
        stochastic=False,  # a deterministic actor plus noise: no log-probs
        behaviour_log_probs=False,
        replay_capacity_key="ddpg.buffer_size",
        defaults=SB3_SAMPLING,
        uses_model=False,  # ddpg.network, actor_hidden, critic_hidden
        references=(
            "Lillicrap et al. 2016, Continuous Control with Deep Reinforcement Learning (DDPG)",
            "defaults: Stable-Baselines3's DDPG (TD3 with its switches off: net 400-300, lr "
            "1e-3, batch 256, buffer 1e6, learning_starts 100, tau 0.005) with the TD3 paper's "
            "exploration noise N(0, 0.1), as rl-zoo",
            "seed 003 (a hands-on ML notebook: DDPG on Pendulum): network seed003, tau, "
            "learning rates, OU noise; presets/pendulum-ddpg.yaml",
            "seed 001 (a DDPG tutorial): network seed001",
            "Horgan et al. 2018, Distributed Prioritized Experience Replay (Ape-X-style "
            "collection with mode async)",
        ),
    )
)

TD3 = register(
    Algorithm(
        name="td3",
        greedy="output",
        summary="TD3: DDPG with twin critics, target policy smoothing and delayed actor "
        "updates; continuous actions",
        action_kinds=("continuous",),
        make_learner=lazy("distrl.agents.ddpg.learning:DDPGLearner"),
        make_policy=noisy_actor_policy,
        config=TD3Config,
        replay=True,
        stochastic=False,
        behaviour_log_probs=False,
        replay_capacity_key="td3.buffer_size",
        defaults=SB3_SAMPLING,
        uses_model=False,  # td3.network, actor_hidden, critic_hidden
        references=(
            "Fujimoto et al. 2018, Addressing Function Approximation Error in Actor-Critic "
            "Methods (TD3): twin_critics, target_noise 0.2, target_noise_clip 0.5, "
            "policy_delay 2, exploration noise N(0, 0.1)",
            "defaults otherwise Stable-Baselines3's TD3 (net 400-300, lr 1e-3, batch 256, "
            "buffer 1e6, learning_starts 100, tau 0.005); presets/pendulum-td3.yaml is rl-zoo's",
        ),
    )
)
