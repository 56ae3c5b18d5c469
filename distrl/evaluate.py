"""``python -m distrl.evaluate``: play a checkpoint's policy on fresh evaluation envs.

    python -m distrl.evaluate --checkpoint runs/ckpt --episodes 10 --deterministic
    python -m distrl.evaluate --checkpoint runs/ckpt --episodes 3 --video videos/

The env is the plain gymnasium env of the run (no exploration noise, no training wrappers), so
returns are raw full-episode returns. It acts with the algorithm's own acting policy: A2C and
REINFORCE sample from it unless ``--deterministic`` (then the most likely action); DDPG's actor
acts without noise either way. Prints one
line per episode and then the mean and standard deviation. Exit status 2, with one line, for a
missing or damaged checkpoint (``policy.keras`` included), an env that cannot be made here, or
an output folder that cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from distrl.config import ConfigError, build_config
from distrl.envs.custom import EnvOptions
from distrl.ops.checkpoint import check_policy_file, read_checkpoint
from distrl.policy import Policy


class EpisodeProgress:
    """A live bar on a terminal; elsewhere a plain line per finished episode."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.live: Progress | None = None
        if sys.stdout.isatty():
            self.live = Progress(
                TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[last]}"), TimeElapsedColumn(),
            )  # fmt: skip
            self.task = self.live.add_task("eval", total=total, last="")

    def __enter__(self) -> EpisodeProgress:
        if self.live is not None:
            self.live.start()
        return self

    def __call__(self, i: int, ret: float, length: int) -> None:
        line = f"episode {i + 1}/{self.total}: return {ret:.1f}, length {length}"
        if self.live is not None:
            self.live.update(self.task, advance=1, last=line)
        else:
            print(line, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distrl.evaluate", description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="a checkpoint, or a directory of them")
    parser.add_argument("--episodes", type=int, default=10, help="episodes to play (default 10)")
    parser.add_argument("--video", metavar="DIR", help="record every episode as MP4 here")
    parser.add_argument(
        "--deterministic", action="store_true", help="A2C: the most likely action, no sampling"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the envs and sampling")
    parser.add_argument("--json", metavar="PATH", help="also write the returns as JSON here")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be >= 1; got {args.episodes}")
    try:
        checkpoint = read_checkpoint(args.checkpoint)
        check_policy_file(checkpoint.path / "policy.keras")
        if args.video is not None:
            try:
                Path(args.video).mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ConfigError(f"--video {args.video!r}: {e.strerror}") from None
        if args.json and not Path(args.json).absolute().parent.is_dir():
            raise ConfigError(f"--json {args.json}: its folder does not exist")
        config = build_config(checkpoint.config, flag_names=True)  # how to make its env
        # The algorithm's own acting policy, as the workers and the service act with it.
        policy = Policy.from_checkpoint(checkpoint.path, seed=args.seed)
    except ConfigError as e:  # CheckpointError included; an env package that cannot be imported
        print(f"distrl.evaluate: error: {e}", file=sys.stderr)
        return 2
    env_id = config.env
    # A deterministic actor (DDPG) is evaluated without its exploration noise either way.
    deterministic = args.deterministic or not policy.algorithm.stochastic

    carried: dict[str, Any] = {"state": None}  # a recurrent policy's, zeroed at each start

    def act(obs: np.ndarray, rng: np.random.Generator) -> Any:
        if not policy.recurrent:
            return policy.act(obs, deterministic=deterministic)
        actions, carried["state"] = policy.act(obs, deterministic, state=carried["state"])
        return actions

    def start() -> None:
        carried["state"] = None

    from distrl.ops.evaluation import evaluate

    try:
        with EpisodeProgress(args.episodes) as show:
            returns = evaluate(
                act, env_id, episodes=args.episodes, seed=args.seed, video_dir=args.video,
                on_episode=show, atari=config.atari, options=EnvOptions.of(config), on_start=start,
            )  # fmt: skip
    except ConfigError as e:  # the env cannot be made here (e.g. its package is not installed)
        print(f"distrl.evaluate: error: {e}", file=sys.stderr)
        return 2
    print(
        f"{env_id}, {checkpoint.path.name}: mean return {returns.mean():.1f} "
        f"± {returns.std():.1f} over {args.episodes} episodes"
    )
    if args.json:
        result = {
            "env": env_id,
            "checkpoint": str(checkpoint.path),
            "returns": returns.tolist(),
            "mean": float(returns.mean()),
            "std": float(returns.std()),
        }
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
