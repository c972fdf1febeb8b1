"""SCALE-Sim v3 trace CSVs to and from hwloop trace files, streamed chunk by chunk.

SCALE-Sim writes, per layer, ``layer<N>/`` with six files. SRAM traces (``np.savetxt`` with
``%i``) have one row per demand row, ``cycle,addr,..``, -1 for an idle port; ifmap and filter
rows are stamped one cycle after the compute cycle (the SRAM hit latency), ofmap rows at it.
DRAM traces (``%s`` of floats: ``-66.0,0.0,1.0``) have one row per cycle that moves words,
padded with -1. Addresses carry per-operand offsets, which hwloop strips and keeps as the
dataset attr ``address_offset``.

In hwloop's file a DRAM stream is one (cycle, address) record per word, so exporting groups
consecutive records of one cycle into a row and pads every row to the most words in a cycle
(or the ``row_width`` attr an import keeps, if wider). An import keeps a SCALE-Sim row's -1
cells except its trailing padding (one -1 for a row with no word), so that exporting an
imported folder gives back SCALE-Sim's files byte for byte.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from itertools import zip_longest
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from ._errors import InputError
from ._hdf5 import LayerTrace, LayerWriter, TraceWriter, create_partial, open_trace
from ._trace_summary import STREAMS, Stream, has_stream, iter_stream, progress_bar, run_starts

CSV_NAMES = {"ifmap_sram_read": "IFMAP_SRAM_TRACE.csv", "filter_sram_read": "FILTER_SRAM_TRACE.csv",
             "ofmap_sram_write": "OFMAP_SRAM_TRACE.csv", "ifmap_dram_read": "IFMAP_DRAM_TRACE.csv",
             "filter_dram_read": "FILTER_DRAM_TRACE.csv",
             "ofmap_dram_write": "OFMAP_DRAM_TRACE.csv"}
#: SCALE-Sim's default ``IfmapOffset``, ``FilterOffset`` and ``OfmapOffset``.
DEFAULT_OFFSETS = {"ifmap": 0, "filter": 10_000_000, "ofmap": 20_000_000}
_ROWS = 65536
_SAMPLE = 4096  # rows counted by estimate_bytes
_POWERS = 10 ** np.arange(1, 19, dtype=np.int64)
_LAYER_DIR = re.compile(r"layer(\d+)")
_INT32_MAX = np.iinfo(np.int32).max
_SRAM = tuple(stream for stream in STREAMS if stream.memory == "sram")
_DRAM = tuple(stream for stream in STREAMS if stream.memory == "dram")


# ------------------------------------------------------------------------------------ export


def export_scalesim_csv(trace_path: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                        *, progress: bool = False,
                        announce: Callable[[int, int], object] | None = None) -> list[Path]:
    """Write ``out_dir/layer<index>/*_TRACE.csv`` for every stream of every layer.

    Each file is written whole or not at all; returns the files written. A whole run's CSVs
    run to gigabytes, so ``announce(files, estimated bytes)`` is called before the first is
    written (see :func:`estimate_bytes`) and ``progress`` shows a bar of the bytes written.
    """
    out = Path(out_dir)
    written = []
    with open_trace(trace_path) as trace:
        jobs = [(layer, stream) for layer in trace.layers for stream in STREAMS
                if has_stream(layer, stream)]
        total = sum(estimate_bytes(layer, stream) for layer, stream in jobs)
        if announce is not None:
            announce(len(jobs), total)
        with progress_bar(progress, total, "B", "export", scale=True) as bar:
            for layer, stream in jobs:
                folder = out / f"layer{layer.index}"
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / CSV_NAMES[stream.name]
                write = _write_sram if stream.memory == "sram" else _write_dram
                with _atomic_text(target) as handle:
                    write(handle, layer, stream, bar)
                written.append(target)
            bar.total = bar.n  # the estimate was close; the bar ends full
    return written


def estimate_bytes(layer: LayerTrace, stream: Stream) -> int:
    """About how many bytes ``stream``'s CSV takes: the characters of its first rows (one
    stored chunk at most) scaled to the dataset's length (within a few per cent on
    ResNet-18's traces)."""
    records = layer.length(stream.addresses)
    if not records:
        return 0
    cycles, addresses = next(iter_stream(layer, stream, _SAMPLE))
    addresses = _with_offset(addresses, _offset(layer, stream))
    if stream.memory == "sram":
        return records * _chars(np.column_stack((cycles, addresses))) // len(cycles)
    starts = run_starts(cycles)
    width = max(int(np.diff(np.append(starts, len(cycles))).max()),
                int(layer.dataset_attrs(stream.addresses).get("row_width", 0)))
    padding = len(starts) * width - len(cycles)
    # _chars counts digits and one separator a value; "%d.0" adds ".0" to the cycle and to
    # every word of a row, and a row's padding cells are ",-1.0" each.
    sample = (_chars(cycles[starts]) + _chars(addresses) + 2 * (len(starts) + len(cycles))
              + 5 * padding)
    return records * sample // len(cycles)


def _chars(values: np.ndarray) -> int:
    """Characters of ``values`` written as integers, signs included, each followed by one
    separator (in a table, a comma or the row's newline)."""
    magnitude = np.abs(values.astype(np.int64)).ravel()
    digits = np.searchsorted(_POWERS, magnitude, side="right") + 1
    return int(digits.sum() + (values < 0).sum() + magnitude.size)


@contextmanager
def _atomic_text(target: Path) -> Iterator[IO[str]]:
    fd, tmp = create_partial(target)
    try:
        with os.fdopen(fd, "w", encoding="ascii", newline="\n") as handle:
            yield handle
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _offset(layer: LayerTrace, stream: Stream) -> int:
    attrs = layer.dataset_attrs(stream.addresses)
    return int(attrs.get("address_offset", DEFAULT_OFFSETS[stream.operand]))


def _with_offset(addresses: np.ndarray, offset: int) -> np.ndarray:
    addresses = addresses.astype(np.int64)
    return np.where(addresses == -1, -1, addresses + offset)


def _write_sram(handle: IO[str], layer: LayerTrace, stream: Stream, bar: Any) -> None:
    offset = _offset(layer, stream)
    where = handle.tell()
    for cycles, addresses in iter_stream(layer, stream, _ROWS):
        if addresses.ndim != 2:
            raise InputError(f"layer {layer.index}: SRAM trace must be 2-D, got shape "
                             f"{addresses.shape}", source=layer.source, field=stream.addresses)
        np.savetxt(handle, np.column_stack((cycles, _with_offset(addresses, offset))),
                   fmt="%d", delimiter=",")
        where = _advance(bar, handle, where)


def _write_dram(handle: IO[str], layer: LayerTrace, stream: Stream, bar: Any) -> None:
    offset = _offset(layer, stream)
    where = handle.tell()
    width = max(_longest_cycle(layer, stream),
                int(layer.dataset_attrs(stream.addresses).get("row_width", 0)))
    carry_cycles = np.empty(0, dtype=np.int64)
    carry_addresses = np.empty(0, dtype=np.int64)
    for cycles, addresses in iter_stream(layer, stream, _ROWS):
        cycles = np.concatenate((carry_cycles, cycles))
        addresses = np.concatenate((carry_addresses, _with_offset(addresses, offset)))
        cut = run_starts(cycles)[-1]  # the last cycle may go on in the next chunk
        _write_dram_rows(handle, cycles[:cut], addresses[:cut], width)
        carry_cycles, carry_addresses = cycles[cut:], addresses[cut:]
        where = _advance(bar, handle, where)
    _write_dram_rows(handle, carry_cycles, carry_addresses, width)
    _advance(bar, handle, where)


def _advance(bar: Any, handle: IO, where: int) -> int:
    """Move ``bar`` on by the bytes written since ``where``; the new position."""
    now = handle.tell()
    bar.update(now - where)
    return now


def _longest_cycle(layer: LayerTrace, stream: Stream) -> int:
    """The most records of one cycle (a run of equal consecutive cycles) in a DRAM stream."""
    longest, last, run = 0, None, 0
    for cycles in layer.iter_chunks(stream.cycles, _ROWS):
        if not len(cycles):
            continue
        lengths = np.diff(np.append(run_starts(cycles), len(cycles)))
        if last is not None and cycles[0] == last:
            lengths[0] += run
        longest, last, run = max(longest, int(lengths.max())), cycles[-1], int(lengths[-1])
    return longest


def _write_dram_rows(handle: IO[str], cycles: np.ndarray, addresses: np.ndarray,
                     width: int) -> None:
    if not len(cycles):
        return
    starts = run_starts(cycles)
    is_start = np.zeros(len(cycles), dtype=bool)
    is_start[starts] = True
    run = np.cumsum(is_start) - 1
    block = np.full((len(starts), width + 1), -1, dtype=np.int64)
    block[:, 0] = cycles[starts]
    block[run, 1 + np.arange(len(cycles)) - starts[run]] = addresses
    if np.abs(block).max() < 10**16:  # where str(float(v)) is exactly f"{v}.0"
        np.savetxt(handle, block, fmt="%d.0", delimiter=",")
    else:
        np.savetxt(handle, block.astype(np.float64), fmt="%s", delimiter=",")


# ------------------------------------------------------------------------------------ import


def import_scalesim_csv(in_dir: str | os.PathLike[str], trace_path: str | os.PathLike[str],
                        attrs: Mapping[str, Any] | None = None, *,
                        offsets: Mapping[str, int] | None = None,
                        progress: bool = False) -> Path:
    """Read SCALE-Sim's ``layer<N>/*_TRACE.csv`` folders into a new trace file.

    ``offsets`` overrides :data:`DEFAULT_OFFSETS` by operand (SCALE-Sim's ``IfmapOffset``,
    ``FilterOffset``, ``OfmapOffset``). Layers are named ``layer<N>`` with index N; missing
    files give missing streams. Malformed CSVs raise :class:`InputError` with file, line and
    column; no trace file is left behind then. ``progress`` shows a bar of the bytes read.
    """
    folders = _layer_folders(Path(in_dir))
    chosen = {**DEFAULT_OFFSETS, **(offsets or {})}
    total = sum(path.stat().st_size for _, folder in folders for name in CSV_NAMES.values()
                if (path := folder / name).is_file())
    with TraceWriter(trace_path, attrs=attrs) as writer, \
            progress_bar(progress, total, "B", "import", scale=True) as bar:
        for index, folder in folders:
            layer = writer.add_layer(index, folder.name)
            _import_sram(layer, folder, chosen, bar)
            for stream in _DRAM:
                path = folder / CSV_NAMES[stream.name]
                if path.is_file():
                    _import_dram(layer, stream, path, chosen[stream.operand], bar)
    return Path(trace_path)


def _layer_folders(root: Path) -> list[tuple[int, Path]]:
    if not root.is_dir():
        raise InputError("no such directory", source=str(root))
    found = sorted((int(match.group(1)), path) for path in root.iterdir()
                   if path.is_dir() and (match := _LAYER_DIR.fullmatch(path.name)))
    if not found:
        raise InputError("no layer<N> folders of SCALE-Sim traces here", source=str(root))
    return found


def _read_chunks(path: Path, *, nrows: int | None = None, usecols: list[int] | None = None,
                 bar: Any = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first line number, int64 rows)`` of a headerless numeric CSV, moving ``bar``
    on by the bytes read."""
    line = 1
    try:
        with open(path, "rb") as handle, pd.read_csv(
                handle, header=None, chunksize=_ROWS, skip_blank_lines=False, nrows=nrows,
                usecols=usecols, engine="c") as reader:
            where = 0
            for frame in reader:
                if bar is not None:
                    where = _advance(bar, handle, where)
                yield line, _int_matrix(frame, path, line)
                line += len(frame)
            if bar is not None:
                _advance(bar, handle, where)
    except pd.errors.EmptyDataError:
        return
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found is None:
            raise InputError(f"unreadable CSV ({str(exc).strip()})", source=str(path)) from None
        expected, bad_line, saw = (int(group) for group in found.groups())
        raise InputError(f"ragged row: {saw} fields, but the first row has {expected}",
                         source=str(path), line=bad_line, field=f"column {expected + 1}") from None
    except UnicodeDecodeError:
        raise InputError("not a text CSV file", source=str(path), line=line) from None


def _int_matrix(frame: pd.DataFrame, path: Path, line0: int) -> np.ndarray:
    columns = []
    for position, name in enumerate(frame.columns):
        column = frame[name]
        if pd.api.types.is_integer_dtype(column.dtype):
            columns.append(column.to_numpy(dtype=np.int64))
            continue
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64,
                                                                 na_value=np.nan)
        good = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2.0**53)
        if not good.all():
            row = int(np.argmin(good))
            raw = column.iloc[row]
            reason = ("empty or missing field (rows must all have the first row's fields)"
                      if pd.isna(raw) else f"not an integer: {str(raw)!r}")
            raise InputError(reason, source=str(path), line=line0 + row,
                             field=f"column {position + 1}")
        columns.append(values.astype(np.int64))
    return np.column_stack(columns)


def _strip_offset(cells: np.ndarray, offset: int, path: Path, line0: int) -> np.ndarray:
    """Addresses without ``offset`` as int32 (-1 stays -1); cells are columns 2.. of the CSV."""
    valid = cells != -1
    stripped = np.where(valid, cells - offset, -1)
    bad = valid & ((stripped < 0) | (stripped > _INT32_MAX))
    if bad.any():
        row, col = (int(i[0]) for i in np.nonzero(bad))
        raise InputError(f"address {cells[row, col]} is not in [{offset}, "
                         f"{offset + _INT32_MAX}] (offset {offset}) and is not -1",
                         source=str(path), line=line0 + row, field=f"column {col + 2}")
    return stripped.astype(np.int32)


def _import_sram(layer: LayerWriter, folder: Path, offsets: Mapping[str, int], bar: Any) -> None:
    present = [(stream, folder / CSV_NAMES[stream.name]) for stream in _SRAM
               if (folder / CSV_NAMES[stream.name]).is_file()]
    if not present:
        return
    reference = present[-1][0]  # ofmap where present: its cycle is the compute cycle
    own = {stream: False for stream, _ in present}
    done = 0
    for chunks in zip_longest(*(_read_chunks(path, bar=bar) for _, path in present)):
        _check_same_rows(chunks, present, done)
        cycles = chunks[-1][1][:, 0] - reference.cycle_shift
        layer.append("sram/cycle", cycles, attrs={"units": "cycle"})
        for (stream, path), (line0, block) in zip(present, chunks):
            if block.shape[1] < 2:
                raise InputError("an SRAM trace row needs addresses after its cycle",
                                 source=str(path), line=line0, field="column 2")
            offset = offsets[stream.operand]
            layer.append(stream.addresses, _strip_offset(block[:, 1:], offset, path, line0),
                         attrs={"address_offset": offset, "units": "word"})
            if not own[stream] and not np.array_equal(block[:, 0], cycles + stream.cycle_shift):
                own[stream] = True  # stalls: from here on, keep this stream's own cycles
                _backfill_own_cycles(layer, stream, path, done)
            if own[stream]:
                layer.append(_own_cycles(stream), block[:, 0], attrs={"units": "cycle"})
        done += len(cycles)


def _backfill_own_cycles(layer: LayerWriter, stream: Stream, path: Path, rows: int) -> None:
    """Store the cycles of the first ``rows`` rows of ``path`` as ``stream``'s own cycles."""
    if rows:
        for _, block in _read_chunks(path, nrows=rows, usecols=[0]):
            layer.append(_own_cycles(stream), block[:, 0], attrs={"units": "cycle"})


def _own_cycles(stream: Stream) -> str:
    """The dataset of an SRAM stream's own cycles."""
    name = stream.own_cycles
    assert name is not None  # only SRAM streams (``_SRAM``) keep their own cycles
    return name


def _check_same_rows(chunks: tuple, present: list[tuple[Stream, Path]], done: int) -> None:
    counts = [done + (len(chunk[1]) if chunk is not None else 0) for chunk in chunks]
    if min(counts) != max(counts):
        short, long = int(np.argmin(counts)), int(np.argmax(counts))
        raise InputError(f"more rows than the {counts[short]} of {present[short][1].name} "
                         "(SCALE-Sim's SRAM traces have one row per demand row each)",
                         source=str(present[long][1]), line=counts[short] + 1)


def _import_dram(layer: LayerWriter, stream: Stream, path: Path, offset: int,
                 bar: Any) -> None:
    attrs: dict[str, Any] = {"address_offset": offset, "units": "word"}
    cycle_attrs: dict[str, Any] = {"units": "cycle"}
    for line0, block in _read_chunks(path, bar=bar):
        cells = block[:, 1:]
        if cells.shape[1] == 0:
            raise InputError("a DRAM trace row needs addresses after its cycle",
                             source=str(path), line=line0, field="column 2")
        valid = cells != -1
        width = cells.shape[1]
        # Keep each row up to its last word (one -1 for a row with none): the rest is padding.
        keep_n = np.where(valid.any(axis=1), width - np.argmax(valid[:, ::-1], axis=1), 1)
        keep = np.arange(width) < keep_n[:, None]
        layer.append(stream.addresses, _strip_offset(cells, offset, path, line0)[keep],
                     attrs={**attrs, "row_width": width} if attrs else None)
        layer.append(stream.cycles, np.repeat(block[:, 0], keep_n), attrs=cycle_attrs)
        attrs = cycle_attrs = {}
    if attrs:  # an empty file: an empty stream
        layer.append(stream.addresses, np.empty(0, dtype=np.int32), attrs=attrs)
        layer.append(stream.cycles, np.empty(0, dtype=np.int64), attrs=cycle_attrs)
