"""REINFORCE (``--algo pg``): Monte Carlo policy gradient on complete episodes.

``config.py``, ``returns.py``, ``learning.py``; it acts with the shared stochastic policy
(``agents/acting.py``).
"""

from __future__ import annotations

from distrl.agents.acting import stochastic_policy
from distrl.agents.pg.config import PGConfig
from distrl.agents.registry import Algorithm, lazy, register

PG = register(
    Algorithm(
        name="pg",
        summary="REINFORCE on complete episodes; discrete, multi-discrete or multi-binary "
        "actions, masks",
        action_kinds=("discrete", "multi_discrete", "multi_binary"),
        action_masks=True,
        normalizes=True,
        make_learner=lazy("distrl.agents.pg.learning:PGLearner"),
        make_policy=stochastic_policy,
        config=PGConfig,
        behaviour_log_probs=False,  # on-policy Monte Carlo: nothing to correct with
        references=(
            "Williams 1992, Simple Statistical Gradient-Following Algorithms (REINFORCE)",
            "seed 002 (a deep policy gradient notebook: REINFORCE on Pong): normalize std, "
            "reset_at_reward, presets/pong-pg.yaml",
        ),
    )
)
