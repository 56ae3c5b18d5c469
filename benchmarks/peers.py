"""Peer libraries trained under distrl's stop rule, one run per process.

Each peer is one function that trains with published settings and stops when the mean return
of its last 20 finished training episodes reaches the threshold (the rule ``distrl.launch``
uses), or at ``--max-seconds``/``--max-steps``. It prints one JSON document shaped like a
distrl launch summary (``solved``, ``wall_s``, ``env_steps``, ``startup_s``, ...). A peer whose
library is not installed prints ``{"skipped": "<why>"}`` and exits 0: it is never faked.

    python -m benchmarks.peers sb3-a2c-cartpole --seed 0
    python -m benchmarks.peers sb3-ddpg-pendulum --seed 0
    python -m benchmarks.peers rllib-ppo-cartpole --seed 0

Settings:

- ``sb3-a2c-cartpole``: Stable-Baselines3 A2C with the rl-baselines3-zoo CartPole-v1 entry
  (8 envs in a DummyVecEnv, MlpPolicy, ent_coef 0; SB3 defaults otherwise: n_steps 5,
  RMSprop lr 7e-4).
- ``sb3-dqn-cartpole``: Stable-Baselines3 DQN with the zoo's CartPole-v1 entry (lr 2.3e-3,
  batch 64, buffer 1e5, learning_starts 1000, target_update_interval 10, train_freq 256 with
  gradient_steps 128, exploration over 8,000 steps to 0.04, net_arch [256, 256]).
- ``sb3-sac-pendulum``: Stable-Baselines3 SAC with the zoo's Pendulum-v1 entry (lr 1e-3, SB3's
  SAC defaults otherwise).
- ``sb3-ddpg-pendulum``: Stable-Baselines3 DDPG with the zoo's Pendulum entry (gamma 0.98,
  buffer 200k, learning_starts 10k, Gaussian noise 0.1, lr 1e-3, net_arch [400, 300], one
  gradient step per env step).
- ``sb3-ppo-cartpole``: Stable-Baselines3 PPO with the zoo's CartPole-v1 entry (8 envs,
  n_steps 32, batch_size 256, gae_lambda 0.8, gamma 0.98, n_epochs 20, ent_coef 0, linear
  schedules from lr 1e-3 and clip 0.2 over the zoo's 1e5 steps).
- ``sb3-ppo-pendulum``: Stable-Baselines3 PPO with the zoo's Pendulum-v1 entry (4 envs,
  n_steps 1024, gae_lambda 0.95, gamma 0.9, n_epochs 10, ent_coef 0, lr 1e-3, clip 0.2,
  use_sde with sde_sample_freq 4).
- ``sb3-td3-pendulum``: Stable-Baselines3 TD3 with the zoo's Pendulum-v1 entry (gamma 0.98,
  buffer 200k, learning_starts 10k, Gaussian noise 0.1, lr 1e-3, net_arch [400, 300], one
  gradient step per env step; TD3's own defaults: policy_delay 2, target noise 0.2/0.5).
- ``sb3-a2c-pong``: Stable-Baselines3 A2C with the zoo's Atari entry on PongNoFrameskip-v4
  (``make_atari_env``: SB3's AtariWrapper, 16 envs in a DummyVecEnv, 4-frame stack,
  CnnPolicy, ent_coef 0.01, vf_coef 0.25, RMSpropTFLike with eps 1e-5; A2C's n_steps 5 and
  lr 7e-4).
- ``sb3-ppo-pong``: Stable-Baselines3 PPO with the zoo's Atari entry on PongNoFrameskip-v4
  (8 envs, 4-frame stack, n_steps 128, n_epochs 4, batch_size 256, lr 2.5e-4 and clip 0.1
  annealed linearly over ``--max-steps``, vf_coef 0.5, ent_coef 0.01). With the Atari peers,
  ``steps_per_s`` (agent steps: 4 frames each, learning included) is the number to compare;
  ``--max-seconds`` ends them long before +18.
- ``rllib-ppo-cartpole``: RLlib PPO (RLlib no longer ships A2C or DDPG) with the settings of
  RLlib's own tuned CartPole example, on a local Ray with 2 CPUs; the smoothing window of its
  episode-return metric is set to 20 episodes, so the rule is the same.

``wall_s`` runs from the first env step of training to the stop (SB3: the ``learn`` call;
RLlib: the first ``train`` call); ``startup_s`` is what came before it in the process.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import time
from collections.abc import Callable
from typing import Any

STOP_WINDOW = 20
_START = time.perf_counter()


def missing(*modules: str) -> str | None:
    """Why a peer cannot run (one of its modules does not import), or None.

    Importing, not just finding, the modules: Ray's wheel always contains ``ray.rllib``, but it
    only imports with RLlib's own dependencies installed.
    """
    absent = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # ImportError, or a broken install raising something else
            absent.append(name)
    return f"not installed: {', '.join(absent)} (see BENCHMARKS.md, peers)" if absent else None


def summary(
    *,
    solved: bool,
    wall_s: float,
    env_steps: int,
    episodes: int,
    final_mean_return: float | None,
    startup_s: float,
    **extra: Any,
) -> dict[str, Any]:
    """One run, in the shape of a ``distrl.launch`` JSON summary."""
    return {
        "solved": solved,
        "wall_s": round(wall_s, 2),
        "env_steps": int(env_steps),
        "episodes": int(episodes),
        "startup_s": round(startup_s, 2),
        "steps_per_s": round(env_steps / wall_s, 1) if wall_s > 0 else None,
        "final_mean_return": None if final_mean_return is None else round(final_mean_return, 2),
        **extra,
    }


def _sb3_run(model: Any, threshold: float, args: argparse.Namespace) -> dict[str, Any]:
    """Train an SB3 model until the last-20 mean reaches ``threshold`` or a budget ends."""
    from stable_baselines3.common.callbacks import BaseCallback

    returns: list[float] = []

    class StopAtThreshold(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals.get("infos", []):
                if "episode" in info:  # Monitor's record of a finished episode
                    returns.append(float(info["episode"]["r"]))
            solved = len(returns) >= STOP_WINDOW and (
                sum(returns[-STOP_WINDOW:]) / STOP_WINDOW >= threshold
            )
            self.solved = solved
            out_of_time = time.perf_counter() - start > args.max_seconds
            return not (solved or out_of_time)

    callback = StopAtThreshold()
    callback.solved = False
    startup = time.perf_counter() - _START
    start = time.perf_counter()
    model.learn(total_timesteps=args.max_steps, callback=callback)
    wall = time.perf_counter() - start
    last = returns[-STOP_WINDOW:]
    return summary(
        solved=callback.solved,
        wall_s=wall,
        env_steps=model.num_timesteps,
        episodes=len(returns),
        final_mean_return=sum(last) / len(last) if last else None,
        startup_s=startup,
    )


def sb3_a2c_cartpole(args: argparse.Namespace) -> dict[str, Any]:
    from stable_baselines3 import A2C
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env("CartPole-v1", n_envs=8, seed=args.seed)
    model = A2C("MlpPolicy", env, ent_coef=0.0, seed=args.seed, device="cpu")
    result = _sb3_run(model, 475.0, args)
    return {"peer": "stable-baselines3 A2C", "env": "CartPole-v1", "threshold": 475.0, **result}


def sb3_ddpg_pendulum(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    from stable_baselines3 import DDPG
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.noise import NormalActionNoise

    env = make_vec_env("Pendulum-v1", n_envs=1, seed=args.seed)
    noise = NormalActionNoise(mean=np.zeros(1), sigma=0.1 * np.ones(1))
    model = DDPG(
        "MlpPolicy",
        env,
        gamma=0.98,
        buffer_size=200_000,
        learning_starts=10_000,
        action_noise=noise,
        gradient_steps=1,
        train_freq=1,
        learning_rate=1e-3,
        policy_kwargs={"net_arch": [400, 300]},
        seed=args.seed,
        device="cpu",
    )
    result = _sb3_run(model, -200.0, args)
    return {"peer": "stable-baselines3 DDPG", "env": "Pendulum-v1", "threshold": -200.0, **result}


def _linear(start: float) -> Callable[[float], float]:
    """SB3's schedule form: ``progress_remaining`` goes from 1 to 0 over ``total_timesteps``."""
    return lambda progress_remaining: progress_remaining * start


