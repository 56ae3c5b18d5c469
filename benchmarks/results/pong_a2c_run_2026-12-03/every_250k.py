"""every_250k.txt from a run's folder: the last-20 mean raw score and the learner's diagnostics
at every 250k agent steps.

    python benchmarks/results/pong_a2c_run_2026-12-03/every_250k.py RUN_DIR
"""

import json
import sys
from pathlib import Path

STEP = 250_000


def read(path: Path) -> list[dict]:
    with path.open() as f:
        return [json.loads(line) for line in f]


def main(run: Path) -> None:
    episodes, progress = read(run / "episodes.jsonl"), read(run / "progress.jsonl")
    mark = STEP
    while True:
        before = [e for e in episodes if e["env_step"] <= mark]
        reports = [p for p in progress if p["env_steps"] <= mark]
        if not reports or reports[-1]["env_steps"] < mark - 50_000:
            break
        last, q = before[-20:], reports[-1]
        mean = sum(e["return"] for e in last) / max(1, len(last))
        print(
            f"{mark:>9,} games {len(before):5d} last20 {mean:6.2f} "
            f"entropy {q.get('learner/entropy', float('nan')):.3f} "
            f"ev {q.get('learner/explained_variance', float('nan')):.2f} "
            f"vloss {q.get('learner/value_loss', float('nan')):.4f} "
            f"gn {q.get('learner/grad_norm', float('nan')):.3f} "
            f"t {q['time_s']:.0f}s rate {q['steps_per_s']:.0f}"
        )
        mark += STEP
    q = progress[-1]
    mean = sum(e["return"] for e in episodes[-20:]) / 20
    print(f"end {q['env_steps']:,} games {len(episodes)} last20 {mean:.2f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
