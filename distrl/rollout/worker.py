"""RolloutWorker: steps a vector env with a local copy of the policy (plain Python, no Ray)."""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from distrl import distributions
from distrl.config import RolloutSettings
from distrl.envs import EnvOptions, EnvSpec, make_vector_env
from distrl.envs.atari import is_atari
from distrl.rollout.deadline import Deadline
from distrl.types import Rollout, WeightsMessage

if TYPE_CHECKING:
    from distrl.agents.registry import Algorithm

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_ENV_ERRORS = 10  # then the env is considered broken and the error raised
LOAD_LOG = 4096  # weights loads remembered (version, wall time) for broadcast measurements


class EnvFailure(Exception):
    """Wraps an exception raised by the vector env's ``step`` or ``reset`` (``call``)."""

    def __init__(self, original: Exception, call: str = "step") -> None:
        super().__init__(repr(original))
        self.original, self.call = original, call


class EnvBroken(RuntimeError):
    """An env that kept raising (``MAX_CONSECUTIVE_ENV_ERRORS`` times in a row). The message is
    one line naming the env, the call and the exception; ``details`` holds its traceback."""

    one_line = True  # its message is the whole report (the Trainer prints it as it is)

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details

    def __reduce__(self) -> tuple:  # keeps ``details`` across processes (Ray pickles it)
        return (EnvBroken, (str(self), self.details))

    @classmethod
    def of(cls, env_id: str, failure: EnvFailure, times: int) -> EnvBroken:
        e = failure.original
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        details = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        return cls(f"env {env_id} raised in {failure.call} {times} times in a row: "
                   f"{type(e).__name__}: {first}", details)  # fmt: skip


