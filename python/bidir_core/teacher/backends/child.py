"""The child process of ``ProcessTeacherBackend``: ``python -m bidir_core.teacher.backends.child FD``.

It reads the replica's factory from the connection on file descriptor FD, builds the
teacher, then answers "weights" and "score" messages until told to stop.
"""

from __future__ import annotations

import sys
import time
from multiprocessing.connection import Connection
from typing import Any

import numpy as np


def serve(conn: Any) -> None:
    """Build the replica from the first message's factory, then answer messages."""
    import torch

    torch.set_num_threads(1)
    try:
        factory = conn.recv()
        teacher = factory()
        for p in teacher.model.parameters():
            p.requires_grad_(False)
        conn.send(("ready", len(teacher.actions)))
    except BaseException as exc:  # reported to the parent, which gives up on this child
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    version = 0
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        if msg[0] == "weights":
            _, version, state = msg
            with torch.no_grad():
                params = dict(teacher.model.named_parameters())
                for name, value in state.items():
                    params[name].copy_(torch.from_numpy(value))
            continue
        _, batch_id, prompts = msg
        start = time.monotonic()
        try:
            logp, error = np.asarray(teacher.action_logprobs(prompts), np.float32), None
        except Exception as exc:  # a failed batch is "no hint", not a dead child
            logp, error = None, f"{type(exc).__name__}: {exc}"
        conn.send(("done", batch_id, logp, version, time.monotonic() - start, error))


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
