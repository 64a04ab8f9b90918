"""Checkpoint files: written atomically, checked by a SHA-256 digest when read.

Layout: the magic line ``BIDIR-CHECKPOINT 1``, the hex SHA-256 of the payload on the
second line, then the payload, a ``torch.save`` archive. The file is written to a
temporary name in the same folder, flushed and fsynced, then moved over the old one with
``os.replace``, so a crash leaves either the old or the new checkpoint, never half of one.

The payload is unpickled with ``weights_only=False`` (it holds numpy env states): load
only checkpoints you wrote yourself, as with any pickle.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["CheckpointError", "load_checkpoint", "save_checkpoint"]

_MAGIC = b"BIDIR-CHECKPOINT 1\n"


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or not ours."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``state`` to ``path`` atomically (temporary file + os.replace)."""
    path = Path(path)
    payload = io.BytesIO()
    torch.save(state, payload)
    data = payload.getvalue()
    digest = hashlib.sha256(data).hexdigest().encode("ascii")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(_MAGIC + digest + b"\n")
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
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
            "match the recorded SHA-256); resume from an intact copy or start a new run"
        )
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    except Exception as err:  # the digest matched, so this is a version mismatch
        raise CheckpointError(f"checkpoint {path} could not be read: {err}") from err
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} does not hold a state dict")
    return state
