"""The learning curve of a run, from its ``episodes.jsonl``: return against env steps and
against training time, each episode a dot and the mean of the last 20 a line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from distrl.ops.metrics import EPISODES_FILE
from distrl.ops.tracking import RETURN_WINDOW

CURVE_FILE = "learning_curve.png"


def read_episodes(logdir: str | Path) -> dict[str, np.ndarray]:
    path = Path(logdir) / EPISODES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no episode log (was the run started with this logdir?)")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise ValueError(f"{path}: no finished episodes yet")
    return {k: np.array([r[k] for r in rows]) for k in ("time_s", "env_step", "return")}


def plot_learning_curve(logdir: str | Path, title: str | None = None) -> Path:
    """Write ``LOGDIR/learning_curve.png``; returns its path."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    data = read_episodes(logdir)
    returns = data["return"]
    window = np.ones(min(RETURN_WINDOW, len(returns))) / min(RETURN_WINDOW, len(returns))
    mean = np.convolve(returns, window, mode="valid")  # the mean of the last 20 episodes
    tail = len(returns) - len(mean)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, key, label in ((axes[0], "env_step", "env steps"), (axes[1], "time_s", "seconds")):
        x = data[key]
        ax.scatter(x, returns, s=4, alpha=0.3, label="episode return")
        ax.plot(x[tail:], mean, color="C1", label=f"mean of last {RETURN_WINDOW}")
        ax.set_xlabel(f"training {label}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("return (raw)")
    axes[0].legend(loc="lower right")
    fig.suptitle(title or str(logdir))
    fig.tight_layout()
    out = Path(logdir) / CURVE_FILE
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
