"""Reading HDF5 access traces (layout in ``_hdf5_layout``): only complete ones whose every
dataset matches its checksum open, and each damaged part is reported as an :class:`InputError`
naming the file and the part.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ._errors import InputError
from ._hdf5_layout import (
    CHECKSUM_KEY,
    DATASET_KEYS,
    FORMAT,
    FORMAT_VERSION,
    LAYER_KEYS,
    ROOT_KEYS,
    dataset_checksum,
    datasets,
    read_attrs,
)

DEFAULT_READ_ROWS = 65536


class LayerTrace:
    """One layer of an open trace: attrs and streamed access to its datasets."""

    def __init__(self, group: h5py.Group, source: str) -> None:
        self._group = group
        self.source = source
        try:
            self.index = int(group.attrs["index"])
            self.name = str(group.attrs["name"])
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise InputError(f"layer group {group.name} is damaged ({exc})", source=source,
                             field="index") from None
        self.attrs = read_attrs(group, LAYER_KEYS, source)

    def has(self, name: str) -> bool:
        """Whether dataset ``name`` (e.g. ``sram/ifmap_read``) exists in this layer."""
        return isinstance(self._group.get(name), h5py.Dataset)

    def dataset_attrs(self, name: str) -> dict[str, Any]:
        return read_attrs(self._dataset(name), DATASET_KEYS, self.source)

    def shape(self, name: str) -> tuple[int, ...]:
        """Shape of dataset ``name``: (rows, *row shape)."""
        return tuple(int(n) for n in self._dataset(name).shape)

    def length(self, name: str) -> int:
        """Number of rows (entries along axis 0) of dataset ``name``."""
        return int(self._dataset(name).shape[0])

    def read(self, name: str) -> np.ndarray:
        """The whole dataset in memory: for small ones, else use :meth:`iter_chunks`."""
        return self._slice(self._dataset(name), 0, None)

    def iter_chunks(self, name: str, rows: int = DEFAULT_READ_ROWS) -> Iterator[np.ndarray]:
        """Consecutive slices of at most ``rows`` rows, read one at a time."""
        if rows < 1:
            raise ValueError(f"rows must be >= 1, got {rows}")
        dataset = self._dataset(name)
        for start in range(0, dataset.shape[0], rows):
            yield self._slice(dataset, start, start + rows)

    def _dataset(self, name: str) -> h5py.Dataset:
        if not self.has(name):
            raise InputError(f"layer {self.index} ('{self.name}') has no dataset '{name}'",
                             source=self.source, field=name)
        return self._group[name]

    def _slice(self, dataset: h5py.Dataset, start: int, stop: int | None) -> np.ndarray:
        try:
            return dataset[start:stop]
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot read rows {start}..{stop} ({_first_line(exc)})",
                             source=self.source, field=dataset.name) from None


class TraceFile:
    """An open, validated trace file (use :func:`open_trace`); a context manager."""

    def __init__(self, file: h5py.File, source: str) -> None:
        self._file = file
        self.path = Path(source)
        self.format_version = int(file.attrs["format_version"])
        self.attrs = read_attrs(file, ROOT_KEYS, source)
        group = file.get("layers")
        if not isinstance(group, h5py.Group):
            raise InputError("no 'layers' group", source=source, field="layers")
        layers = [LayerTrace(sub, source) for sub in group.values()
                  if isinstance(sub, h5py.Group)]
        self.layers = sorted(layers, key=lambda layer: layer.index)

    def layer(self, index: int) -> LayerTrace:
        """The layer whose ``index`` attr is ``index``."""
        for layer in self.layers:
            if layer.index == index:
                return layer
        raise InputError(f"no layer with index {index} (the trace has "
                         f"{[layer.index for layer in self.layers]})", source=str(self.path),
                         field="layer_index")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TraceFile:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_trace(path: str | os.PathLike[str]) -> TraceFile:
    """Open a trace for reading; raises :class:`InputError` unless it is a complete trace
    whose every dataset matches its checksum (all are checked first, read or not)."""
    source = str(path)
    if not Path(path).is_file():
        raise InputError("no such trace file", source=source)
    try:
        file = h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        raise InputError(f"not a readable HDF5 file: truncated or corrupt? ({_first_line(exc)})",
                         source=source) from None
    try:
        _validate_root(file, source)
        verify_checksums(file, source)
        return TraceFile(file, source)
    except BaseException:
        file.close()
        raise


def _validate_root(file: h5py.File, source: str) -> None:
    try:
        fmt, version = file.attrs.get("format"), file.attrs.get("format_version")
        complete = file.attrs.get("complete")
    except (OSError, RuntimeError) as exc:
        raise InputError(f"cannot read the file's attrs ({_first_line(exc)})",
                         source=source) from None
    if not (isinstance(fmt, str) and fmt == FORMAT):
        raise InputError(f"not an hwloop trace (format is {fmt!r}, expected {FORMAT!r})",
                         source=source, field="format")
    if np.ndim(version) == 0 and version == 1:
        raise InputError("format_version 1: a trace from an hwloop before traces carried "
                         "checksums, which this hwloop refuses; record or import it again",
                         source=source, field="format_version")
    if not (np.ndim(version) == 0 and version == FORMAT_VERSION):
        raise InputError(f"unsupported format_version {version!r} (this hwloop reads "
                         f"{FORMAT_VERSION})", source=source, field="format_version")
    if not (isinstance(complete, (bool, np.bool_)) and complete):
        raise InputError("incomplete trace: the run that wrote it did not finish",
                         source=source, field="complete")


def verify_checksums(file: h5py.File, source: str) -> None:
    """Check every dataset of ``file`` against its ``checksum`` attr (chunks as stored: a
    trace's compressed size is read, nothing is decompressed)."""
    try:
        found = datasets(file)
    except (OSError, RuntimeError, KeyError) as exc:
        raise InputError(f"cannot list the file's datasets ({_first_line(exc)})",
                         source=source) from None
    for dataset in found:
        try:
            expected = dataset.attrs.get(CHECKSUM_KEY)
            actual = dataset_checksum(dataset)
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise InputError(f"cannot read the dataset ({_first_line(exc)}): the file is "
                             "damaged", source=source, field=dataset.name) from None
        if expected is None:
            raise InputError("the dataset has no checksum: the file was not written by hwloop "
                             "or was edited", source=source, field=dataset.name)
        if actual != expected:
            raise InputError("the dataset does not match its checksum: the file is damaged "
                             "or was edited", source=source, field=dataset.name)
