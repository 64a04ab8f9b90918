"""``Unpack`` for ``**kwargs: Unpack[SomeTypedDict]`` signatures on every supported Python."""

import sys

if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # pragma: no cover - Python 3.10 (typing_extensions comes with torch and pydantic)
    from typing_extensions import Unpack

__all__ = ["Unpack"]
