"""Process-wide TensorFlow settings, applied before the first TensorFlow op runs."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)
_configured = False


def configure_tensorflow(*, threads: int | None, use_gpu: bool) -> str:
    """Set TensorFlow's thread pools and GPU visibility; returns the device name to use.

    Rollout workers call this with ``threads=1, use_gpu=False``: many TF processes on few cores
    otherwise spawn a thread pool per core each and thrash. The learner asks for the GPU and gets
    memory growth so it does not grab the whole card. Only the first call in a process has an
    effect (TensorFlow fixes these settings once its runtime starts).
    """
    global _configured
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not _configured:
        _configured = True
        if threads is not None:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        if use_gpu and gpus:
            for gpu in gpus:
                tf.config.experimental.set_memory_growth(gpu, True)
        else:
            tf.config.set_visible_devices([], "GPU")
    if use_gpu and gpus:
        return "/GPU:0"
    if use_gpu:
        log.warning("a GPU was requested but TensorFlow sees none; using the CPU")
    return "/CPU:0"
