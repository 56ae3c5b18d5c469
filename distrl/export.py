"""``python -m distrl.export``: a checkpoint's policy as a ``.keras`` file and a SavedModel.

    python -m distrl.export --checkpoint runs/ckpt --keras policy.keras
    python -m distrl.export --checkpoint runs/ckpt --savedmodel policy_savedmodel/

The ``.keras`` file uses standard Keras layers only: ``keras.models.load_model`` opens it in a
process without distrl. A2C's model maps observations to ``[logits, value]``; DDPG's actor maps
them to actions in the env's units. The SavedModel serves the same function as ``serve``.
Exit status 2, with one line, for a missing or damaged checkpoint (its ``meta.json``,
``arrays.npz`` or ``policy.keras``), an output that exists already or whose folder does not.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from distrl.ops.checkpoint import CheckpointError, check_policy_file, read_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distrl.export", description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="a checkpoint, or a directory of them")
    parser.add_argument("--keras", metavar="FILE", help="write the policy as a .keras file")
    parser.add_argument("--savedmodel", metavar="DIR", help="write a TensorFlow SavedModel")
    args = parser.parse_args(argv)
    if not args.keras and not args.savedmodel:
        parser.error("give --keras FILE and/or --savedmodel DIR")
    try:
        source = read_checkpoint(args.checkpoint).path / "policy.keras"  # the whole one checked
        check_policy_file(source)
        for flag, out in (("--keras", args.keras), ("--savedmodel", args.savedmodel)):
            if out and Path(out).exists():
                raise CheckpointError(f"{out} exists already; not overwriting it")
            if out and not Path(out).absolute().parent.is_dir():
                raise CheckpointError(f"{flag} {out}: its folder does not exist")
        if args.keras:
            shutil.copyfile(source, args.keras)
            print(f"wrote {args.keras}")
        if args.savedmodel:
            from distrl.agents.variables import write_savedmodel

            write_savedmodel(source, args.savedmodel)
            print(f"wrote {args.savedmodel}")
    except (CheckpointError, OSError) as e:
        print(f"distrl.export: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
