"""Checkpoint files: written atomically, checked by a SHA-256 digest when read.

Layout: the magic line ``BIDIR-CHECKPOINT 1``, the hex SHA-256 of the payload on the
second line, then the payload, a ``torch.save`` archive. The file is written to a
temporary name in the same folder, flushed and fsynced, then moved over the old one with
``os.replace``, so a crash leaves either the old or the new checkpoint, never half of one.

With ``previous`` (the trainer passes ``checkpoint.prev.pt``), the checkpoint being
replaced is kept under that name: ``load_newest_checkpoint`` falls back to it when the
newest one is missing, truncated or corrupted, moving the bad one aside to
``checkpoint.corrupt.pt``. A write that fails (full disk, read-only folder) raises
``CheckpointWriteError`` (an OSError) and leaves the checkpoints on disk as they were.

The payload is unpickled with ``weights_only=False`` (it holds numpy env states): load
only checkpoints you wrote yourself, as with any pickle.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "CheckpointError",
    "CheckpointWriteError",
    "config_differences",
    "load_checkpoint",
    "load_newest_checkpoint",
    "remove_stale_temporaries",
    "save_checkpoint",
]

_MAGIC = b"BIDIR-CHECKPOINT 1\n"


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or not ours."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (full disk, read-only folder, ...); the files on
    disk are as they were before the attempt. ``strerror`` is a one-line explanation."""

    def __str__(self) -> str:
        return str(self.strerror)


def _fsync_dir(folder: Path) -> None:
    """Make the renames in folder durable (best effort: not every platform allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(
    state: dict[str, Any],
    path: str | os.PathLike[str],
    *,
    previous: str | os.PathLike[str] | None = None,
) -> None:
    """Write ``state`` to ``path`` atomically (temporary file + os.replace).

    With ``previous``, the checkpoint at ``path`` (if any) is kept as ``previous`` once the
    new one is complete on disk; at every moment ``path`` holds a whole checkpoint, the old
    or the new one. An OSError is raised as CheckpointWriteError, nothing changed.
    """
    path = Path(path)
    payload = io.BytesIO()
    torch.save(state, payload)
    data = payload.getvalue()
    digest = hashlib.sha256(data).hexdigest().encode("ascii")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    prev_tmp = None
    try:
        with open(tmp, "wb") as f:
            f.write(_MAGIC + digest + b"\n")
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if previous is not None and path.is_file():
            previous = Path(previous)
            prev_tmp = previous.with_name(f".{previous.name}.tmp-{os.getpid()}")
            try:  # a second name for the old checkpoint: path stays in place
                if prev_tmp.exists():
                    prev_tmp.unlink()
                os.link(path, prev_tmp)
                os.replace(prev_tmp, previous)
            except OSError:  # no hard links here: path is missing until the next replace
                os.replace(path, previous)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as err:
        why = err.strerror or str(err)
        kept = (
            "the checkpoint on disk is left as it was" if path.is_file() else "none was written"
        )
        raise CheckpointWriteError(
            err.errno, f"could not write the checkpoint {path}: {why}; {kept}"
        ) from err
    finally:
        for t in (tmp, prev_tmp):
            if t is not None:
                try:
                    t.unlink(missing_ok=True)
                except OSError:
                    pass


def remove_stale_temporaries(run_dir: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files a killed writer left in run_dir (``.checkpoint.pt.tmp-*``
    and the like); call it only while holding the run's lock. Returns what was removed."""
    removed = []
    for pattern in (".checkpoint*.pt.tmp-*", ".metrics.*.tmp-*"):
        for p in Path(run_dir).glob(pattern):
            try:
                p.unlink()
            except OSError:
                continue
            removed.append(p)
    return removed


def load_newest_checkpoint(
    path: str | os.PathLike[str],
    previous: str | os.PathLike[str],
    corrupt: str | os.PathLike[str],
    warn: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], Path]:
    """The state in ``path``, or, when that file is missing or damaged, in ``previous``.

    A damaged ``path`` is moved to ``corrupt`` (for inspection; it is never read again)
    and ``warn`` (default: a line on stderr) says so. Returns (state, the file read). If
    ``previous`` cannot be used either, the CheckpointError of ``path`` is raised.
    """
    path, previous, corrupt = Path(path), Path(previous), Path(corrupt)
    if warn is None:
        warn = _warn
    try:
        return load_checkpoint(path), path
    except CheckpointError as err:
        newest_error = err
    advice = "resume from an intact copy or start a new run"
    if not previous.is_file():
        raise CheckpointError(f"{newest_error}; {advice}") from newest_error
    try:
        state = load_checkpoint(previous)
    except CheckpointError as err:
        raise CheckpointError(
            f"{newest_error}; the previous checkpoint is unusable too ({err}); {advice}"
        ) from newest_error
    what = str(newest_error)
    if path.exists():
        try:
            os.replace(path, corrupt)
            what += f"; moved it to {corrupt.name}"
        except OSError as err:
            what += f"; could not move it aside ({err.strerror or err})"
    warn(
        f"bidir: warning: {what}; resuming from the previous checkpoint {previous.name} "
        f"(iteration {state.get('iteration', '?')})"
    )
    return state, previous


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by save_checkpoint; CheckpointError says what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    raw = path.read_bytes()
    if not raw.startswith(_MAGIC):
        raise CheckpointError(f"{path} is not a bidir_core checkpoint (bad header)")
    header_end = len(_MAGIC) + 65
    digest, data = raw[len(_MAGIC) : header_end - 1], raw[header_end:]
    if len(raw) < header_end or raw[header_end - 1 : header_end] != b"\n":
        raise CheckpointError(f"checkpoint {path} is truncated (incomplete header)")
    if hashlib.sha256(data).hexdigest().encode("ascii") != digest:
        raise CheckpointError(
            f"checkpoint {path} is corrupted or truncated ({len(data)} payload bytes do not "
            "match the recorded SHA-256)"
        )
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    except Exception as err:  # the digest matched, so this is a version mismatch
        raise CheckpointError(f"checkpoint {path} could not be read: {err}") from err
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} does not hold a state dict")
    return state


def config_differences(saved: dict[str, Any], current: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted names of the options on which two config dicts differ."""
    out = []
    for key in sorted(set(saved) | set(current), key=str):
        a, b = saved.get(key, "<missing>"), current.get(key, "<missing>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} in the checkpoint, {b!r} now")
    return out
