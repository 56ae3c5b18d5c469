"""The prioritized-replay switch of every replay learner (DQN, DDPG, TD3, SAC), on fragments
from real env workers: TD errors become priorities, importance weights scale the critic's loss,
and a checkpoint with the replay keeps the tree."""

import numpy as np
import pytest

from distrl.config import build_config
from distrl.envs import env_spec
from distrl.replay import PrioritizedReplayBuffer
from tests.parts import learner_of, worker_of

ALGOS = {"dqn": "CartPole-v1", "ddpg": "Pendulum-v1", "td3": "Pendulum-v1", "sac": "Pendulum-v1"}


def setup(algo, **keys):
    env = ALGOS[algo]
    small = {"model.hidden": [16]} if algo == "dqn" else {f"{algo}.critic_hidden": [16],
                                                          f"{algo}.actor_hidden": [16]}  # fmt: skip
    config = build_config({"algo": algo, "env": env, "envs_per_worker": 2, "rollout_len": 20,
                           **small, **{f"{algo}.{k}": v for k, v in keys.items()}})  # fmt: skip
    spec = env_spec(env)
    return config, spec, learner_of(config, spec=spec), worker_of(config, spec=spec)


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_td_errors_become_priorities_and_survive_a_checkpoint(algo):
    keys = {"prioritized": True, "learning_starts": 0, "batch_size": 8}
    config, spec, learner, worker = setup(algo, **keys)
    assert isinstance(learner.replay, PrioritizedReplayBuffer)
    for _ in range(3):
        learner.update([worker.sample(learner.weights())])
    priorities = learner.replay.tree.values(np.arange(learner.replay.size))
    assert len(np.unique(priorities)) > 10  # set from TD errors, not the initial 1
    assert learner.replay.max_priority > 0
    arrays, scalars = learner.checkpoint(include_replay=True)
    other = learner_of(config, spec=spec, seed=7)
    other.restore(arrays, scalars)
    np.testing.assert_array_equal(other.replay.tree.nodes, learner.replay.tree.nodes)


@pytest.mark.parametrize("algo", ["ddpg", "sac"])
def test_zero_importance_weights_leave_the_critics_unchanged(algo):
    _, _, learner, worker = setup(algo, prioritized=True, learning_starts=10_000)
    learner.update([worker.sample(learner.weights())])  # stored, not trained
    critic = learner.critic if algo == "ddpg" else learner.critics[0]
    before = [w.copy() for w in critic.get_weights()]
    batch = learner.replay.sample((1, 8), learner.rng)
    zeros = np.zeros((1, 8), np.float32)
    actions = batch.actions / 2.0  # Pendulum's box is [-2, 2]: SAC's critic sees [-1, 1]
    if algo == "ddpg":
        learner._train(*batch[:5], np.int64(1), zeros)
    else:
        learner._train(batch.obs, actions, batch.rewards, batch.next_obs, batch.terminated, zeros)
    for a, b in zip(before, critic.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
