"""Replay shards: the replay of DQN, DDPG/TD3 and SAC as Ray actors beside the learner (Ape-X,
Horgan et al. 2018), when the algorithm's section sets ``replay_shards: N``.

Data flow of one update (the driver moves references and small summaries, never transitions):

1. Each finished fragment's reference goes to a shard's ``add`` (the shard on the worker's node
   if there is one, else round robin); the shard resolves it from the object store, turns it into
   (n-step) transitions at the worker's initial priorities, and returns the fragment's summary
   (env steps, finished episodes) and its own size, total and smallest priority.
2. The learner says how many gradient steps ``G`` the new env steps earned (``owe``).
3. The batch of ``N`` transitions per step is split over the shards in proportion to their total
   priority (their size, for uniform replay): a multinomial draw, so each transition's chance
   is its priority over the sum of all shards'. Shard ``k`` draws ``[G, n_k]`` within itself.
4. The learner receives the draws by reference, joins them along the batch, weighs them with one
   scale (the smallest priority of all shards: see :func:`importance_weights`), trains, and
   returns each shard's TD errors, which go back to that shard's ``update_priorities`` by
   reference. A shard runs its calls in order, so its next draw sees the new priorities;
   transitions overwritten between a draw and its priority update take the update anyway, as in
   Ape-X.

Shards are plain actors with no CPU reserved (their work is NumPy indexing). A shard that dies
loses its transitions (the run goes on with the others); checkpoints with ``--checkpoint-replay``
hold every shard's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import ray

from distrl.agents.replaying import Transitions, make_replay, replay_layout, shard_capacity
from distrl.replay import PrioritizedReplayBuffer, TransitionBatch
from distrl.types import EnvSpec, FragmentSummary, Rollout


@dataclass(frozen=True)
class ShardStats:
    size: int  # transitions held
    added: int  # transitions ever added
    total: float  # sum of p^alpha (uniform: the size)
    smallest: float  # smallest p^alpha held (uniform: 1)
    inserted_s: float  # seconds spent storing, ever


class ReplayShard:
    """One shard: ``buffer_size / replay_shards`` transitions, uniform or prioritized."""

    def __init__(self, *, section: Any, spec: EnvSpec, seed: int) -> None:
        self.replay = make_replay(section, **replay_layout(spec, section, shard_capacity(section)))
        self.transitions = Transitions.of(section)
        self.rng = np.random.default_rng(seed)
        self.inserted_s = 0.0

    def ready(self) -> bool:
        return True

    def add(self, *rollouts: Rollout) -> tuple[list[FragmentSummary], ShardStats]:
        start = time.perf_counter()
        for r in rollouts:
            self.transitions.store(self.replay, r)
        self.inserted_s += time.perf_counter() - start
        return [FragmentSummary.of(r) for r in rollouts], self.stats()

    def stats(self) -> ShardStats:
        replay = self.replay
        if isinstance(replay, PrioritizedReplayBuffer):
            total, smallest = replay.tree.total, replay.min_priority
        else:
            total, smallest = float(replay.size), 1.0
        return ShardStats(replay.size, replay.added, total, smallest, self.inserted_s)

    def sample(
        self, shape: tuple[int, int]
    ) -> tuple[tuple[TransitionBatch, np.ndarray], np.ndarray | None]:
        """``((transitions, p^alpha), slots)`` of ``shape``; a caller asks for two returns so
        that the slots can stay here, by reference, for :meth:`update_priorities`."""
        if isinstance(self.replay, PrioritizedReplayBuffer):
            batch, slots, priorities = self.replay.sample_priorities(shape, self.rng)
            return (batch, priorities), slots
        return (self.replay.sample(shape, self.rng), np.ones(shape)), None

    def update_priorities(self, slots: np.ndarray | None, boxed: list[Any]) -> None:
        """``boxed``: the learner's TD errors by reference, in a list so that Ray hands the
        reference over instead of resolving it; an update that failed changes nothing here."""
        try:
            td_errors = ray.get(boxed[0])
        except ray.exceptions.RayError:
            return  # the driver restarts the learner or drops the update
        if slots is not None:
            assert isinstance(self.replay, PrioritizedReplayBuffer)
            self.replay.update_priorities(slots, td_errors)

    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict]:
        return self.replay.arrays(), {**self.replay.counters(),
                                      "rng": self.rng.bit_generator.state}  # fmt: skip

    def restore(self, arrays: dict[str, np.ndarray], counters: dict) -> None:
        counters = dict(counters)
        self.rng.bit_generator.state = counters.pop("rng")
        self.replay.load(arrays, counters)


SHARDS = "replay_shards/"  # the prefix of the shards' arrays in a checkpoint


def without_shards(arrays: dict, scalars: dict) -> tuple[dict, dict]:
    """A checkpoint's learner part: the replay shards' arrays and counters left out."""
    arrays = {k: v for k, v in arrays.items() if not k.startswith(SHARDS)}
    return arrays, {k: v for k, v in scalars.items() if k != "replay_shards"}


def split_batch(totals: np.ndarray, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """How many of ``batch_size`` transitions each shard draws: multinomial in its total."""
    return rng.multinomial(batch_size, totals / totals.sum())


class ShardedReplay:
    """The driver's side: creates the shards and runs steps 1-4 of one update (module doc)."""

    def __init__(
        self, section: Any, spec: EnvSpec, seed: int, runtime_env: dict | None, spread: dict
    ) -> None:
        self.section = section
        seeds = np.random.SeedSequence(seed).generate_state(section.replay_shards + 1)
        self.rng = np.random.default_rng(int(seeds[-1]))
        # Restarted empty if its process dies (its transitions are lost, the run goes on).
        remote: Any = ray.remote(ReplayShard).options(num_cpus=0, runtime_env=runtime_env,
                                                      max_restarts=-1, **spread)  # fmt: skip
        self.shards = [remote.remote(section=section, spec=spec, seed=int(s)) for s in seeds[:-1]]
        ray.get([s.ready.remote() for s in self.shards])
        self.stats: list[ShardStats] = ray.get([s.stats.remote() for s in self.shards])
        self._route: dict[int, int] = {}  # worker index -> shard index
        self._next = 0

    def place_workers(self, worker_nodes: dict[int, str], shard_nodes: list[str]) -> None:
        """Each worker's fragments go to a shard on its node when there is one."""
        for worker, node in worker_nodes.items():
            local = [k for k, n in enumerate(shard_nodes) if n == node]
            self._route[worker] = local[worker % len(local)] if local else self._round_robin()

    def _round_robin(self) -> int:
        self._next = (self._next + 1) % len(self.shards)
        return self._next

    def store(
        self, fragments: list[tuple[int | None, Any]]
    ) -> tuple[list[FragmentSummary], list[Any]]:
        """Step 1: ``(worker index or None, fragment reference)`` into the shards, one call
        each; the summaries of those stored and the references that failed (a lost worker or
        shard), which were stored nowhere."""
        calls = []
        for worker, ref in fragments:
            k = self._route.get(worker) if worker is not None else None
            k = self._round_robin() if k is None else k
            calls.append((k, ref, self.shards[k].add.remote(ref)))
        summaries: list[FragmentSummary] = []
        failed = []
        for k, ref, call in calls:
            try:
                got, self.stats[k] = ray.get(call)
            except ray.exceptions.RayError:
                failed.append(ref)
            else:
                summaries += got
        return summaries, failed

    @property
    def size(self) -> int:
        return sum(s.size for s in self.stats)

    def draw(self, steps: int) -> tuple[list[Any], list[tuple[int, Any]], int, float]:
        """Step 3: references to ``[steps, n_k]`` draws, each shard's ``(index, slots ref)``,
        the transitions ever added and the smallest priority."""
        totals = np.array([s.total for s in self.stats], dtype=np.float64)
        counts = split_batch(totals, self.section.batch_size, self.rng)
        samples, slots = [], []
        for k, n in enumerate(counts):
            if n > 0:
                sample, slot = self.shards[k].sample.options(num_returns=2).remote((steps, int(n)))
                samples.append(sample)
                slots.append((k, slot))
        held = [s.smallest for s in self.stats if s.size > 0]
        return samples, slots, sum(s.added for s in self.stats), min(held, default=1.0)

    def reprioritize(self, slots: list[tuple[int, Any]], td_errors: list[Any]) -> None:
        """Step 4's return: each shard's TD errors by reference (not waited for)."""
        for (k, slot), errors in zip(slots, td_errors, strict=True):
            self.shards[k].update_priorities.remote(slot, [errors])

    def inserts(self) -> tuple[int, float]:
        """Transitions ever added and seconds spent storing them, over all shards."""
        return sum(s.added for s in self.stats), sum(s.inserted_s for s in self.stats)

    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict]:
        parts = ray.get([s.checkpoint.remote() for s in self.shards])
        arrays = {f"shard{k}/{name}": v for k, (a, _) in enumerate(parts) for name, v in a.items()}
        return arrays, {"replay_shards": [c for _, c in parts]}

    def restore(self, arrays: dict[str, np.ndarray], scalars: dict) -> None:
        saved = scalars.get("replay_shards")
        if saved is None:
            return  # a checkpoint without the replay: the shards keep what they hold
        if len(saved) != len(self.shards):
            raise ValueError(f"the checkpoint holds {len(saved)} replay shards; this run has "
                             f"{len(self.shards)} (replay_shards)")  # fmt: skip
        calls = []
        for k, counters in enumerate(saved):
            mine = {n.removeprefix(f"shard{k}/"): v for n, v in arrays.items()
                    if n.startswith(f"shard{k}/")}  # fmt: skip
            calls.append(self.shards[k].restore.remote(mine, counters))
        ray.get(calls)
        self.stats = ray.get([s.stats.remote() for s in self.shards])

    def shutdown(self) -> None:
        for s in self.shards:
            ray.kill(s)
