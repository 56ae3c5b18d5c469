"""Advantage actor-critic (A2C; A3C with ``mode: async``): ``config.py``, ``losses.py``,
``learning.py``, and its registry entry below. It acts with the shared stochastic policy
(``agents/acting.py``) and its returns are the shared ones (``distrl/returns.py``)."""

from __future__ import annotations

from typing import Any

from distrl.agents.a2c.config import A2CConfig
from distrl.agents.acting import stochastic_policy
from distrl.agents.registry import Algorithm, lazy, register


def _worker_loss(*, spec: Any, sections: Any, tf_threads: int | None = 1) -> Any:
    """The loss on a worker's own model copy, for workers that send gradients (A3C).

    The model's initial weights do not matter: the worker loads the learner's before use.
    """
    from distrl.tfsetup import configure_tensorflow

    configure_tensorflow(threads=tf_threads, use_gpu=False)
    from distrl.agents.a2c.losses import A2CLoss
    from distrl.models.builders import build_model

    return A2CLoss(build_model(spec, sections.model, sections.normalize), spec, sections.own)


A2C = register(
    Algorithm(
        name="a2c",
        summary="advantage actor-critic (A3C with mode async); discrete, continuous, "
        "multi-discrete or multi-binary actions, masks",
        # continuous: a diagonal Gaussian policy; multi_*: one categorical or Bernoulli per part
        action_kinds=("discrete", "continuous", "multi_discrete", "multi_binary"),
        action_masks=True,
        normalizes=True,
        recurrent=True,
        data_parallel=True,
        make_learner=lazy("distrl.agents.a2c.learning:A2CLearner"),
        make_policy=stochastic_policy,
        config=A2CConfig,
        corrects_lag=True,
        make_worker_loss=_worker_loss,
        # As A3C's actors: each worker's envs add their steps to the batch, so more workers
        # mean a larger batch (16 steps x 4 envs each: the defaults tuned on CartPole-v1).
        defaults={"rollout_len": 16, "envs_per_worker": 4},
        references=(
            "Mnih et al. 2016, Asynchronous Methods for Deep Reinforcement Learning (A3C/A2C)",
            "Schulman et al. 2016, High-Dimensional Continuous Control Using GAE (gae_lambda)",
            "Espeholt et al. 2018, IMPALA (V-trace: vtrace_rho_bar, vtrace_c_bar)",
            "defaults: tuned for CartPole-v1 wall time (presets/cartpole-a2c.yaml); seeds 000, "
            "003 and 004 in presets cartpole-seed004 and cartpole-a3c",
            "Atari: Stable-Baselines3 rl-zoo's A2C settings (presets/pong-a2c.yaml)",
        ),
    )
)
