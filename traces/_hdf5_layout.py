"""The HDF5 trace layout, shared by the writer (``_hdf5``) and the reader (``_hdf5_read``).

Layout: root attrs ``format``, ``format_version``, ``complete`` and the caller's attrs; one group
per layer, ``/layers/layer_0000`` .. (named by index, since layer names may contain '/'), with
attrs ``index``, ``name`` and the caller's; inside it, datasets grown by appending row chunks
under slash paths the caller picks (``_trace_summary.STREAMS`` names those hwloop uses). Dict,
list, tuple and None attr values are stored as JSON strings and decoded on reading.

Every dataset carries a ``checksum`` attr (format_version 2), set by the writer when the file is
completed and checked for every dataset by the reader before it returns the file: a SHA-256 of
the dataset's dtype, shape and chunks as stored (compressed), so that checking a trace of GBs
reads only its compressed bytes and decompresses nothing. Files of format_version 1 (written
before checksums) are refused with a message saying so: record or import them again.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import h5py
import numpy as np

from ._errors import InputError

FORMAT = "hwloop-trace"
#: 2: every dataset has a ``checksum`` attr; 1 (refused): none.
FORMAT_VERSION = 2
_JSON_KEY = "json_attrs"
CHECKSUM_KEY = "checksum"
#: Attr names the layout itself uses at the root, on a layer group and on a dataset.
ROOT_KEYS = frozenset({"format", "format_version", "complete", _JSON_KEY})
LAYER_KEYS = frozenset({"index", "name", _JSON_KEY})
DATASET_KEYS = frozenset({_JSON_KEY, CHECKSUM_KEY})
#: Rows per read when hashing an unchunked dataset (never written by hwloop).
_HASH_ROWS = 65536


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


def read_attrs(obj: h5py.HLObject, reserved: frozenset[str],
               source: str | None = None) -> dict[str, Any]:
    """The caller's attrs of ``obj`` (not the ``reserved`` ones), JSON ones decoded; an attr
    that cannot be read or decoded is an :class:`InputError` naming ``source`` and the attr."""
    try:
        items = list(obj.attrs.items())
    except (OSError, RuntimeError, KeyError) as exc:
        raise InputError(f"cannot read the attrs of {obj.name} ({exc})", source=source,
                         field=obj.name) from None
    stored = dict(items)
    encoded = _decode(obj, _JSON_KEY, stored.get(_JSON_KEY, "[]"), source)
    if not (isinstance(encoded, list) and all(isinstance(key, str) for key in encoded)):
        raise InputError(f"attr '{_JSON_KEY}' of {obj.name} is no list of names", source=source,
                         field=_JSON_KEY)
    out: dict[str, Any] = {}
    for key, value in items:
        if key in reserved:
            continue
        if key in encoded:
            value = _decode(obj, key, value, source)
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


def _decode(obj: h5py.HLObject, key: str, value: Any, source: str | None) -> Any:
    try:
        return json.loads(value)
    except (ValueError, TypeError) as exc:
        raise InputError(f"attr '{key}' of {obj.name} is not valid JSON ({exc})",
                         source=source, field=key) from None


def check_dataset_name(name: str) -> None:
    """Refuse names that are no plain slash path (they would escape or alias a group)."""
    parts = name.split("/") if isinstance(name, str) else [""]
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"dataset name {name!r} must be a slash path like 'sram/ifmap_read'")


def datasets(root: h5py.Group) -> list[h5py.Dataset]:
    """Every dataset under ``root``, each once (a hard-linked one under its first name)."""
    found: list[h5py.Dataset] = []
    root.visititems(lambda _name, obj: found.append(obj) if isinstance(obj, h5py.Dataset)
                    else None)
    return sorted(found, key=lambda dataset: dataset.name)


def write_checksums(root: h5py.Group) -> None:
    """Set the ``checksum`` attr of every dataset (once its data is all written and flushed)."""
    for dataset in datasets(root):
        dataset.attrs[CHECKSUM_KEY] = dataset_checksum(dataset)


def dataset_checksum(dataset: h5py.Dataset) -> str:
    """``sha256:HEX`` of the dtype, the shape and the chunks as stored (compressed bytes, with
    their offsets and filter masks): cheap to check, as nothing is decompressed."""
    digest = hashlib.sha256(f"{dataset.dtype.str}|{dataset.shape}|{dataset.chunks}".encode())
    for piece in _stored_pieces(dataset):
        digest.update(piece)
    return f"sha256:{digest.hexdigest()}"


def _stored_pieces(dataset: h5py.Dataset) -> Iterator[bytes]:
    if dataset.chunks is None:  # contiguous or compact: the (uncompressed) values
        if dataset.ndim == 0:
            yield np.ascontiguousarray(dataset[()]).tobytes()
        for start in range(0, dataset.shape[0] if dataset.ndim else 0, _HASH_ROWS):
            yield np.ascontiguousarray(dataset[start:start + _HASH_ROWS]).tobytes()
        return
    steps = [range(0, n, step) for n, step in zip(dataset.shape, dataset.chunks)]
    for offset in itertools.product(*steps):
        try:
            mask, data = dataset.id.read_direct_chunk(offset)
        except RuntimeError:  # a chunk never written (HDF5: "not allocated")
            yield f"{offset}:none|".encode()
            continue
        yield f"{offset}:{mask}:{len(data)}|".encode()
        yield data
