"""``python -m distrl.plot LOGDIR``: write LOGDIR/learning_curve.png from the run's episode log.

Exit status 2 when LOGDIR has no episode log or no finished episode.
"""

from __future__ import annotations

import argparse
import sys

from distrl.ops.plot import plot_learning_curve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distrl.plot", description=__doc__)
    parser.add_argument("logdir", help="the run's --logdir")
    parser.add_argument("--title", help="figure title (default: the logdir)")
    args = parser.parse_args(argv)
    try:
        print(plot_learning_curve(args.logdir, args.title))
    except (FileNotFoundError, ValueError) as e:
        print(f"distrl.plot: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