class RolloutWorker:
    """Owns ``envs_per_worker`` env copies and samples fixed-length fragments from them.

    Usage::

        worker = RolloutWorker(settings=config.rollout_settings(), algorithm=config.algo,
                               spec=spec, worker_index=0, seed=seed_sequence)
        rollout = worker.sample(learner.weights())   # acts with the newest weights it was given

    The runtime makes this class a Ray actor; ``--workers 0`` calls it directly.
    """

    def __init__(
        self,
        *,
        settings: RolloutSettings,
        spec: EnvSpec,
        worker_index: int,
        seed: np.random.SeedSequence,
        tf_threads: int | None = 1,
        algorithm: Algorithm | str,
    ) -> None:
        # Imported here, not at module level: the driver references this class for Ray and
        # must not import TensorFlow through it.
        from distrl.agents import make_policy

        self.worker_index = worker_index
        self.rollout_len = settings.rollout_len
        self.num_envs = settings.envs_per_worker
        self.policy = make_policy(
            algorithm=algorithm,
            sections=settings.sections,
            spec=spec,
            tf_threads=tf_threads,
            num_envs=self.num_envs,
        )
        place = getattr(self.policy, "place", None)  # optional: exploration by the worker's place
        if place is not None:
            place(worker_index, settings.workers, settings.mode)
        continuous = spec.action_kind == "continuous"
        self.action_shape = spec.action_shape
        self.action_dtype = spec.action_dtype
        self.spec = spec
        # Continuous actions go to the env clipped to its box; the fragment keeps what the
        # policy sampled (a Gaussian's log-prob is of the unclipped sample).
        self.action_box = (spec.action_low, spec.action_high) if continuous else None
        self.version = -1  # no weights yet: the first WeightsMessage (version 0) is accepted
        self.loads: deque[tuple[int, float]] = deque(maxlen=LOAD_LOG)  # (version, time.time())
        # Process CPU seconds spent in each part of sampling, cumulative (time.process_time, so
        # the env's own threads count and time waiting for a core does not): see cpu_times().
        self.cpu = dict.fromkeys(("sample", "env", "act", "load"), 0.0)
        self.env_seed, action_seed = seed.spawn(2)
        self.rng = np.random.default_rng(action_seed)
        # Worker 0 alone can be slowed down to study stragglers (faults.straggler_delay).
        self.env_id = spec.env_id
        self.step_delay = settings.straggler_delay if worker_index == 0 else 0.0
        self.env_errors = 0  # env exceptions since the last fragment was returned
        self.deadline = Deadline(settings.env_step_timeout)  # a hung step/reset: an env error
        self.atari = settings.atari
        self.env_options = EnvOptions.of(settings)  # the user's imports, kwargs and wrappers
        self.envs = self._make_envs()
        self._failed_start: EnvFailure | None = None  # a first reset that raised
        # Atari envs report the raw full-game score at a game's real end (their training
        # episodes may end at each lost life, with clipped rewards): log that, not our sums.
        self.raw_scores = is_atari(self.env_id)
        try:
            self._start_episodes(self.env_seed.generate_state(self.num_envs).tolist())
        except Exception as e:  # recovered (or reported) by the first sample, as any reset
            self._failed_start = EnvFailure(e, "reset")

    def _start_episodes(self, env_seeds: Any) -> None:
        self._obs, _ = self.envs.reset(seed=env_seeds)
        self._episode_return = np.zeros(self.num_envs, dtype=np.float64)
        self._episode_length = np.zeros(self.num_envs, dtype=np.int64)

    def _recreate_envs(self) -> None:
        """After an env raised: a new vector env with fresh seeds; unfinished episodes are lost.
        A ``reset`` that raises is an EnvFailure like a ``step`` that does."""
        try:
            self.envs.close()
        except Exception:  # the broken env may fail to close too; it is dropped either way
            log.debug("closing a failed env raised", exc_info=True)
        (fresh,) = self.env_seed.spawn(1)
        try:
            self.envs = self._make_envs()
            with self.deadline.armed():
                self._start_episodes(fresh.generate_state(self.num_envs).tolist())
        except Exception as e:
            raise EnvFailure(e, "reset") from e
        self.policy.episodes_ended(np.ones(self.num_envs, dtype=bool))

    def _make_envs(self) -> Any:
        return make_vector_env(
            self.env_id, self.num_envs, step_delay=self.step_delay, atari=self.atari,
            options=self.env_options,
        )  # fmt: skip

    def ready(self) -> int:
        """Returns the worker index once constructed (lets the runtime wait for start-up)."""
        return self.worker_index

    def set_weights(self, message: WeightsMessage) -> bool:
        """Load ``message`` unless it is not newer than what we hold; True if loaded."""
        if message.version <= self.version:
            return False
        start = time.process_time()
        self.policy.set_weights(message)
        self.cpu["load"] += time.process_time() - start
        self.version = message.version
        self.loads.append((message.version, time.time()))
        return True

    def weight_loads(self) -> list[tuple[int, float]]:
        """The recent versions loaded and when (wall clock): how fast a broadcast arrives."""
        return list(self.loads)

    def cpu_times(self) -> dict[str, float]:
        """Cumulative process CPU seconds: ``sample`` (whole calls, weights loading excluded),
        of which ``env`` (vector env steps) and ``act`` (the policy); ``load`` (weights).
        Where a worker's time goes (benchmarks/atari_breakdown.py)."""
        return dict(self.cpu)

    def sample(self, weights: WeightsMessage | None = None) -> Rollout:
        """Act ``rollout_len`` steps in every env copy and return the fragment.

        If an env raises in ``step`` or ``reset``, or takes longer than ``env_step_timeout``,
        the vector env is recreated, the partial fragment discarded and a new one started;
        ``Rollout.env_errors`` counts these. After ``MAX_CONSECUTIVE_ENV_ERRORS`` in a row the
        error is raised: that env is broken.
        """
        if weights is not None:
            self.set_weights(weights)
        if self.version < 0:
            raise RuntimeError("RolloutWorker.sample called before any weights were set")
        start = time.process_time()
        with self.deadline.installed():
            rollout = self._sample_recovering()
        prioritize = getattr(self.policy, "initial_priorities", None)  # optional (Ape-X)
        if prioritize is not None:
            rollout = dataclasses.replace(rollout, priorities=prioritize(rollout))
        self.cpu["sample"] += time.process_time() - start
        return rollout

    def _sample_recovering(self) -> Rollout:
        failures = 0  # in a row
        while True:
            try:
                if self._failed_start is not None:
                    failure, self._failed_start = self._failed_start, None
                    raise failure
                if failures:
                    self._recreate_envs()
                rollout = self._sample_fragment()
            except EnvFailure as failure:
                failures += 1
                self.env_errors += 1
                if failures > MAX_CONSECUTIVE_ENV_ERRORS:
                    raise EnvBroken.of(self.env_id, failure, failures) from None
                if failures == 1:  # the rest of a streak is counted (worker/env_errors) only
                    log.warning("worker %d: env raised in %s: %r; recreating it",
                                self.worker_index, failure.call, failure.original)  # fmt: skip
                continue
            self.env_errors = 0  # reported with this fragment
            return rollout

    def _check_masks(self) -> None:
        """An observation whose action_mask allows no action is the env's error: one line."""
        empty = distributions.empty_mask_rows(self.spec.action_masks(self._obs),
                                              self.spec.mask_parts)  # fmt: skip
        if len(empty):
            b = int(empty[0])
            step = int(self._episode_length[b])
            raise EnvBroken(f"env {self.env_id}: the action_mask of env copy {b} allows no "
                            f"action at step {step} of its episode")  # fmt: skip

    def _sample_fragment(self) -> Rollout:
        T, B = self.rollout_len, self.num_envs
        obs_buf = np.empty((T, B, *self._obs.shape[1:]), dtype=self._obs.dtype)
        actions: np.ndarray = np.empty((T, B, *self.action_shape), dtype=self.action_dtype)
        logp = np.empty((T, B), dtype=np.float32)
        rewards = np.empty((T, B), dtype=np.float32)
        terminated = np.empty((T, B), dtype=bool)
        truncated = np.empty((T, B), dtype=bool)
        final_obs: list[np.ndarray] = []
        initial_state = getattr(self.policy, "fragment_state", lambda: None)()  # recurrent
        ep_returns: list[float] = []
        ep_lengths: list[int] = []
        for t in range(T):
            obs_buf[t] = self._obs
            if self.spec.masked:
                self._check_masks()
            acting = time.process_time()
            actions[t], logp[t] = self.policy.act(self._obs, self.rng)
            stepping = time.process_time()
            try:
                sent = (
                    actions[t] if self.action_box is None else np.clip(actions[t], *self.action_box)
                )
                with self.deadline.armed():
                    step = self.envs.step(sent)
                self._obs, rewards[t], terminated[t], truncated[t], info = step
            except Exception as e:
                raise EnvFailure(e) from e
            stepped = time.process_time()
            self.cpu["act"] += stepping - acting
            self.cpu["env"] += stepped - stepping
            self._episode_return += rewards[t]
            self._episode_length += 1
            done = terminated[t] | truncated[t]
            if done.any():
                # SAME_STEP autoreset: self._obs already holds the next episode's first
                # observation for these copies; the true last one is in info["final_obs"].
                for b in np.flatnonzero(done):
                    final_obs.append(info["final_obs"][b])
                    if not self.raw_scores:
                        ep_returns.append(float(self._episode_return[b]))
                        ep_lengths.append(int(self._episode_length[b]))
                if self.raw_scores:
                    final_info = info.get("final_info", {})
                    for b in np.flatnonzero(final_info.get("_raw_return", ())):
                        ep_returns.append(float(final_info["raw_return"][b]))
                        ep_lengths.append(int(final_info["raw_length"][b]))
                self._episode_return[done] = 0.0
                self._episode_length[done] = 0
                self.policy.episodes_ended(done)
        obs_shape = self._obs.shape[1:]
        return Rollout(
            observations=obs_buf,
            actions=actions,
            rewards=rewards,
            terminated=terminated,
            truncated=truncated,
            behaviour_logp=logp,
            last_observations=self._obs.copy(),
            final_observations=(
                np.stack(final_obs).astype(self._obs.dtype)
                if final_obs
                else np.zeros((0, *obs_shape), dtype=self._obs.dtype)
            ),
            policy_version=self.version,
            worker_index=self.worker_index,
            episode_returns=np.asarray(ep_returns, dtype=np.float64),
            episode_lengths=np.asarray(ep_lengths, dtype=np.int64),
            env_errors=self.env_errors,
            initial_state=initial_state,
        )

    def close(self) -> None:
        self.envs.close()
