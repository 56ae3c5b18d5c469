"""DDPG: ``config.py``, exploration ``noise.py``, ``acting.py``, ``networks.py``, ``learning.py``,
and its registry entry below."""

from __future__ import annotations

from distrl.agents.ddpg.acting import noisy_actor_policy
from distrl.agents.ddpg.config import DDPGConfig
from distrl.agents.registry import Algorithm, lazy, register

DDPG = register(
    Algorithm(
        name="ddpg",
        summary="deep deterministic policy gradient from replay; continuous actions",
        action_kinds=("continuous",),
        make_learner=lazy("distrl.agents.ddpg.learning:DDPGLearner"),
        make_policy=noisy_actor_policy,
        config=DDPGConfig,
        replay=True,
        stochastic=False,  # a deterministic actor plus noise: no log-probs
        behaviour_log_probs=False,
        replay_capacity_key="ddpg.buffer_size",
        uses_model=False,  # ddpg.network, actor_hidden, critic_hidden
        references=(
            "Lillicrap et al. 2016, Continuous Control with Deep Reinforcement Learning (DDPG)",
            "seed 003 (a hands-on ML notebook: DDPG on Pendulum): network seed003, tau, "
            "learning rates, OU noise; presets/pendulum-ddpg.yaml",
            "seed 001 (a DDPG tutorial): network seed001",
            "Horgan et al. 2018, Distributed Prioritized Experience Replay (Ape-X-style "
            "collection with mode async)",
        ),
    )
)