def sb3_ppo_cartpole(args: argparse.Namespace) -> dict[str, Any]:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env("CartPole-v1", n_envs=8, seed=args.seed)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                n_epochs=20, ent_coef=0.0, learning_rate=_linear(1e-3),
                clip_range=_linear(0.2), seed=args.seed, device="cpu")  # fmt: skip
    # The zoo's schedules run over its 1e5 steps: the budget is that, not --max-steps.
    args = argparse.Namespace(**{**vars(args), "max_steps": min(args.max_steps, 100_000)})
    result = _sb3_run(model, 475.0, args)
    return {"peer": "stable-baselines3 PPO", "env": "CartPole-v1", "threshold": 475.0, **result}


def sb3_ppo_pendulum(args: argparse.Namespace) -> dict[str, Any]:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env("Pendulum-v1", n_envs=4, seed=args.seed)
    model = PPO("MlpPolicy", env, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10,
                ent_coef=0.0, learning_rate=1e-3, clip_range=0.2, use_sde=True,
                sde_sample_freq=4, seed=args.seed, device="cpu")  # fmt: skip
    result = _sb3_run(model, -200.0, args)
    return {"peer": "stable-baselines3 PPO", "env": "Pendulum-v1", "threshold": -200.0, **result}


def sb3_td3_pendulum(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    from stable_baselines3 import TD3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.noise import NormalActionNoise

    env = make_vec_env("Pendulum-v1", n_envs=1, seed=args.seed)
    noise = NormalActionNoise(mean=np.zeros(1), sigma=0.1 * np.ones(1))
    model = TD3("MlpPolicy", env, gamma=0.98, buffer_size=200_000, learning_starts=10_000,
                action_noise=noise, gradient_steps=1, train_freq=1, learning_rate=1e-3,
                policy_kwargs={"net_arch": [400, 300]}, seed=args.seed, device="cpu")  # fmt: skip
    result = _sb3_run(model, -200.0, args)
    return {"peer": "stable-baselines3 TD3", "env": "Pendulum-v1", "threshold": -200.0, **result}


def sb3_dqn_cartpole(args: argparse.Namespace) -> dict[str, Any]:
    from stable_baselines3 import DQN
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env("CartPole-v1", n_envs=1, seed=args.seed)
    model = DQN("MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                learning_starts=1000, gamma=0.99, target_update_interval=10, train_freq=256,
                gradient_steps=128, exploration_fraction=0.16, exploration_final_eps=0.04,
                policy_kwargs={"net_arch": [256, 256]}, seed=args.seed, device="cpu")  # fmt: skip
    # The zoo's exploration fraction is of its 5e4 steps: the budget's schedule is that.
    model._setup_learn(50_000)
    result = _sb3_run(model, 475.0, args)
    return {"peer": "stable-baselines3 DQN", "env": "CartPole-v1", "threshold": 475.0, **result}


def sb3_sac_pendulum(args: argparse.Namespace) -> dict[str, Any]:
    from stable_baselines3 import SAC
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env("Pendulum-v1", n_envs=1, seed=args.seed)
    model = SAC("MlpPolicy", env, learning_rate=1e-3, seed=args.seed, device="cpu")
    result = _sb3_run(model, -200.0, args)
    return {"peer": "stable-baselines3 SAC", "env": "Pendulum-v1", "threshold": -200.0, **result}


def _pong_envs(n_envs: int, seed: int) -> Any:
    import ale_py
    import gymnasium as gym
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    gym.register_envs(ale_py)  # the NoFrameskip-v4 ids
    return VecFrameStack(make_atari_env("PongNoFrameskip-v4", n_envs=n_envs, seed=seed), 4)


def _pong_run(model: Any, algo: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train an SB3 Pong model under the stop rule (+18), as a peer's document."""
    result = _sb3_run(model, 18.0, args)
    return {"peer": f"stable-baselines3 {algo}", "env": "PongNoFrameskip-v4", "threshold": 18.0,
            **result}  # fmt: skip


def sb3_a2c_pong(args: argparse.Namespace) -> dict[str, Any]:
    from stable_baselines3 import A2C
    from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike

    model = A2C(
        "CnnPolicy", _pong_envs(16, args.seed), ent_coef=0.01, vf_coef=0.25, seed=args.seed,
        policy_kwargs={"optimizer_class": RMSpropTFLike, "optimizer_kwargs": {"eps": 1e-5}},
        device="cpu",
    )  # fmt: skip
    return _pong_run(model, "A2C", args)


def sb3_ppo_pong(args: argparse.Namespace) -> dict[str, Any]:
    from stable_baselines3 import PPO

    model = PPO(
        "CnnPolicy", _pong_envs(8, args.seed), n_steps=128, n_epochs=4, batch_size=256,
        learning_rate=_linear(2.5e-4), clip_range=_linear(0.1), vf_coef=0.5, ent_coef=0.01,
        seed=args.seed, device="cpu",
    )  # fmt: skip
    return _pong_run(model, "PPO", args)


def rllib_ppo_cartpole(args: argparse.Namespace) -> dict[str, Any]:
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    config = (
        PPOConfig()
        .environment("CartPole-v1")
        .env_runners(num_env_runners=1)
        .training(lr=0.0003, num_epochs=6, vf_loss_coeff=0.01)
        .rl_module(
            model_config=DefaultModelConfig(
                fcnet_hiddens=[32], fcnet_activation="linear", vf_share_layers=True
            )
        )
        .reporting(metrics_num_episodes_for_smoothing=STOP_WINDOW)
        .debugging(seed=args.seed)
    )
    algo = config.build_algo()
    startup = time.perf_counter() - _START
    start, solved, steps, episodes, mean = time.perf_counter(), False, 0, 0, float("nan")
    iterations = 0
    while time.perf_counter() - start < args.max_seconds and steps < args.max_steps:
        result = algo.train()
        iterations += 1
        runners = result.get("env_runners", {})
        mean = float(runners.get("episode_return_mean", float("nan")))
        steps = int(
            result.get(
                "num_env_steps_sampled_lifetime", runners.get("num_env_steps_sampled_lifetime", 0)
            )
        )
        episodes = int(runners.get("num_episodes_lifetime", 0))
        if mean >= 475.0:
            solved = True
            break
    wall = time.perf_counter() - start
    algo.stop()
    ray.shutdown()
    return {
        "peer": "RLlib PPO",
        "env": "CartPole-v1",
        "threshold": 475.0,
        **summary(
            solved=solved,
            wall_s=wall,
            env_steps=steps,
            episodes=episodes,
            final_mean_return=None if math.isnan(mean) else mean,
            startup_s=startup,
            iterations=iterations,
        ),
    }


PEERS: dict[str, tuple[tuple[str, ...], Callable[[argparse.Namespace], dict[str, Any]]]] = {
    "sb3-a2c-cartpole": (("stable_baselines3", "torch"), sb3_a2c_cartpole),
    "sb3-ddpg-pendulum": (("stable_baselines3", "torch"), sb3_ddpg_pendulum),
    "sb3-dqn-cartpole": (("stable_baselines3", "torch"), sb3_dqn_cartpole),
    "sb3-sac-pendulum": (("stable_baselines3", "torch"), sb3_sac_pendulum),
    "sb3-ppo-cartpole": (("stable_baselines3", "torch"), sb3_ppo_cartpole),
    "sb3-ppo-pendulum": (("stable_baselines3", "torch"), sb3_ppo_pendulum),
    "sb3-td3-pendulum": (("stable_baselines3", "torch"), sb3_td3_pendulum),
    "sb3-a2c-pong": (("stable_baselines3", "torch"), sb3_a2c_pong),
    "sb3-ppo-pong": (("stable_baselines3", "torch"), sb3_ppo_pong),
    "rllib-ppo-cartpole": (("torch", "ray.rllib.algorithms.ppo"), rllib_ppo_cartpole),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--max-steps", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    modules, train = PEERS[args.peer]
    why = missing(*modules)
    document = {"skipped": why} if why else train(args)
    print(json.dumps({"peer_id": args.peer, "seed": args.seed, **document}))


if __name__ == "__main__":
    main()
