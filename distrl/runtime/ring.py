"""A ring all-reduce over TCP: how data-parallel learners sum their gradients.

Each learner listens on a port of its node, connects to the next learner's and accepts the
previous one's, so the group forms a ring. ``allreduce`` is the bandwidth-optimal ring: the
vector is cut into ``size`` chunks; ``size - 1`` steps of reduce-scatter (each learner passes
a chunk to the next and adds the one it receives) leave each learner with one chunk summed
over the group, and ``size - 1`` steps of all-gather pass the summed chunks round. Each
learner sends and receives ``2 (size - 1) / size`` times the vector, whatever the group's size,
and every chunk is summed once, in one place, so every learner ends with the same bits.

A peer that dies closes its sockets: the others' next ``allreduce`` raises ConnectionError
(a peer whose node vanished: after ``timeout_s``), and the runtime restarts the group.
"""

from __future__ import annotations

import socket
import threading

import numpy as np


class SocketRing:
    """One member's end of the ring (``distrl.agents.data_parallel.Collective``)."""

    rank: int
    size: int

    def __init__(self, host: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._listener = socket.create_server((host, 0))
        self.address = (host, self._listener.getsockname()[1])
        self.rank, self.size = 0, 1
        self._next: socket.socket | None = None
        self._prev: socket.socket | None = None

    def connect(self, addresses: list[tuple[str, int]], rank: int) -> None:
        """Join the ring of ``addresses`` (every member's :attr:`address`, by rank) as
        ``rank``; every member calls this at the same time."""
        self.rank, self.size = rank, len(addresses)
        accepted: list[socket.socket] = []
        self._listener.settimeout(self.timeout_s)
        accepting = threading.Thread(target=lambda: accepted.append(self._listener.accept()[0]))
        accepting.start()
        host, port = addresses[(rank + 1) % self.size]
        self._next = socket.create_connection((host, port), timeout=self.timeout_s)
        accepting.join()
        self._listener.close()
        if not accepted:
            raise ConnectionError(f"learner {rank}: the previous learner did not connect")
        self._prev = accepted[0]
        for s in (self._next, self._prev):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(self.timeout_s)

    def allreduce(self, x: np.ndarray) -> np.ndarray:
        """The elementwise sum of every member's ``x`` (same shape and dtype on all)."""
        out = np.array(x).ravel()
        n = self.size
        if n == 1:
            return out.reshape(np.shape(x))
        bounds = [len(out) * k // n for k in range(n + 1)]

        def chunk(c: int) -> np.ndarray:
            c %= n
            return out[bounds[c] : bounds[c + 1]]

        for step in range(n - 1):  # reduce-scatter: then chunk rank+1 is summed here
            into = chunk(self.rank - step - 1)
            into += self._exchange(chunk(self.rank - step), len(into))
        for step in range(n - 1):  # all-gather: pass the summed chunks round
            into = chunk(self.rank - step)
            into[:] = self._exchange(chunk(self.rank + 1 - step), len(into))
        return out.reshape(np.shape(x))

    def _exchange(self, send: np.ndarray, count: int) -> np.ndarray:
        """Send ``send`` to the next member while receiving ``count`` numbers of its dtype from
        the previous one (at once: two members both sending first would fill the sockets'
        buffers)."""
        assert self._next is not None and self._prev is not None
        failed: list[BaseException] = []

        def sending() -> None:
            try:
                assert self._next is not None
                self._next.sendall(np.ascontiguousarray(send).tobytes())
            except OSError as e:
                failed.append(e)

        sender = threading.Thread(target=sending)
        sender.start()
        data = bytearray(count * send.dtype.itemsize)
        view, got = memoryview(data), 0
        try:
            while got < len(data):
                n = self._prev.recv_into(view[got:])
                if n == 0:
                    raise ConnectionError(f"learner {self.rank}: the previous learner is gone")
                got += n
        finally:
            sender.join()
        if failed:
            raise ConnectionError(f"learner {self.rank}: the next learner is gone ({failed[0]})")
        return np.frombuffer(data, send.dtype)

    def close(self) -> None:
        for s in (self._next, self._prev, self._listener):
            if s is not None:
                s.close()
