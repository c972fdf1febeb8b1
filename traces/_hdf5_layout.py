"""The HDF5 trace layout, shared by the writer (``_hdf5``) and the reader (``_hdf5_read``).

Layout: root attrs ``format``, ``format_version``, ``complete`` and the caller's attrs; one group
per layer, ``/layers/layer_0000`` .. (named by index, since layer names may contain '/'), with
attrs ``index``, ``name`` and the caller's; inside it, datasets grown by appending row chunks
under slash paths the caller picks (``_trace_summary.STREAMS`` names those hwloop uses). Dict,
list, tuple and None attr values are stored as JSON strings and decoded on reading.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

FORMAT = "hwloop-trace"
FORMAT_VERSION = 1
_JSON_KEY = "json_attrs"
#: Attr names the layout itself uses at the root, on a layer group and on a dataset.
ROOT_KEYS = frozenset({"format", "format_version", "complete", _JSON_KEY})
LAYER_KEYS = frozenset({"index", "name", _JSON_KEY})
DATASET_KEYS = frozenset({_JSON_KEY})


def write_attrs(obj: h5py.HLObject, attrs: Mapping[str, Any], reserved: frozenset[str]) -> None:
    """Set ``attrs`` on ``obj``, JSON-encoding what HDF5 attrs cannot hold; ``reserved`` are
    the layout's own names, refused so that a caller cannot overwrite them."""
    encoded = set(json.loads(obj.attrs.get(_JSON_KEY, "[]")))
    for key, value in attrs.items():
        if not isinstance(key, str) or not key or key in reserved:
            raise ValueError(f"attr name {key!r} is empty, not a string or reserved")
        if value is None or isinstance(value, (dict, list, tuple)):
            obj.attrs[key] = json.dumps(value)
            encoded.add(key)
        else:
            obj.attrs[key] = value
            encoded.discard(key)
    if encoded:
        obj.attrs[_JSON_KEY] = json.dumps(sorted(encoded))


def read_attrs(obj: h5py.HLObject, reserved: frozenset[str]) -> dict[str, Any]:
    """The caller's attrs of ``obj`` (not the ``reserved`` ones), JSON ones decoded."""
    encoded = set(json.loads(obj.attrs.get(_JSON_KEY, "[]")))
    out: dict[str, Any] = {}
    for key, value in obj.attrs.items():
        if key in reserved:
            continue
        if key in encoded:
            value = json.loads(value)
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


def check_dataset_name(name: str) -> None:
    """Refuse names that are no plain slash path (they would escape or alias a group)."""
    parts = name.split("/") if isinstance(name, str) else [""]
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"dataset name {name!r} must be a slash path like 'sram/ifmap_read'")
