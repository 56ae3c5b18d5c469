"""A trained policy that acts on NumPy observations, in any process, without Ray.

    policy = trainer.policy()                                 # from a finished Trainer
    policy = distrl.Policy.from_checkpoint("runs/ckpt")       # from a checkpoint
    policy = distrl.Policy.from_keras("policy.keras", env="CartPole-v1")   # an exported file
    actions = policy.act(observations, deterministic=True)    # [B, *obs] -> [B, ...]
    actions, state = policy.act(obs, state=state)             # a recurrent policy (LSTM)

It is the algorithm's own acting policy (the one the rollout workers, the service's ``Act`` and
evaluation use), so with the same weights, observations, seed and flags all of them choose the
same actions.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from distrl.agents import registry
from distrl.agents.registry import Algorithm
from distrl.config import AlgorithmSections, Config, ConfigError, build_config
from distrl.types import EnvSpec, WeightsMessage


class Policy:
    """Acts with one weights version; ``deterministic`` turns exploration off (the most likely
    action for A2C/REINFORCE, the actor's action without noise for DDPG). Thread-safe.

    Made by :meth:`from_checkpoint`, :meth:`from_keras` or ``Trainer.policy()``; directly, it
    takes the algorithm (its registry entry or name), the sections it reads
    (``config.algorithm_sections()``), the env's spec and the weights.
    """

    def __init__(
        self,
        *,
        algorithm: Algorithm | str,
        sections: AlgorithmSections,
        spec: EnvSpec,
        weights: WeightsMessage,
        seed: int = 0,
    ) -> None:
        self.spec = spec
        self.algorithm = registry.get(algorithm) if isinstance(algorithm, str) else algorithm
        self._acting = self.algorithm.make_policy(
            spec=spec, sections=sections, tf_threads=None, num_envs=1
        )
        self.rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self.version = -1
        self.set_weights(weights)

    def set_weights(self, weights: WeightsMessage) -> None:
        """Act with ``weights`` from now on (a newer version from the learner or the service)."""
        with self._lock:
            self._acting.set_weights(weights)
            self.weights = weights  # what acts now (the service publishes it as it is)
            self.version = weights.version

    @property
    def recurrent(self) -> bool:
        """An LSTM policy (``model.lstm_size``): it acts from a state and returns the next."""
        return getattr(self._acting, "state", None) is not None

    @property
    def state_size(self) -> int:
        """Floats in one observation's state (``2 * lstm_size``: h then c); 0 if feed-forward."""
        state = getattr(self._acting, "state", None)
        return 0 if state is None else int(state.shape[1])

    def initial_state(self, batch: int | None = None) -> np.ndarray | None:
        """The state an episode starts from (zeros): ``[batch, S]``, or ``[S]`` for one
        observation (``batch`` None); None for a feed-forward policy."""
        if not self.recurrent:
            return None
        shape = (self.state_size,) if batch is None else (batch, self.state_size)
        return np.zeros(shape, np.float32)

    def act(self, observations: Any, deterministic: bool = False, state: Any = None) -> Any:
        """Actions for a batch ``[B, *obs]`` (or one observation ``[*obs]`` -> one action).

        A recurrent policy returns ``(actions, next_state)``: give it back with the next
        observations; ``state`` None (or :meth:`initial_state`) starts an episode."""
        actions, _, next_state = self.act_with_state(observations, deterministic, state)
        return (actions, next_state) if self.recurrent else actions

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        """Stable-Baselines3's call: ``(actions, state)`` for one observation or a batch; code
        written against SB3's ``predict`` runs unchanged. A feed-forward policy returns
        ``state`` as given (None); a recurrent one its next state, after zeroing the rows
        ``episode_start`` marks (SB3's RecurrentPPO convention)."""
        if self.recurrent and state is not None and episode_start is not None:
            starts = np.asarray(episode_start, dtype=bool)
            state = np.where(starts[..., None], 0.0, np.asarray(state, np.float32))
        actions, _, next_state = self.act_with_state(observation, deterministic, state)
        return actions, next_state if self.recurrent else state

    def act_with_log_probs(
        self, observations: Any, deterministic: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Actions and, for a stochastic policy that explored, their log-probabilities.
        ``observations``: flat ones, or the env's own Dict/Tuple observation (one or a batch).
        A recurrent policy acts from the initial state (:meth:`act_with_state` carries it)."""
        actions, log_probs, _ = self.act_with_state(observations, deterministic, None)
        return actions, log_probs

    def act_with_state(
        self, observations: Any, deterministic: bool = False, state: Any = None
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``(actions, log-probs or None, next state or None)``: :meth:`act_with_log_probs`
        with a recurrent policy's state (``[B, S]``, or ``[S]`` for one observation; None:
        zeros)."""
        if isinstance(observations, dict | tuple):
            observations = self.spec.flatten_observation(observations)
        obs = np.asarray(observations, dtype=self.spec.observation_dtype)
        shape = tuple(self.spec.observation_shape)
        single = obs.shape == shape
        batch = obs[None] if single else obs
        if batch.shape[1:] != shape or len(batch) == 0:
            raise ValueError(
                f"observations must be [B, {', '.join(map(str, shape))}] or one observation of "
                f"shape {shape}; got {obs.shape}"
            )
        states = self._states(state, len(batch), single)
        acting: Any = self._acting  # a recurrent one keeps ``state`` (agents/acting.py)
        with self._lock:  # one acting policy: its RNG and noise state advance in order
            if states is not None:
                acting.state = states
            if deterministic:
                actions, log_probs = self._acting.act_greedy(batch), None
            else:
                actions, log_probs = self._acting.act(batch, self.rng)
                if not self.algorithm.stochastic:
                    log_probs = None
            next_state = None if states is None else acting.state.copy()
        if single:
            return (actions[0], None if log_probs is None else log_probs[0],
                    None if next_state is None else next_state[0])  # fmt: skip
        return actions, log_probs, next_state

    def _states(self, state: Any, batch: int, single: bool) -> np.ndarray | None:
        """A recurrent policy's states as ``[batch, S]`` float32 (zeros for None)."""
        if not self.recurrent:
            if state is not None:
                raise ValueError("this policy is not recurrent: it takes no state")
            return None
        if state is None:
            return np.zeros((batch, self.state_size), np.float32)
        states = np.asarray(state, np.float32)
        states = states[None] if single else states
        if states.shape != (batch, self.state_size):
            expected = (self.state_size,) if single else (batch, self.state_size)
            raise ValueError(f"state must have shape {expected}; got {np.shape(state)}")
        return states.copy()

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, seed: int = 0) -> Policy:
        """The policy of a checkpoint (or the newest in a directory of them)."""
        from distrl.ops.checkpoint import CheckpointError, read_checkpoint

        checkpoint = read_checkpoint(path)
        policy_file = checkpoint.path / "policy.keras"
        if not policy_file.is_file():
            raise CheckpointError(f"{policy_file}: missing")
        config = build_config(checkpoint.config, flag_names=True)
        # The spaces saved with the checkpoint: no need to import (or have) the env's package.
        spec = EnvSpec.from_dict(checkpoint.spec) if checkpoint.spec else None
        return cls._from_file(policy_file, config, seed, int(checkpoint.scalars["version"]),
                              spec=spec)  # fmt: skip

    @classmethod
    def from_keras(
        cls,
        path: str | Path,
        *,
        env: str | None = None,
        algo: str | None = None,
        seed: int = 0,
        overrides: dict[str, Any] | None = None,
    ) -> Policy:
        """The policy in a ``.keras`` file. One that distrl wrote (``distrl.export``,
        ``Trainer.save_policy``, a checkpoint's ``policy.keras``) carries the run's config and
        the env's spaces: nothing else is needed. For another file, or to act on another env,
        give ``env`` and ``algo`` (default a2c), and ``overrides``: config keys the run had
        (``model.*``, ``normalize.*``, ...)."""
        from distrl.ops.checkpoint import read_policy_info

        if not Path(path).is_file():
            raise ConfigError(f"{str(path)!r}: no such .keras file")
        info = read_policy_info(path) if env is None else None
        if info is not None:
            keys = {**info["config"], **({"algo": algo} if algo else {})}
            config = build_config(keys, overrides or {}, flag_names=True)
            spec = EnvSpec.from_dict(info["spec"]) if info.get("spec") else None
            return cls._from_file(Path(path), config, seed, version=0, spec=spec)
        if env is None:
            raise ConfigError(f"{path}: not saved by distrl (no distrl.json): give env= and algo=")
        config = build_config({"env": env, "algo": algo or "a2c"}, overrides or {})
        return cls._from_file(Path(path), config, seed, version=0)

    @classmethod
    def _from_file(
        cls, path: Path, config: Config, seed: int, version: int, spec: EnvSpec | None = None
    ) -> Policy:
        from distrl.agents.variables import keras_file_weights
        from distrl.envs import EnvOptions, env_spec

        if spec is None:
            spec = env_spec(config.env, config.atari, EnvOptions.of(config))
        registry.get(config.algo).check_spec(spec)
        names, arrays = keras_file_weights(path)
        # version 0 means "untrained" to DDPG's acting policy (uniformly random actions):
        # a saved policy is a trained one, whatever version it was saved at.
        weights = WeightsMessage(version=max(version, 1), names=names, weights=arrays)
        try:  # a model for another env or algorithm is refused here, not at its first act()
            policy = cls(algorithm=config.algo, sections=config.algorithm_sections(), spec=spec,
                         weights=weights, seed=seed)  # fmt: skip
            policy.act(np.zeros(spec.observation_shape, spec.observation_dtype), True)
        except (ValueError, IndexError, KeyError, TypeError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ConfigError(f"{path}: its model does not fit {config.env} with algo "
                              f"{config.algo}: {first}") from None  # fmt: skip
        return policy
