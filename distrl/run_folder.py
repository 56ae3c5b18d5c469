"""A run's own folder, ``<logdir>/<run_name>``: choosing it, writing its ``config.yaml``,
checking the checkpoint folder and the service's options before anything starts; removing it
again after a start that failed on bad input; ``error.txt`` when a run fails."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import yaml

from distrl.config import Config, ConfigError
from distrl.ops.checkpoint import Checkpoint


def run_dir_of(config: Config, resume: Checkpoint | None) -> Path:
    """``<logdir>/<run_name>``: the folder of this run alone. A resumed run continues in the
    folder of the run it resumes (unless ``run_name`` is given); a new one never writes into a
    folder that exists, so a default name (``<algo>-<env>-<start time>``) gets a suffix and a
    chosen one that is taken is an error."""
    if resume is not None and config.run_name is None and resume.config.get("run_name"):
        return Path(resume.config["logdir"]) / resume.config["run_name"]
    root = Path(config.logdir)
    if config.run_name is not None:
        if "/" in config.run_name or config.run_name in ("", ".", ".."):
            raise ConfigError(f"run_name must be a plain folder name; got {config.run_name!r}")
        run_dir = root / config.run_name
        if run_dir.exists() and resume is None:
            raise ConfigError(
                f"run folder {str(run_dir)!r} exists already: choose another run_name, or "
                "resume that run"
            )
        return run_dir
    env = config.env.rpartition(":")[2].replace("/", "-")
    base = f"{config.algo}-{env}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir, n = root / base, 1
    while run_dir.exists():
        n += 1
        run_dir = root / f"{base}-{n}"
    return run_dir


def prepare_run_dir(config: Config, run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    except OSError as e:
        raise ConfigError(f"logdir {str(run_dir)!r} is not writable: {e.strerror}") from None


def check_checkpoint_dir(config: Config) -> None:
    """Fail now, not at the first checkpoint, if the checkpoint directory cannot be written."""
    if config.checkpoint.dir is None:
        return
    try:
        Path(config.checkpoint.dir).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=config.checkpoint.dir):
            pass
    except OSError as e:
        raise ConfigError(
            f"checkpoint_dir {config.checkpoint.dir!r} is not writable: {e.strerror}"
        ) from None


def discard_unstarted(run_dir: Path) -> bool:
    """Remove a run folder that holds nothing but its ``config.yaml`` (a start that failed on
    bad input before training); whether it was removed."""
    if run_dir.is_dir() and [p.name for p in run_dir.iterdir()] == ["config.yaml"]:
        shutil.rmtree(run_dir, ignore_errors=True)
        return True
    return False


def one_line(error: BaseException) -> str:
    """An exception as one line: its own message if it is a distrl one-liner (``one_line``
    set: an env that kept raising), else ``Type: first line``."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    if getattr(error, "one_line", False):
        return first
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def write_error(run_dir: Path, failure: BaseException) -> Path:
    """The failure's full traceback (a remote one included, and the ``details`` of what it
    wraps, e.g. an env's own traceback) in ``<run>/error.txt``."""
    path = run_dir / "error.txt"
    cause = getattr(failure, "cause", None) or failure
    details = getattr(cause, "details", "")
    text = "".join(traceback.format_exception(failure))
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text + (f"\nThe original error:\n{details}" if details else ""))
    except OSError as e:
        logging.getLogger(__name__).warning("could not write %s: %s", path, e)
    return path


def serve_options(config: Config, token: str | None, admin_token: str | None) -> Any:
    """The service's options if ``serve`` is set, checked (a refusal is a ConfigError)."""
    if config.service.listen is None:
        return None
    from distrl.service.server import ServeOptions, check_options

    options = ServeOptions(
        listen=config.service.listen,
        token=token or None,
        admin_token=admin_token or None,
        tls_cert=config.service.tls_cert,
        tls_key=config.service.tls_key,
        backlog_steps=config.service.backlog,
    )
    check_options(options)
    return options
