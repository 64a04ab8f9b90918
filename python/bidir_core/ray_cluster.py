"""Joining a Ray cluster: the one place that imports Ray for the teacher and the grid backends.

Ray is an optional extra (``pip install "bidir_core[ray]"``); nothing else imports it, so the
local defaults never do.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
from typing import Any

__all__ = ["connect", "import_ray", "parse_resources", "ray_resources"]


def import_ray() -> Any:
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ImportError(
            'the Ray backends need Ray: pip install "bidir_core[ray]" (or "ray>=2.50")'
        ) from None
    return ray


def connect(address: str | None = None) -> bool:
    """Join the Ray cluster at ``address`` (else ``RAY_ADDRESS``, else one ``ray start``
    left on this machine, else a new local one); True when this call started Ray (the
    caller then owns it and calls ``ray.shutdown()``), False when it was already running."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is not None and not isinstance(address, str):
        raise TypeError(f"the Ray address must be a string, got {type(address).__name__}")
    # ray.init replaces the SIGTERM handler with one that kills the process; the caller's
    # (the experiment runner's Ctrl-C for SIGTERM, the trainer's checkpoint) must stay.
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    except ConnectionError as err:
        raise ConnectionError(f"cannot reach the Ray cluster at {address}: {err}") from None
    finally:
        if threading.current_thread() is threading.main_thread():
            for s, h in handlers.items():
                if h is not None:
                    signal.signal(s, h)
    return True


def ray_resources(resources: dict[str, float]) -> dict[str, Any]:
    """Ray ``.options()`` for a resource dict such as ``{"GPU": 1}``: CPU and GPU become
    ``num_cpus`` / ``num_gpus`` (1 CPU and 0 GPUs when absent), the rest custom resources."""
    rest = dict(resources)
    out: dict[str, Any] = {"num_cpus": rest.pop("CPU", 1), "num_gpus": rest.pop("GPU", 0)}
    if rest:
        out["resources"] = rest
    return out


def parse_resources(text: str) -> dict[str, float]:
    """The Ray resources of a JSON object such as ``'{"GPU": 1}'`` (names to amounts >= 0);
    ValueError saying what is wrong otherwise."""
    if not isinstance(text, str):
        raise TypeError(f"resources must be a JSON string, got {type(text).__name__}")
    try:
        value = json.loads(text or "{}")
    except ValueError as err:
        raise ValueError(f"resources must be a JSON object such as '{{\"GPU\": 1}}': {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"resources must be a JSON object such as '{{\"GPU\": 1}}', got {text!r}")
    out = {}
    for name, amount in value.items():
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise ValueError(f"resource {name!r} must be a number, got {amount!r}")
        if not (math.isfinite(amount) and amount >= 0):
            raise ValueError(f"resource {name!r} must be a finite number >= 0, got {amount!r}")
        out[name] = float(amount)
    return out
