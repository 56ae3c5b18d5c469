"""Process-wide TensorFlow settings, applied before the first TensorFlow op runs.

Every process that runs TensorFlow (rollout worker, learner, an in-process run) calls
:func:`configure_tensorflow` before importing anything else that imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

log = logging.getLogger(__name__)
_configured = False


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a moment.

    TensorFlow's C++ side prints start-up lines (oneDNN, "could not find cuda drivers") before
    it reads TF_CPP_MIN_LOG_LEVEL; with 16 workers they would bury the progress display.
    Python exceptions are unaffected (they print after the block). DISTRL_TF_VERBOSE=1 keeps
    the lines.
    """
    if os.environ.get("DISTRL_TF_VERBOSE") == "1":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def configure_tensorflow(
    *, threads: int | None, use_gpu: bool | None, precision: str = "float32"
) -> str:
    """Set TensorFlow's thread pools and GPU visibility; returns the device name to use.

    ``use_gpu``: True asks for a GPU (a warning if there is none), None takes one if present,
    False hides every GPU. A learner passes its ``model.precision``: on a GPU that emulates
    bfloat16 (compute capability below 8.0) ``mixed_bfloat16`` gets a one-line warning (the
    driver warns about CPUs, from its own flags).

    Rollout workers call this with ``threads=1, use_gpu=False``: many TF processes on few cores
    otherwise spawn a thread pool per core each and thrash. The learner asks for the GPU and gets
    memory growth so it does not grab the whole card. Only the first call in a process has an
    effect (TensorFlow fixes these settings once its runtime starts).
    """
    global _configured
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _quiet_native_stderr():
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    want_gpu = bool(gpus) and use_gpu is not False
    if not _configured:
        _configured = True
        try:
            if threads is not None:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            if want_gpu:
                for gpu in gpus:
                    tf.config.experimental.set_memory_growth(gpu, True)
            else:
                tf.config.set_visible_devices([], "GPU")
        except RuntimeError:
            # TensorFlow already ran an op in this process (an in-process run, or a test): its
            # settings are fixed by now and stay as they are.
            log.debug("TensorFlow already initialised; thread and device settings unchanged")
    if want_gpu:
        from distrl.models.precision import gpu_bfloat16_warning

        slow = gpu_bfloat16_warning(precision, gpu_compute_capability())
        if slow:
            log.warning(slow)
        return "/GPU:0"
    if use_gpu:
        log.warning("a GPU was requested but TensorFlow sees none; using the CPU")
    return "/CPU:0"


def gpu_compute_capability() -> tuple[int, int] | None:
    """(major, minor) of the first GPU TensorFlow sees, or None (no GPU, or not reported)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    capability = details.get("compute_capability")
    if not capability:
        return None
    major, minor = tuple(capability)[:2]
    return int(major), int(minor)
