"""Soft actor-critic (``--algo sac``): ``config.py``, ``acting.py`` (the squashed Gaussian in
NumPy), ``learning.py``, and its registry entry below. The squashed Gaussian itself is in the
shared distributions layer (``distrl/distributions/squashed.py``)."""

from __future__ import annotations

from distrl.agents.registry import Algorithm, lazy, register
from distrl.agents.sac.acting import squashed_gaussian_policy
from distrl.agents.sac.config import SACConfig

SAC = register(
    Algorithm(
        name="sac",
        greedy="squashed",
        summary="soft actor-critic with a learned entropy coefficient, from replay "
        "(Ape-X-style collection with mode async); continuous actions",
        action_kinds=("continuous",),
        make_learner=lazy("distrl.agents.sac.learning:SACLearner"),
        make_policy=squashed_gaussian_policy,
        config=SACConfig,
        replay=True,
        stochastic=False,  # its log-probs are of squashed samples, not used by the learner
        behaviour_log_probs=False,
        replay_capacity_key="sac.buffer_size",
        uses_model=False,  # sac.actor_hidden, sac.critic_hidden
        # SB3: one env, a gradient step per env step, in fragments of 8 steps per worker.
        defaults={"envs_per_worker": 1, "rollout_len": 8},
        references=(
            "Haarnoja et al. 2018, Soft Actor-Critic Algorithms and Applications (twin "
            "critics, squashed Gaussian with the log-prob correction, automatic alpha with "
            "target entropy -|A|)",
            "defaults: Stable-Baselines3's SAC (net 256-256, lr 3e-4 for all three, buffer 1e6, "
            "learning_starts 100, batch 256, tau 0.005, ent_coef auto from 1.0)",
            "presets: rl-zoo's Pendulum-v1 SAC (pendulum-sac)",
        ),
    )
)
