"""The linear schedule behind DQN's epsilon and prioritized replay's beta."""

import pytest

from distrl.replay.settings import PriorityKeys
from distrl.schedules import linear


def test_linear_moves_from_start_to_end_then_holds():
    assert linear(1.0, 0.1, 100, 0) == 1.0
    assert linear(1.0, 0.1, 100, 50) == pytest.approx(0.55)
    assert linear(1.0, 0.1, 100, 100) == pytest.approx(0.1)
    assert linear(1.0, 0.1, 100, 10_000) == pytest.approx(0.1)
    assert linear(1.0, 0.1, 0, 0) == 0.1  # no steps: the end at once


def test_beta_rises_from_priority_beta_to_one():
    keys = PriorityKeys(priority_beta=0.4, priority_beta_steps=1000)
    assert keys.beta(0) == pytest.approx(0.4)
    assert keys.beta(500) == pytest.approx(0.7)
    assert keys.beta(5000) == pytest.approx(1.0)
