"""``python -m distrl.export``: a checkpoint's policy as a ``.keras`` file, a SavedModel and ONNX.

    python -m distrl.export --checkpoint runs/ckpt --keras policy.keras
    python -m distrl.export --checkpoint runs/ckpt --savedmodel policy_savedmodel/
    python -m distrl.export --checkpoint runs/ckpt --onnx policy.onnx   # distrl[export]

The ``.keras`` file uses standard Keras layers only: ``keras.models.load_model`` opens it in a
process without distrl. A2C's model maps observations to ``[logits, value]``; DDPG's actor maps
them to actions in the env's units. The SavedModel (signature ``serving_default``) and the ONNX
file take ``observations`` as the policy sees them, ``[N, *obs]`` in the env's dtype, and
return ``actions`` (greedy, in the env's units) and ``params`` (the model's first output);
normalization and action masks are inside. The checkpoint is checked whole before anything is
written; missing output folders are created. Exit status 2, with one line, for a missing or
damaged checkpoint (its ``meta.json``, ``arrays.npz`` or ``policy.keras``), an output that
exists already, a wrong suffix, or ``--onnx`` without tf2onnx installed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from distrl.config import ConfigError
from distrl.ops.checkpoint import CheckpointError, check_policy_file, read_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m distrl.export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", required=True, help="a checkpoint, or a directory of them")
    parser.add_argument("--keras", metavar="FILE", help="write the policy as a .keras file")
    parser.add_argument("--savedmodel", metavar="DIR", help="write a TensorFlow SavedModel")
    parser.add_argument("--onnx", metavar="FILE", help="write an ONNX model (needs tf2onnx)")
    args = parser.parse_args(argv)
    outputs = {"--keras": args.keras, "--savedmodel": args.savedmodel, "--onnx": args.onnx}
    if not any(outputs.values()):
        parser.error("give --keras FILE, --savedmodel DIR and/or --onnx FILE")
    try:
        checkpoint = read_checkpoint(args.checkpoint)  # the whole one, checked
        source = checkpoint.path / "policy.keras"
        check_policy_file(source)
        for flag, suffix in (("--keras", ".keras"), ("--onnx", ".onnx")):
            out = outputs[flag]
            if out and Path(out).suffix != suffix:
                raise CheckpointError(f"{flag} {out}: the file name must end in {suffix}")
        for out in outputs.values():
            if out and Path(out).exists():
                raise CheckpointError(f"{out} exists already; not overwriting it")
        if args.onnx:
            try:
                import tf2onnx  # noqa: F401
            except ImportError:
                raise CheckpointError(
                    "--onnx needs tf2onnx: pip install 'distrl[export]'"
                ) from None
        served = _served(checkpoint, source) if args.savedmodel or args.onnx else None
        for out in outputs.values():
            if out:
                Path(out).absolute().parent.mkdir(parents=True, exist_ok=True)
        if args.keras:
            shutil.copyfile(source, args.keras)
            print(f"wrote {args.keras}")
        if served is not None:
            from distrl.agents.serving import write_onnx, write_savedmodel

            if args.savedmodel:
                write_savedmodel(*served, args.savedmodel)
                print(f"wrote {args.savedmodel}")
            if args.onnx:
                write_onnx(*served, args.onnx)
                print(f"wrote {args.onnx}")
    except (ConfigError, OSError) as e:  # CheckpointError included
        print(f"distrl.export: error: {e}", file=sys.stderr)
        return 2
    return 0


def _served(checkpoint: Any, source: Path) -> tuple[Any, Any, str]:
    """``(model, spec, greedy)`` of the checkpoint's policy: the spec saved with it (else made
    from its env), the way its algorithm acts greedily."""
    from distrl.agents import registry
    from distrl.agents.serving import load_policy
    from distrl.config import build_config
    from distrl.types import EnvSpec

    config = build_config(checkpoint.config, flag_names=True)
    if checkpoint.spec:
        spec = EnvSpec.from_dict(checkpoint.spec)
    else:
        from distrl.envs import EnvOptions, env_spec

        spec = env_spec(config.env, config.atari, EnvOptions.of(config))
    return load_policy(str(source)), spec, registry.get(config.algo).greedy


if __name__ == "__main__":
    sys.exit(main())
