"""Values that change over training: one linear schedule shared by exploration (DQN's epsilon)
and prioritized replay (its importance exponent beta)."""

from __future__ import annotations


def linear(start: float, end: float, steps: int, t: float) -> float:
    """``start`` moving linearly to ``end`` over ``steps`` (of whatever ``t`` counts), then
    ``end``; ``steps <= 0`` is ``end`` from the start."""
    if steps <= 0:
        return end
    return start + (end - start) * min(1.0, t / steps)
