"""Execution: the only package that imports Ray.

A *backend* runs the plain worker and learner classes somewhere: ``LocalBackend`` in this
process (``--workers 0``), ``RayBackend`` as Ray actors. The training loops are written against
the backend interface, so both modes run the same loops.
"""

from distrl.runtime.async_loop import run_async
from distrl.runtime.backend import Backend, LocalBackend, make_backend
from distrl.runtime.sync_loop import run_sync

LOOPS = {"sync": run_sync, "async": run_async}  # by config.mode

__all__ = ["LOOPS", "Backend", "LocalBackend", "make_backend", "run_async", "run_sync"]
