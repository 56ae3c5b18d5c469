"""DDPG's update, distrl's against Stable-Baselines3's, on the same weights and the same batches.

The defaults benchmark finds distrl's DDPG behind SB3's on InvertedPendulum-v5. This separates
the update from everything around it (acting, sampling, replay): SB3's DDPG
(``DDPG("MlpPolicy", env)``) is built, its actor, critic and target weights are copied into a
distrl DDPG learner whose networks are built as SB3's (``benchmarks/torch_init.py``, the
critic reading actions in ``[-1, 1]``), with PyTorch's Adam epsilon, and then both take
``--steps`` gradient steps on the same random batches (256 transitions: observations from a
normal distribution, actions uniform, reward 1, 10% terminal), each with its own code: SB3's
``TD3.train`` loop body (critic step, then the actor through the updated critic, then the
targets), distrl's compiled train step.

Prints one JSON document: on the first batch, the largest difference of the critic's targets,
loss and gradients; after steps 1, 10, 50 and ``--steps``, the largest weight difference per
network and the mean Q(s, mu(s)) of both on held-out observations.

    python -m benchmarks.ddpg_paired --steps 200
"""

from __future__ import annotations

import argparse
from typing import Any

import gymnasium as gym
import numpy as np
import tensorflow as tf
import torch as th
import torch.nn.functional as F
from stable_baselines3 import DDPG
from stable_baselines3.common.utils import polyak_update

from benchmarks.common import emit, machine
from distrl.agents import make_learner
from distrl.config import build_config
from distrl.envs import env_spec

ENV = "InvertedPendulum-v5"
N = 256


def dense_layers(model: Any) -> list:
    """A Keras model's Dense layers in order, through nested models."""
    out = []
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.Dense):
            out.append(layer)
        elif hasattr(layer, "layers"):
            out += dense_layers(layer)
    return out


def linears(module: th.nn.Module) -> list[th.nn.Linear]:
    return [m for m in module.modules() if isinstance(m, th.nn.Linear)]


def copy_into(torch_module: th.nn.Module, keras_model: Any) -> None:
    pairs = zip(dense_layers(keras_model), linears(torch_module), strict=True)
    for dense, linear in pairs:
        dense.set_weights([linear.weight.detach().numpy().T, linear.bias.detach().numpy()])


