"""Checkpoints on disk: written atomically, the last K kept, validated on load (no framework).

A checkpoint is a directory ``ckpt-<updates>`` holding

* ``arrays.npz``: every array of the learner's state (weights, optimizer slots, replay), by key;
* ``meta.json``: format version, the run's config, the driver's counters, the learner's
  scalar counters, and the shape and dtype of every array (checked on load);
* ``policy.keras``: the policy as a plain Keras file (see ``learner.policy_bytes``).

It is first written to a hidden temporary directory and then renamed, so a reader (or a resume
after ``kill -9``) sees either the whole checkpoint or none of it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from distrl.agents import registry
from distrl.config import ConfigError
from distrl.ops.tracking import TrainingProgress

FORMAT_VERSION = 1
PREFIX = "ckpt-"


class CheckpointError(ConfigError):
    """A checkpoint that cannot be used, phrased as one line naming the file and the reason
    (bad input, like a config error: the launcher exits with status 2)."""


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    arrays: dict[str, np.ndarray]  # the learner's arrays by key
    scalars: dict[str, Any]  # the learner's counters and RNG state (JSON values)
    counters: dict[str, Any]  # the driver's TrainingProgress counters
    config: dict[str, Any]  # the run's config as written
    # The env's spaces as the policy sees them (EnvSpec as a dict), so that a checkpoint's
    # policy acts and exports without the env; None in checkpoints written before.
    spec: dict[str, Any] | None = None


POLICY_INFO = "distrl.json"  # inside a .keras file: what acting needs beside the model


def with_policy_info(policy: bytes, config: dict[str, Any], spec: dict[str, Any] | None) -> bytes:
    """A ``.keras`` file's bytes with ``distrl.json`` added (the run's config and the env's
    spaces): ``Policy.from_keras`` then needs no env or algo. Keras ignores the extra member."""
    buffer = io.BytesIO(policy)
    with zipfile.ZipFile(buffer, "a") as archive:
        if POLICY_INFO not in archive.namelist():
            archive.writestr(POLICY_INFO, json.dumps({"config": config, "spec": spec}))
    return buffer.getvalue()


def read_policy_info(path: str | Path) -> dict[str, Any] | None:
    """The ``distrl.json`` of a ``.keras`` file, or None (a file saved by other code)."""
    try:
        with zipfile.ZipFile(path) as archive:
            if POLICY_INFO not in archive.namelist():
                return None
            info = json.loads(archive.read(POLICY_INFO))
    except (OSError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable .keras file ({e})") from None
    return info if isinstance(info, dict) else None


def write_checkpoint(
    root: str | Path,
    *,
    updates: int,
    arrays: dict[str, np.ndarray],
    scalars: dict[str, Any],
    counters: dict[str, Any],
    config: dict[str, Any],
    policy: bytes | None = None,
    keep: int = 3,
    spec: dict[str, Any] | None = None,
) -> Path:
    """Write ``root/ckpt-<updates>`` atomically and delete all but the newest ``keep``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
    try:
        np.savez(tmp / "arrays.npz", **arrays)  # type: ignore[arg-type]
        meta = {
            "format": FORMAT_VERSION,
            "config": config,
            "counters": counters,
            "scalars": scalars,
            "arrays": {k: [list(v.shape), v.dtype.str] for k, v in arrays.items()},
            **({"spec": spec} if spec is not None else {}),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        if policy is not None:
            (tmp / "policy.keras").write_bytes(with_policy_info(policy, config, spec))
        for f in tmp.iterdir():
            _fsync(f)
        _fsync(tmp)
        target = root / f"{PREFIX}{updates:09d}"
        if target.exists():  # the same update count again (e.g. at the end): swap, then drop
            old = Path(tempfile.mkdtemp(dir=root, prefix=".old-"))
            os.rename(target, old / "ckpt")
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
        _fsync(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in checkpoints(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def checkpoints(root: str | Path) -> list[Path]:
    """The complete checkpoints under ``root``, oldest first (temporary ones are never listed)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX))


def resolve(path: str | Path) -> Path:
    """``path`` itself if it is a checkpoint, else the newest checkpoint inside it."""
    p = Path(path)
    if (p / "meta.json").exists() or p.name.startswith(PREFIX):
        return p
    found = checkpoints(p)
    if not found:
        raise CheckpointError(f"no checkpoint in {str(p)!r}")
    return found[-1]


def read_meta(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The checkpoint ``path`` resolves to and its ``meta.json`` (counters, scalars, the run's
    config), checked; the arrays are not read."""
    p = resolve(path)
    meta_path = p / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{meta_path}: missing (not a checkpoint)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{meta_path}: not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{meta_path}: unsupported checkpoint format {meta.get('format')!r}")
    if not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{meta_path}: holds no run config")
    return p, meta


def check_policy_file(path: Path) -> None:
    """A ``.keras`` policy file that exists and is a whole archive (a ``.keras`` file is a zip:
    a truncated or overwritten one fails its directory or a member's CRC); else one line."""
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise CheckpointError(f"{path}: damaged, not a complete .keras file ({e})") from None
    if bad is not None:
        raise CheckpointError(f"{path}: damaged, member {bad!r} fails its checksum")


def checkpoint_config(path: str | Path) -> dict[str, Any]:
    """The config of the run that wrote the checkpoint at ``path`` (or the newest inside it)."""
    return read_meta(path)[1]["config"]


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Load and check a checkpoint; any problem is a CheckpointError naming the file."""
    p, meta = read_meta(path)
    arrays_path = p / "arrays.npz"
    try:
        with np.load(arrays_path) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise CheckpointError(f"{arrays_path}: missing") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise CheckpointError(f"{arrays_path}: unreadable ({type(e).__name__}: {e})") from None
    for key, (shape, dtype) in meta["arrays"].items():
        got = arrays.get(key)
        if got is None or list(got.shape) != shape or got.dtype.str != dtype:
            raise CheckpointError(f"{arrays_path}: array {key!r} is missing or damaged")
    return Checkpoint(
        path=p,
        arrays=arrays,
        scalars=meta["scalars"],
        counters=meta["counters"],
        config=meta["config"],
        spec=meta.get("spec"),
    )


def check_same_run(checkpoint: Checkpoint, *, algo: str, env: str, own_section: Any = None) -> None:
    """The checkpoint trained the same algorithm on the same env as this run, and its replay
    buffer (if it holds one) fits this run's (``own_section``: the algorithm's section, which
    sets its capacity); else one line."""
    for key, value in (("algo", algo), ("env", env)):
        if checkpoint.config.get(key) != value:
            raise CheckpointError(
                f"{checkpoint.path}: incompatible with this run: its {key} is "
                f"{checkpoint.config.get(key)!r}, the run's is {value!r}"
            )
    stored = checkpoint.scalars.get("replay", {}).get("size", 0)
    entry = registry.get(algo)
    capacity = entry.replay_capacity(own_section)
    if stored > capacity:
        raise CheckpointError(
            f"{checkpoint.path}: holds {stored} replay transitions, more than this run's "
            f"{entry.replay_capacity_key or 'replay capacity'} {capacity}"
        )


def check_matches(arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray], where: Path):
    """The checkpoint's arrays fit the learner's (same keys and shapes); else one line."""
    for key, ref in expected.items():
        got = arrays.get(key)
        if got is None:
            raise CheckpointError(f"{where}: incompatible with this run: no array {key!r}")
        if got.shape != ref.shape:
            raise CheckpointError(
                f"{where}: incompatible with this run: {key} has shape {got.shape}, "
                f"the run needs {ref.shape} (different env, model or algo?)"
            )


def _fsync(path: Path) -> None:
    """Flush a file's or a directory's entry to disk, so a rename never outlives its contents."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LearnerSource(Protocol):
    """What checkpointing needs from a backend (see ``distrl.runtime.backend.Backend``)."""

    def learner_checkpoint(self, include_replay: bool) -> tuple[dict[str, np.ndarray], dict]: ...

    def policy_bytes(self) -> bytes: ...


class Checkpointer:
    """Writes checkpoints of a run: when due (seconds or updates since the last), and on demand
    (Ctrl-C, SIGTERM, the end)."""

    def __init__(
        self,
        *,
        root: str | Path,
        backend: LearnerSource,
        config: dict[str, Any],
        every_s: float | None,
        every_updates: int | None,
        keep: int,
        include_replay: bool,
        spec: dict[str, Any] | None = None,
    ) -> None:
        self.root, self.backend, self.config = Path(root), backend, config
        self.spec = spec
        self.every_s, self.every_updates = every_s, every_updates
        self.keep, self.include_replay = keep, include_replay
        self._last_time = time.perf_counter()
        self._last_updates: int | None = None

    def maybe_save(self, state: TrainingProgress) -> None:
        if self._last_updates is None:
            self._last_updates = state.updates  # the first call (after a resume, too)
        by_time = self.every_s is not None and time.perf_counter() - self._last_time >= self.every_s
        by_updates = (
            self.every_updates is not None
            and state.updates - self._last_updates >= self.every_updates
        )
        if by_time or by_updates:
            self.save(state)

    def save(self, state: TrainingProgress) -> Path:
        arrays, scalars = self.backend.learner_checkpoint(self.include_replay)
        path = write_checkpoint(
            self.root,
            updates=state.updates,
            arrays=arrays,
            scalars=scalars,
            counters=state.counters(),
            config=self.config,
            policy=self.backend.policy_bytes(),
            keep=self.keep,
            spec=self.spec,
        )
        self._last_time, self._last_updates = time.perf_counter(), state.updates
        return path
