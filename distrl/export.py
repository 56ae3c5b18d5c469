"""``python -m distrl.export``: a checkpoint's policy as a ``.keras`` file and a SavedModel.

    python -m distrl.export --checkpoint runs/ckpt --keras policy.keras
    python -m distrl.export --checkpoint runs/ckpt --savedmodel policy_savedmodel/

The ``.keras`` file uses standard Keras layers only: ``keras.models.load_model`` opens it in a
process without distrl. A2C's model maps observations to ``[logits, value]``; DDPG's actor maps
them to actions in the env's units. The SavedModel serves the same function as ``serve``.
Exit status 2 for a missing or damaged checkpoint, or an output that exists already.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from distrl.ops.checkpoint import CheckpointError, resolve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distrl.export", description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="a checkpoint, or a directory of them")
    parser.add_argument("--keras", metavar="FILE", help="write the policy as a .keras file")
    parser.add_argument("--savedmodel", metavar="DIR", help="write a TensorFlow SavedModel")
    args = parser.parse_args(argv)
    if not args.keras and not args.savedmodel:
        parser.error("give --keras FILE and/or --savedmodel DIR")
    try:
        source = resolve(args.checkpoint) / "policy.keras"
        if not source.is_file():
            raise CheckpointError(f"{source}: missing")
        for out in (args.keras, args.savedmodel):
            if out and Path(out).exists():
                raise CheckpointError(f"{out} exists already; not overwriting it")
    except CheckpointError as e:
        print(f"distrl.export: error: {e}", file=sys.stderr)
        return 2
    if args.keras:
        shutil.copyfile(source, args.keras)
        print(f"wrote {args.keras}")
    if args.savedmodel:
        from distrl.agents.variables import write_savedmodel

        write_savedmodel(source, args.savedmodel)
        print(f"wrote {args.savedmodel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
