"""Small argument checks shared by the Python entry points."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["reject_masked"]


def reject_masked(name: str, array: Any) -> None:
    """Raise TypeError if ``array`` is a numpy masked array.

    The C++ core reads an array's buffer, where a masked array keeps whatever values hide
    under its mask: they would be used as if they were data. Fill (``a.filled(x)``) or
    drop (``a.compressed()``) the masked entries first.
    """
    if type(array) is np.ndarray:  # the common case, without the subclass check's cost
        return
    if isinstance(array, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a numpy masked array; pass a plain ndarray (fill the masked entries "
            f"with {name}.filled(value) or drop them first): the values under the mask "
            "would be read as data"
        )