def largest_difference(torch_module: th.nn.Module, keras_model: Any) -> float:
    pairs = zip(dense_layers(keras_model), linears(torch_module), strict=True)
    return max(
        float(np.abs(d.get_weights()[0] - t.weight.detach().numpy().T).max()) for d, t in pairs
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the JSON document to this file")
    args = parser.parse_args(argv)
    spec = env_spec(ENV)
    half_width = float(spec.action_scale()[0][0])
    config = build_config({
        "algo": "ddpg", "env": ENV, "ddpg.optimizer_eps": 1e-8,
        "ddpg.actor": "benchmarks.torch_init:actor",
        "ddpg.critic": "benchmarks.torch_init:critic_unit_actions",
    })  # fmt: skip
    learner: Any = make_learner(algorithm="ddpg", sections=config.algorithm_sections(),
                                spec=spec, seed=args.seed)  # fmt: skip
    policy = DDPG("MlpPolicy", gym.make(ENV), seed=args.seed, device="cpu").policy
    pairs = [
        (policy.actor, learner.actor),
        (policy.actor_target, learner.target_actor),
        (policy.critic, learner.critic),
        (policy.critic_target, learner.target_critic),
    ]
    for torch_module, keras_model in pairs:
        copy_into(torch_module, keras_model)
    rng = np.random.default_rng(args.seed)
    held_out = rng.normal(size=(512, 4)).astype(np.float32)

    def batch() -> list[np.ndarray]:
        return [
            rng.normal(size=(N, 4)).astype(np.float32),
            rng.uniform(-1, 1, size=(N, 1)).astype(np.float32),  # SB3's units
            np.ones(N, np.float32),
            rng.normal(size=(N, 4)).astype(np.float32),
            (rng.random(N) < 0.1).astype(np.float32),
        ]

    def sb3_step(obs: Any, actions: Any, rewards: Any, next_obs: Any, done: Any) -> None:
        """The body of SB3's ``TD3.train`` loop with DDPG's settings (no target noise)."""
        with th.no_grad():
            next_q = policy.critic_target(next_obs, policy.actor_target(next_obs))[0][:, 0]
            target = rewards + (1 - done) * 0.99 * next_q
        loss = F.mse_loss(policy.critic(obs, actions)[0][:, 0], target)
        policy.critic.optimizer.zero_grad()
        loss.backward()
        policy.critic.optimizer.step()
        actor_loss = -policy.critic.q1_forward(obs, policy.actor(obs)).mean()
        policy.actor.optimizer.zero_grad()
        actor_loss.backward()
        policy.actor.optimizer.step()
        polyak_update(policy.critic.parameters(), policy.critic_target.parameters(), 0.005)
        polyak_update(policy.actor.parameters(), policy.actor_target.parameters(), 0.005)

    # The first batch: targets, loss and critic gradients of both, before any step.
    obs, actions, rewards, next_obs, done = first = batch()
    target = learner.target_q(tf.constant(rewards), tf.constant(next_obs), tf.constant(done))
    with tf.GradientTape() as tape:
        q = tf.squeeze(learner.critic([tf.constant(obs), tf.constant(actions * half_width)]), -1)
        loss = tf.reduce_mean(tf.square(target - q))
    grads = [g.numpy() for g in tape.gradient(loss, learner.critic.trainable_variables)]
    t = [th.as_tensor(x) for x in first]
    with th.no_grad():
        sb3_target = (
            t[2]
            + (1 - t[4]) * 0.99 * policy.critic_target(t[3], policy.actor_target(t[3]))[0][:, 0]
        )
    sb3_loss = F.mse_loss(policy.critic(t[0], t[1])[0][:, 0], sb3_target)
    policy.critic.optimizer.zero_grad()
    sb3_loss.backward()
    sb3_grads = [g for lin in linears(policy.critic) for g in (lin.weight.grad.T, lin.bias.grad)]
    first_batch = {
        "target_difference": float(np.abs(target.numpy() - sb3_target.numpy()).max()),
        "loss": [float(loss), float(sb3_loss)],
        "gradient_difference": max(
            float(np.abs(g - s.numpy()).max()) for g, s in zip(grads, sb3_grads, strict=True)
        ),
        "largest_gradient": max(float(np.abs(g).max()) for g in grads),
    }
    policy.critic.optimizer.zero_grad()
    after: dict[str, Any] = {}
    for step in range(args.steps):
        b = first if step == 0 else batch()
        sb3_step(*(th.as_tensor(x) for x in b))
        obs, actions, rewards, next_obs, done = b
        learner._train(obs[None], (actions * half_width)[None], rewards[None], next_obs[None],
                       done[None], np.int64(step), np.ones((1, N), np.float32))  # fmt: skip
        if step + 1 in (1, 10, 50, args.steps):
            q_distrl = learner.critic([tf.constant(held_out), learner.actor(held_out)])
            held = th.as_tensor(held_out)
            q_sb3 = policy.critic(held, policy.actor(held))[0]
            after[str(step + 1)] = {
                "actor_difference": largest_difference(policy.actor, learner.actor),
                "critic_difference": largest_difference(policy.critic, learner.critic),
                "mean_q": [float(q_distrl.numpy().mean()), float(q_sb3.detach().numpy().mean())],
            }
    emit({"benchmark": "ddpg_paired", "machine": machine(), "steps": args.steps,
          "learning_rate": 1e-3, "first_batch": first_batch, "after_steps": after},
         args.out)  # fmt: skip


if __name__ == "__main__":
    main()
