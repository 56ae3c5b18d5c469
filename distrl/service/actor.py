"""``python -m distrl.actor``: an external actor that trains through the service.

    python -m distrl.launch --workers 0 --serve 127.0.0.1:50051      # the learner
    python -m distrl.actor --server 127.0.0.1:50051 --envs 4           # experience from here

It runs gymnasium envs in this plain process (no Ray), asks the service for actions (``Act``),
and pushes fixed-length fragments (``PushRollout``) that the learner trains on exactly like its
own workers' (the same env handling: autoreset, true final observations, env-error recovery).
When the learner's backlog is full it waits and retries. Exit status 2 for bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from typing import Any

import grpc
import numpy as np

from distrl.config import ConfigError, build_config
from distrl.config.loading import parse_value
from distrl.envs import EnvOptions, env_spec
from distrl.service.client import Client

log = logging.getLogger("distrl.actor")


class RemotePolicy:
    """The Policy interface of a rollout worker, answered by the service's ``Act``."""

    def __init__(self, client: Client, num_envs: int = 1, state_size: int = 0) -> None:
        self.client = client
        self.oldest_version: int | None = None  # oldest weights version acted with, this fragment
        # A recurrent policy's state per env copy: sent with each Act, replaced by the answer's.
        self.state = np.zeros((num_envs, state_size), np.float32) if state_size else None

    def set_weights(self, message: object) -> None:
        """The service holds the weights; nothing to load here."""

    def _act(self, obs: np.ndarray, deterministic: bool) -> tuple:
        actions, logp, next_state, version = self.client.act_with_state(
            obs, deterministic, self.state
        )
        if self.state is not None and next_state is not None:
            self.state = next_state
        return actions, logp, version

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        actions, logp, version = self._act(obs, False)
        if self.oldest_version is None or version < self.oldest_version:
            self.oldest_version = version
        return actions, (logp if logp is not None else np.zeros(len(obs), np.float32))

    def act_greedy(self, obs: np.ndarray) -> np.ndarray:
        return self._act(obs, True)[0]

    def fragment_state(self) -> np.ndarray | None:
        """The state each env copy's next step starts from (pushed with the fragment)."""
        return None if self.state is None else self.state.copy()

    def episodes_ended(self, envs: np.ndarray) -> None:
        """A recurrent policy's next episodes start from zero states."""
        if self.state is not None:
            self.state[envs] = 0.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m distrl.actor",
        description="An external actor that trains through the service.",
    )
    parser.add_argument("--server", required=True, help="the service's HOST:PORT")
    parser.add_argument("--env", help="gymnasium env id (default: the service's)")
    parser.add_argument(
        "--env-imports",
        nargs="+",
        default=[],
        metavar="MODULE",
        help="modules to import first (they register the env's id)",
    )
    parser.add_argument(
        "--env-kwargs",
        default="{}",
        metavar="YAML",
        help="keyword arguments for gymnasium.make, e.g. '{size: 8}'",
    )
    parser.add_argument(
        "--env-wrappers",
        default="[]",
        metavar="YAML",
        help="gymnasium wrappers applied in order: a YAML list of "
        "package.module:Name or {name: ..., kwargs: {...}}",
    )
    parser.add_argument("--envs", type=int, default=4, help="env copies (default: %(default)s)")
    parser.add_argument("--max-steps", type=int, help="stop after this many env steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--token", default=os.environ.get("DISTRL_TOKEN"),
                        help="bearer token (default: $DISTRL_TOKEN)")  # fmt: skip
    parser.add_argument("--tls-ca", help="PEM certificate(s) to trust for a TLS server")
    parser.add_argument("--json", metavar="PATH", help="write the episode returns here at the end")
    return parser


def run_actor(
    client: Client,
    env_id: str | None,
    envs: int,
    max_steps: int | None,
    seed: int = 0,
    env_keys: dict[str, Any] | None = None,
) -> list[float]:
    """Act and push until ``max_steps`` (or Ctrl-C); the raw returns of finished episodes.
    ``env_keys``: ``env_imports``, ``env_kwargs`` and ``env_wrappers``, as in a run's config."""
    from distrl.rollout import RolloutWorker

    spec_remote = client.spec()
    env = env_id or spec_remote.env_id
    config = build_config({"env": env, "algo": spec_remote.algo, "envs_per_worker": envs,
                           "rollout_len": spec_remote.rollout_len, **(env_keys or {})})  # fmt: skip
    spec = env_spec(env, None, EnvOptions.of(config))
    if (spec.observation_shape != spec_remote.observation_shape
            or spec.action_kind != spec_remote.action_kind
            or spec.action_nvec != spec_remote.action_nvec):  # fmt: skip
        raise ConfigError(f"env {env!r} does not match the service's {spec_remote.env_id!r}")
    worker = RolloutWorker(settings=config.rollout_settings(), algorithm=config.algo, spec=spec,
                           worker_index=-1, seed=np.random.SeedSequence(seed))  # fmt: skip
    policy = RemotePolicy(client, worker.num_envs, spec_remote.state_size)
    worker.policy = policy
    worker.version = 0  # acting needs no local weights
    returns: list[float] = []
    steps, last_report = 0, time.monotonic()
    try:
        while max_steps is None or steps < max_steps:
            policy.oldest_version = None
            rollout = worker.sample()
            rollout = dataclasses.replace(rollout, policy_version=policy.oldest_version or 0)
            while True:
                try:
                    client.push_rollout(rollout)
                    break
                except grpc.RpcError as e:
                    if e.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                        raise
                    time.sleep(0.05)  # the learner's backlog is full: back off
            steps += rollout.env_steps
            returns.extend(float(r) for r in rollout.episode_returns)
            if time.monotonic() - last_report > 2.0 and returns:
                log.info("%d env steps, %d episodes, mean return (last 20) %.1f",
                         steps, len(returns), np.mean(returns[-20:]))  # fmt: skip
                last_report = time.monotonic()
    except KeyboardInterrupt:
        pass
    finally:
        worker.close()
    return returns


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    if args.envs < 1 or (args.max_steps is not None and args.max_steps < 1):
        print("distrl.actor: error: --envs and --max-steps must be >= 1", file=sys.stderr)
        return 2
    env_keys = {"env_imports": args.env_imports, "env_kwargs": parse_value(args.env_kwargs),
                "env_wrappers": parse_value(args.env_wrappers)}  # fmt: skip
    with Client(args.server, token=args.token, tls_ca=args.tls_ca) as client:
        try:
            returns = run_actor(client, args.env, args.envs, args.max_steps, args.seed, env_keys)
        except ConfigError as e:
            print(f"distrl.actor: error: {e}", file=sys.stderr)
            return 2
        except grpc.RpcError as e:
            print(f"distrl.actor: error: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"episode_returns": returns}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
