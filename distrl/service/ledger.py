"""Episode returns the service computes itself from the experience it is pushed.

External actors are not trusted with statistics: the returns and lengths that reach the
learner's metrics and the stop rule are summed here, per env stream, from the rewards and
episode ends the actor pushed. A stream is one env copy of one client connection (its gRPC
peer and the row index). An episode counts only if the service saw it from its first step,
so the first episode of each stream (begun before the service saw it) is not counted.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

MAX_STREAMS = 1024  # client connections remembered (least recently pushed forgotten first)


@dataclass
class _Stream:
    returns: np.ndarray  # [B] float64: the reward sum of each env copy's episode so far
    lengths: np.ndarray  # [B] int64
    seen_start: np.ndarray  # [B] bool: the service saw the current episode from its start


@dataclass(frozen=True)
class Episodes:
    """The episodes a push ended, in (step, env) order: what the service computed for each."""

    returns: np.ndarray  # [K] float64
    lengths: np.ndarray  # [K] int64
    verified: np.ndarray  # [K] bool: seen from its first step, so its return is exact

    def counted(self) -> tuple[np.ndarray, np.ndarray]:
        """Returns and lengths of the verified episodes: what metrics and stopping see."""
        return self.returns[self.verified], self.lengths[self.verified]


class EpisodeLedger:
    """Per-stream running sums, so that every ended episode's return is known exactly."""

    def __init__(self, max_streams: int = MAX_STREAMS) -> None:
        self._streams: OrderedDict[str, _Stream] = OrderedDict()
        self._max = max_streams
        self._lock = threading.Lock()

    def preview(
        self, peer: str, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray
    ) -> Episodes:
        """The episodes that ``[T, B]`` rewards and ends would close, without recording them
        (a push can still be refused after this)."""
        with self._lock:
            stream = self._stream(peer, rewards.shape[1])
            return _walk(_copy(stream), rewards, terminated | truncated)

    def record(
        self, peer: str, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray
    ) -> None:
        """Add an accepted push to its stream."""
        with self._lock:
            stream = self._stream(peer, rewards.shape[1])
            _walk(stream, rewards, terminated | truncated)
            self._streams.move_to_end(peer)
            while len(self._streams) > self._max:
                self._streams.popitem(last=False)

    def _stream(self, peer: str, envs: int) -> _Stream:
        stream = self._streams.get(peer)
        if stream is None or len(stream.returns) != envs:  # new, or the client changed shape
            stream = _Stream(np.zeros(envs), np.zeros(envs, np.int64), np.zeros(envs, bool))
            self._streams[peer] = stream
        return stream


def _copy(s: _Stream) -> _Stream:
    return _Stream(s.returns.copy(), s.lengths.copy(), s.seen_start.copy())


def _walk(stream: _Stream, rewards: np.ndarray, done: np.ndarray) -> Episodes:
    """Advance ``stream`` over ``[T, B]`` steps; the episodes that ended, in (t, b) order."""
    returns, lengths, verified = [], [], []
    for t in range(rewards.shape[0]):
        stream.returns += rewards[t]
        stream.lengths += 1
        for b in np.flatnonzero(done[t]):
            returns.append(stream.returns[b])
            lengths.append(stream.lengths[b])
            verified.append(stream.seen_start[b])
        stream.returns[done[t]] = 0.0
        stream.lengths[done[t]] = 0
        stream.seen_start[done[t]] = True
    return Episodes(
        returns=np.asarray(returns, np.float64),
        lengths=np.asarray(lengths, np.int64),
        verified=np.asarray(verified, bool),
    )
