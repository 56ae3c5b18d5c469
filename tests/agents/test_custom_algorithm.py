"""An algorithm defined in this file and registered with one call runs through both training
loops on real Ray, the service's Act, evaluation and checkpoints: no file under distrl/ knows it.

It is the gradient bandit of Sutton & Barto (section 2.8): a state-independent softmax over
action preferences, pushed towards actions whose reward beats a running baseline.
"""

import sys
from dataclasses import dataclass

import numpy as np
import pytest
import ray.cloudpickle

import distrl
from distrl.agents import registry
from distrl.config.fields import check, setting
from distrl.ops.checkpoint import read_checkpoint
from distrl.service.client import Client
from distrl.types import UpdateResult, WeightsMessage

# Ray ships this module's classes and functions to its workers by value: the algorithm is
# registered in the driver (this process) only.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@dataclass(frozen=True)
class BanditConfig:
    lr: float = setting(0.1, "step size of the preference update")

    def __post_init__(self):
        check(self.lr > 0, f"bandit.lr must be > 0; got {self.lr}")


def softmax(prefs):
    z = np.exp(prefs - prefs.max())
    return z / z.sum()


class PreferencePolicy:
    def __init__(self, *, spec, sections, tf_threads=1, num_envs=1):
        self.prefs = np.zeros(spec.num_actions)

    def set_weights(self, message):
        self.prefs = np.asarray(message.weights[0], np.float64)

    def act(self, obs, rng):
        logits = np.broadcast_to(self.prefs, (len(obs), len(self.prefs)))  # [B, A]
        actions = np.argmax(logits + rng.gumbel(size=logits.shape), axis=-1)
        logp = np.log(softmax(self.prefs))[actions]
        return actions.astype(np.int64), logp.astype(np.float32)

    def act_greedy(self, obs):
        return np.full(len(obs), int(np.argmax(self.prefs)), np.int64)

    def episodes_ended(self, envs):
        pass


class BanditLearner:
    def __init__(self, *, spec, sections, seed, device):
        self.prefs = np.zeros(spec.num_actions)
        self.baseline, self.version, self.lr = 0.0, 0, sections.own.lr

    def weights(self):
        return WeightsMessage(version=self.version, names=("preferences",),
                              weights=[self.prefs.copy()])  # fmt: skip

    def update(self, rollouts):
        actions = np.concatenate([r.actions.ravel() for r in rollouts])
        rewards = np.concatenate([r.rewards.ravel() for r in rollouts])
        onehot = np.eye(len(self.prefs))[actions]  # [N, A]
        self.prefs += self.lr * (
            (rewards - self.baseline)[:, None] * (onehot - softmax(self.prefs))
        ).mean(0)
        self.baseline += 0.1 * (rewards.mean() - self.baseline)
        self.version += 1
        versions = [r.policy_version for r in rollouts]
        return UpdateResult(
            version=self.version,
            env_steps=sum(r.env_steps for r in rollouts),
            episode_returns=np.concatenate([r.episode_returns for r in rollouts]),
            episode_lengths=np.concatenate([r.episode_lengths for r in rollouts]),
            episode_workers=np.concatenate(
                [np.full(len(r.episode_returns), r.worker_index) for r in rollouts]
            ),
            metrics={"bandit/newest_acting_version": float(max(versions))},
        )

    def checkpoint(self, *, include_replay=False):
        return {"preferences": self.prefs.copy()}, {"version": self.version}

    def restore(self, arrays, scalars):
        self.prefs, self.version = arrays["preferences"].copy(), int(scalars["version"])

    def policy_bytes(self):
        return None  # no Keras model: checkpoints hold the arrays only


BANDIT = distrl.Algorithm(
    name="bandit",
    summary="gradient bandit (test only); discrete actions",
    action_kinds=("discrete",),
    make_learner=BanditLearner,
    make_policy=PreferencePolicy,
    config=BanditConfig,
)


@pytest.fixture
def bandit():
    registry.register(BANDIT)
    yield BANDIT
    registry.unregister(BANDIT.name)


class Probe(distrl.Callback):
    """Calls the service's Act once the run is up, and keeps the evaluations."""

    def __init__(self):
        self.act, self.evaluations = None, []

    def on_start(self, trainer):
        if trainer.service_port is not None:
            with Client(f"127.0.0.1:{trainer.service_port}") as client:
                self.act = client.act(np.zeros((3, 4), np.float32))

    def on_evaluation(self, trainer, returns):
        self.evaluations.append(returns)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_registered_algorithm_trains_on_ray_serves_and_evaluates(bandit, mode, ray_cluster,
                                                                   tmp_path):  # fmt: skip
    config = distrl.make_config(
        algo="bandit", env="CartPole-v1", mode=mode, workers=2, envs_per_worker=4,
        rollout_len=8, max_steps=3_000, eval_every=5, eval_episodes=1,
        serve="127.0.0.1:0", checkpoint_dir=str(tmp_path / "ckpt"), logdir=str(tmp_path / "run"),
        bandit={"lr": 0.2},
    )  # fmt: skip
    probe = Probe()
    trainer = distrl.Trainer(config, callbacks=[probe])
    summary = trainer.train()
    assert summary.stop_reason == "max_steps" and summary.learner_updates > 5
    # Workers acted with weights the learner published after version 0: the broadcast works.
    assert trainer.progress.metrics["bandit/newest_acting_version"] > 0
    actions, log_probs, _ = probe.act
    assert actions.shape == (3,) and set(actions) <= {0, 1} and log_probs.shape == (3,)
    assert len(probe.evaluations) >= 1 and probe.evaluations[0].shape == (1,)
    saved = read_checkpoint(tmp_path / "ckpt")
    assert saved.scalars["version"] == summary.learner_updates
    assert np.abs(saved.arrays["preferences"]).sum() > 0  # it learned something
    # The finished run's policy acts through distrl.Policy as well.
    assert trainer.policy().act(np.zeros(4, np.float32), deterministic=True) in (0, 1)


def test_its_config_section_is_validated_and_listed(bandit):
    from distrl.config import ConfigError, describe_fields

    with pytest.raises(ConfigError, match=r"bandit\.lr must be > 0; got -1\.0"):
        distrl.make_config(algo="bandit", bandit={"lr": -1})
    assert ("bandit.lr", "step size of the preference update", 0.1) in describe_fields()
    with pytest.raises(ConfigError, match="algo bandit needs a discrete action space"):
        distrl.Trainer(distrl.make_config(algo="bandit", env="Pendulum-v1")).prepare()
