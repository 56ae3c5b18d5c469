"""The driver's TensorBoard writer: readable by TensorBoard, and TensorFlow-free."""

from __future__ import annotations

import subprocess
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

WRITE = """
import sys
import numpy as np
from distrl.ops.metrics import MetricsLogger
from distrl.ops.tracking import TrainingProgress
from distrl.types import UpdateResult

logger = MetricsLogger(sys.argv[1], interval=0.0)
state = TrainingProgress()
for step in range(1, 4):
    state.record(UpdateResult(
        version=step, env_steps=100, episode_returns=np.array([float(step)]),
        episode_lengths=np.array([10]), episode_workers=np.array([0]),
        metrics={"learner/entropy": 1.0 / step},
    ))
    logger(state)
logger.close(state)
print("tensorflow" in sys.modules)
"""


def test_event_files_are_written_without_tensorflow_and_read_back_by_tensorboard(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", WRITE, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"  # the driver never pays for importing TensorFlow
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    entropy = events.Scalars("learner/entropy")
    # Written at every update (interval 0) and once more on close, against env steps.
    assert [e.step for e in entropy] == [100, 200, 300, 300]
    assert [round(e.value, 4) for e in entropy] == [1.0, 0.5, 0.3333, 0.3333]
    assert [e.value for e in events.Scalars("charts/episode_return")] == [1.0, 2.0, 3.0]
