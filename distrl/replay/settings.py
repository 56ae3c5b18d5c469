"""The keys of prioritized replay, shared by the sections of every algorithm that learns from
replay (``dqn``, ``ddpg``, ``td3``, ``sac``): a section's dataclass inherits them."""

from __future__ import annotations

from dataclasses import dataclass

from distrl.config.fields import check, check_at_least, setting
from distrl.schedules import linear


@dataclass(frozen=True)
class PriorityKeys:
    prioritized: bool = setting(
        False, "replay in proportion to TD error (proportional prioritized replay, Schaul et al.)"
    )
    priority_alpha: float = setting(0.6, "prioritized: priority exponent alpha (Schaul: 0.6)")
    priority_beta: float = setting(
        0.4, "prioritized: importance-weight exponent beta at the start (Schaul: 0.4)"
    )
    priority_beta_steps: int = setting(
        100_000, "prioritized: env steps over which beta rises linearly to 1"
    )
    priority_eps: float = setting(1e-6, "prioritized: added to |TD error| for the priority")
    replay_shards: int = setting(
        0,
        "0: the replay lives in the learner; N: in N replay actors spread over the nodes (Ray "
        "workers only), each holding buffer_size / N, sampled in proportion to their total "
        "priority (Ape-X)",
    )

    def beta(self, added: int) -> float:
        """The importance exponent once ``added`` transitions were stored."""
        return linear(self.priority_beta, 1.0, self.priority_beta_steps, added)

    def check_priorities(self, section: str) -> None:
        """One line naming ``section.key`` for a bad priority setting."""
        check_at_least(f"{section}.priority_alpha", self.priority_alpha, 0)
        check(
            0.0 <= self.priority_beta <= 1.0,
            f"{section}.priority_beta must be in [0, 1]; got {self.priority_beta}",
        )
        check_at_least(f"{section}.priority_beta_steps", self.priority_beta_steps, 1)
        check_at_least(f"{section}.priority_eps", self.priority_eps, 0, strict=True)
        check_at_least(f"{section}.replay_shards", self.replay_shards, 0)
