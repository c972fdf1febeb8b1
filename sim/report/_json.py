"""JSON that strict parsers read: Python's ``json`` writes NaN and Infinity, which JSON lacks."""
from __future__ import annotations

import json
import math
from typing import Any


def strict_json(data: Any, indent: int | None = 1) -> str:
    """``data`` as JSON text ending in a newline; NaN and infinities (a report's empty cells:
    pandas stores a missing number as NaN) become ``null``."""
    return json.dumps(_finite(data), indent=indent, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float):  # numpy's float64 too
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy scalars, arrays
        return _finite(value.tolist())
    return value
