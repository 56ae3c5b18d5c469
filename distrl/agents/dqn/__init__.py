"""Deep Q-learning (``--algo dqn``): ``config.py``, ``acting.py`` (epsilon-greedy, with Ape-X's
per-worker rates in mode async), ``learning.py``, and its registry entry below. Its Q network is
the ``model`` section's network (the first head is Q, or the advantages with dueling heads)."""

from __future__ import annotations

from distrl.agents.dqn.acting import epsilon_greedy_policy
from distrl.agents.dqn.config import DQNConfig
from distrl.agents.registry import Algorithm, lazy, register

DQN = register(
    Algorithm(
        name="dqn",
        greedy="argmax",
        summary="deep Q-learning (double, dueling, n-step, prioritized replay; Ape-X with mode "
        "async); discrete actions",
        action_kinds=("discrete",),
        make_learner=lazy("distrl.agents.dqn.learning:DQNLearner"),
        make_policy=epsilon_greedy_policy,
        config=DQNConfig,
        replay=True,
        stochastic=False,  # epsilon-greedy: no log-probs to report
        behaviour_log_probs=False,
        replay_capacity_key="dqn.buffer_size",
        # SB3: one env, a gradient step every 4 env steps (replay_ratio 0.25), here in
        # fragments of 16 steps per worker (4-step fragments spend most of the time on calls).
        defaults={"envs_per_worker": 1, "rollout_len": 16},
        references=(
            "Mnih et al. 2015, Human-level control through deep reinforcement learning (DQN)",
            "van Hasselt et al. 2016, Deep Reinforcement Learning with Double Q-learning "
            "(double_q); Wang et al. 2016, Dueling Network Architectures (dueling)",
            "Schaul et al. 2016, Prioritized Experience Replay (prioritized, priority_*)",
            "Horgan et al. 2018, Distributed Prioritized Experience Replay (Ape-X: mode async, "
            "apex_epsilon, apex_alpha, replay_shards)",
            "defaults: Stable-Baselines3's DQN (lr 1e-4, buffer 1e6, learning_starts 100, batch "
            "32, train_freq 4, target_update_interval 10000, epsilon 1 -> 0.05, Huber loss, "
            "max_grad_norm 10, epsilon over exploration_fraction 0.1 of the step budget)",
            "presets: rl-zoo's CartPole-v1 DQN (cartpole-dqn), the same in Ape-X mode with 4 "
            "workers and 2 replay shards (cartpole-apex), rl-zoo's Atari DQN in Ape-X mode "
            "(pong-dqn)",
        ),
    )
)
