"""Starting an embedded Ray or joining a cluster."""

from __future__ import annotations

import logging
import math
import os
import socket

import ray

from distrl.config import Config, ConfigError

log = logging.getLogger(__name__)

_connected = False  # whether start_ray connected this process (stop_ray undoes only that)


def start_ray(config: Config) -> None:
    """Join the Ray this process already uses; else, ``address`` unset, start an embedded local
    Ray sized for the run; else join that cluster. ``stop_ray`` undoes only what this started.

    An embedded Ray gets at least as many logical CPUs as the run reserves, so ``--workers 16``
    also starts on a 2-core laptop (the workers then share the cores, which is the point of a
    laptop run: the same command scales unchanged on a cluster).
    """
    if config.resources.address is not None:
        check_reachable(config.resources.address)
    if ray.is_initialized():  # this process uses a Ray already (a notebook, a Tune trial): join it
        if config.resources.address not in (None, "auto"):
            raise ConfigError(
                f"this process is connected to a Ray already; it cannot also join "
                f"{config.resources.address!r} (leave address unset to use the one it has)"
            )
        log.info("using the Ray this process is connected to")
        _warn_if_short(config)
        return
    # Quieten TensorFlow in every process Ray starts from here (they inherit the environment).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if config.resources.address is None:
        needed = math.ceil(reserved_cpus(config))
        num_cpus = max(os.cpu_count() or 1, needed)
        if num_cpus > (os.cpu_count() or 1):
            log.info("embedded Ray: %d logical CPUs on %s cores", num_cpus, os.cpu_count())
        _quiet_token_notice()
        # "local": a Ray of its own even when another runs on this machine (ray start, a test
        # suite, another run), which ray.init() would otherwise join and refuse num_cpus for.
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                 logging_level=logging.WARNING)  # fmt: skip
        _mark_connected()
        return
    try:
        ray.init(address=config.resources.address, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"cannot join the Ray cluster at {config.resources.address!r}: {first}"
        ) from None
    _mark_connected()
    _warn_if_short(config)


def reserved_cpus(config: Config) -> float:
    """The CPUs the run's actors reserve: its rollout workers' and its learners'."""
    r = config.resources
    return config.workers * r.worker_cpus + r.learners * r.learner_cpus


def _warn_if_short(config: Config) -> None:
    cpus = ray.cluster_resources().get("CPU", 0)
    reserved = reserved_cpus(config)
    if cpus < reserved:
        log.warning(
            "the cluster has %.0f CPUs and the run reserves %.0f: some workers wait for the "
            "autoscaler (or lower --workers)",
            cpus,
            reserved,
        )


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a ``HOST:PORT`` nothing listens on: ``ray.init`` would retry for minutes.

    ``auto`` (and ``ray://`` client addresses) are left to Ray, which fails quickly for them.
    """
    if address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"resources.address must be auto or HOST:PORT; got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise ConfigError(f"cannot reach the Ray cluster at {address!r}: {reason}") from None


def _mark_connected() -> None:
    global _connected
    _connected = True


def stop_ray() -> None:
    """Disconnect (and stop an embedded Ray) if start_ray connected; a Ray this process was
    already using, or a failed start, is left alone."""
    global _connected
    if _connected and ray.is_initialized():
        ray.shutdown()
    _connected = False


TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


def _drop_token_enabled_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Token authentication is enabled")


def _quiet_token_notice() -> None:
    """Ray warns on every new local cluster that it enabled token authentication, which needs
    nothing from the user: drop that notice (its warning when authentication is *disabled*
    stays)."""
    logger = logging.getLogger(TOKEN_LOGGER)
    if _drop_token_enabled_notice not in logger.filters:
        logger.addFilter(_drop_token_enabled_notice)
