"""The service's options and the refusals that happen before it starts (exit 2 for the CLIs)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from distrl.config import ConfigError

LOOPBACK = ("localhost",)


@dataclass(frozen=True)
class ServeOptions:
    listen: str = "127.0.0.1:50051"
    token: str | None = None
    admin_token: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    max_message_bytes: int = 64 * 1024 * 1024
    backlog_steps: int = 100_000
    threads: int = 16  # for calls that answer at once (Act, pushes, Status, ...)
    # WatchWeights streams and GetWeights calls waiting for a version, at most, at once;
    # each holds a thread of its own, apart from the ``threads`` above. Beyond: RESOURCE_EXHAUSTED.
    waiting_calls: int = 256


def split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"serve address must be HOST:PORT; got {listen!r}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_options(options: ServeOptions) -> None:
    """The refusals that happen before anything starts (exit 2 for the commands)."""
    host, _ = split_listen(options.listen)
    if not is_loopback(host) and not options.token:
        raise ConfigError(
            f"refusing to serve on {host!r} without a token: binding a non-loopback address "
            "needs --token (or DISTRL_TOKEN)"
        )
    if (options.tls_cert is None) != (options.tls_key is None):
        raise ConfigError("TLS needs both --tls-cert and --tls-key")
    for path in (options.tls_cert, options.tls_key):
        if path is not None:
            try:
                with open(path, "rb"):
                    pass
            except OSError as e:
                raise ConfigError(f"cannot read {path!r}: {e.strerror}") from None
