"""A run's own folder, ``<logdir>/<run_name>``: choosing it, writing its ``config.yaml``, and
checking the checkpoint folder can be written, all before anything starts."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

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
