"""Proximal policy optimisation (``--algo ppo``): ``config.py``, ``losses.py`` (the clipped
objective, NumPy-checkable), ``learning.py`` (GAE or V-trace targets, epochs of minibatches),
and its registry entry below. It acts with the shared stochastic policy (``agents/acting.py``)
on the ``model`` section's network."""

from __future__ import annotations

from distrl.agents.acting import stochastic_policy
from distrl.agents.ppo.config import PPOConfig
from distrl.agents.registry import Algorithm, lazy, register

PPO = register(
    Algorithm(
        name="ppo",
        summary="proximal policy optimisation (APPO-style with mode async); discrete, "
        "continuous, multi-discrete or multi-binary actions, masks",
        # continuous: a diagonal Gaussian policy; multi_*: one categorical or Bernoulli per part
        action_kinds=("discrete", "continuous", "multi_discrete", "multi_binary"),
        action_masks=True,
        normalizes=True,
        recurrent=True,
        data_parallel=True,
        make_learner=lazy("distrl.agents.ppo.learning:PPOLearner"),
        make_policy=stochastic_policy,
        config=PPOConfig,
        corrects_lag=True,
        # SB3's n_steps 2048 (one env): the same batch for any number of workers and envs.
        defaults={"samples_per_update": 2048},
        references=(
            "Schulman et al. 2017, Proximal Policy Optimization Algorithms (clipped objective)",
            "Schulman et al. 2016, High-Dimensional Continuous Control Using GAE (gae_lambda)",
            "defaults: Stable-Baselines3 PPO (samples_per_update = SB3's n_steps 2048, gamma, "
            "gae_lambda, clip_range, n_epochs, minibatch_size = SB3 batch_size, lr, Adam eps, "
            "coefficients, SB3's target_kl rule)",
            "lagged data (mode async, overlap): V-trace targets and advantages as in IMPALA "
            "(Espeholt et al. 2018) and RLlib's APPO; the ratio is against the acting policy",
            "presets: rl-zoo's CartPole-v1 PPO (cartpole-ppo), CleanRL's ppo_atari (pong-ppo)",
        ),
    )
)
