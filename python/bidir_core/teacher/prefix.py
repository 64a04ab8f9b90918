"""The key/value cache of the token prefix that a batch of prompts shares.

GLAM's prompts all begin with the same header and goal (on GoToRedBallNoDists about half
of their tokens). A causal LM runs that prefix once; its cache, expanded over the batch,
lets each prompt run only its own tokens (the same log-probs up to float rounding).
``PrefixStore`` keeps the last prefix's cache for as long as the model's parameters are
unchanged, so scoring without gradients reuses it across calls.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import torch

__all__ = [
    "PrefixStore",
    "expand_prefix",
    "prefix_layers",
    "shared_prefix",
    "shared_prefix_length",
]

# below this many shared tokens the extra forward of the prefix costs more than it saves
MIN_SHARED_TOKENS = 4
# models whose key/value cache is not plain per-layer tensors (checked once per model)
_UNSHARABLE: weakref.WeakSet[Any] = weakref.WeakSet()


def shared_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Tokens every row starts with, leaving each row at least one token of its own."""
    return _common_length(rows[0], rows) if rows else 0


def _cache_tensors(cache: Any) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
    """Per layer (keys, values), each (batch, kv_heads, length, head_dim); None when the
    cache is not a plain one (sliding windows, recurrent states) that slicing can share."""
    layers = getattr(cache, "layers", None)
    if layers is not None:  # transformers >= 4.56
        if any(type(layer).__name__ != "DynamicLayer" for layer in layers):
            return None
        return [(layer.keys, layer.values) for layer in layers]
    if hasattr(cache, "key_cache"):  # older DynamicCache
        return list(zip(cache.key_cache, cache.value_cache))
    if isinstance(cache, (tuple, list)):  # legacy tuple-of-tuples
        return [(layer[0], layer[1]) for layer in cache]
    return None


def prefix_layers(model: Any, ids: Sequence[int]
                  ) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
    """Run ``ids`` (one row) through a causal LM; its per-layer (keys, values), or None
    (remembered per model) when its cache cannot be shared."""
    if model in _UNSHARABLE:
        return None
    from bidir_core.teacher.scoring import _last_logits_only, _output_cache

    device = next(model.parameters()).device
    keep = _last_logits_only(model, len(ids), device)
    out = model(input_ids=torch.tensor([list(ids)], device=device), use_cache=True, **keep)
    layers = _cache_tensors(_output_cache(out))
    if layers is None:
        _UNSHARABLE.add(model)
    return layers


def expand_prefix(layers: Sequence[tuple[torch.Tensor, torch.Tensor]], length: int,
                  batch: int) -> Any:
    """A fresh DynamicCache holding the first ``length`` prefix tokens for ``batch`` rows."""
    from transformers import DynamicCache

    data = [
        (k[:, :, :length].expand(batch, -1, -1, -1), v[:, :, :length].expand(batch, -1, -1, -1))
        for k, v in layers
    ]
    try:
        return DynamicCache(ddp_cache_data=data)
    except TypeError:  # transformers < 4.47
        return DynamicCache.from_legacy_cache(tuple(data))


def _parameter_key(model: Any) -> tuple[Any, ...]:
    """Changes whenever a parameter is replaced or modified in place (optimizer steps, loads)."""
    return (bool(model.training),) + tuple((id(p), p._version) for p in model.parameters())


def _common_length(a: Sequence[int], rows: Sequence[Sequence[int]]) -> int:
    """Tokens of ``a`` that every row starts with, leaving each row one token of its own."""
    limit = min([len(a)] + [len(r) - 1 for r in rows])
    n = 0
    while n < limit and all(r[n] == a[n] for r in rows):
        n += 1
    return n


class PrefixStore:
    """The last shared prefix's cache, valid while the model's parameters are unchanged.

    Use it only without gradients: the stored tensors carry no graph.
    """

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._ids: tuple[int, ...] = ()
        self._layers: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.hits: int = 0
        self.computed: int = 0

    def lookup(self, model: Any, rows: Sequence[Sequence[int]]) -> int:
        """How many stored prefix tokens every row starts with (0 when stale)."""
        if not self._ids or self._key != _parameter_key(model):
            return 0
        return _common_length(self._ids, rows)

    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The stored per-layer (keys, values)."""
        return self._layers

    def put(self, model: Any, ids: Sequence[int], layers: list[tuple[torch.Tensor, torch.Tensor]]
            ) -> None:
        """Store ``layers``, the cache of the token row ``ids`` under the current parameters."""
        self._key, self._ids, self._layers = _parameter_key(model), tuple(ids), layers
        self.computed += 1


def shared_prefix(model: Any, rows: Sequence[Sequence[int]], store: PrefixStore | None
                  ) -> tuple[int, list[tuple[torch.Tensor, torch.Tensor]] | None]:
    """(n, per-layer cache of the first n tokens) that all ``rows`` share; (0, None) if none.

    A stored prefix is reused when the rows start with it; a longer prefix the batch shares
    is run (and stored) when it saves more token positions than its own forward costs.
    """
    stored = store.lookup(model, rows) if store is not None else 0
    shared = shared_prefix_length(rows) if len(rows) > 1 else 0
    if shared >= MIN_SHARED_TOKENS and (shared - stored) * len(rows) > shared:
        layers = prefix_layers(model, rows[0][:shared])
        if layers is None:
            return 0, None
        if store is not None:
            store.put(model, rows[0][:shared], layers)
        return shared, layers
    if store is not None and stored >= MIN_SHARED_TOKENS:
        store.hits += 1
        return stored, store.layers()
    return 0, None
