#!/usr/bin/env python3
"""How fast does hwloop write (and read back) an HDF5 access trace, and in how much memory?

Writes a synthetic trace shaped like one layer of a 32x32 output-stationary systolic run:
``--rows`` demand rows of ``--width`` int32 ports for each of the three SRAM streams (ifmap
and filter windows skewed one cycle per port, addresses rising by 1 along a row's diagonal,
ofmap writes at the end of each fold, -1 for idle ports) plus the int64 ``sram/cycle``,
appended in ``--chunk-rows`` chunks through ``TraceWriter``. Rows are generated chunk by chunk
and generation is not timed: the write rate is raw array bytes / seconds spent inside
``append`` and ``close`` (compression, the fsync and the atomic rename included). The median of
``--repeat`` runs is reported, with the file size, the read-back rate and the peak RSS
(``ru_maxrss``), which stays bounded by the chunk size, not the trace size.

Run: ``python benchmarks/bench_trace_write.py [--rows 2000000] [--repeat 3] [--out r.json]``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hwloop.traces import TraceWriter, open_trace

#: Reduction length of one fold (a 3x3x32 window) and its 2 x 32 rows of fill and drain.
WINDOW = 288


def synthetic_chunk(row0: int, rows: int, width: int) -> dict[str, np.ndarray]:
    """Rows ``row0 ..`` of the three demand matrices and their cycles."""
    fold_rows = WINDOW + 2 * width
    cycle = np.arange(row0, row0 + rows, dtype=np.int64)
    fold, local = np.divmod(cycle, fold_rows)
    port = np.arange(width, dtype=np.int64)
    step = local[:, None] - port[None, :]
    busy = (step >= 0) & (step < WINDOW)
    ifmap = np.where(busy, (fold[:, None] % 64) * 4096 + port * 18 + step, -1)
    filt = np.where(busy, (fold[:, None] // 64) * WINDOW * width + port * WINDOW + step, -1)
    drain = step - WINDOW
    ofmap = np.where((drain >= 0) & (drain < width),
                     fold[:, None] * width * width + port * width + drain, -1)
    return {"sram/ifmap_read": ifmap.astype(np.int32), "sram/filter_read": filt.astype(np.int32),
            "sram/ofmap_write": ofmap.astype(np.int32), "sram/cycle": cycle}


def write_once(path: Path, rows: int, width: int, chunk_rows: int) -> tuple[float, int]:
    """Write one trace; returns (seconds inside the writer, raw bytes appended)."""
    inside, raw = 0.0, 0
    start = time.perf_counter()
    writer = TraceWriter(path, attrs={"architecture": {"rows": width, "cols": width,
                                                       "dataflow": "os"}, "units": "words"})
    layer = writer.add_layer(index=0, name="synthetic")
    inside += time.perf_counter() - start
    with writer:
        for row0 in range(0, rows, chunk_rows):
            arrays = synthetic_chunk(row0, min(chunk_rows, rows - row0), width)
            start = time.perf_counter()
            for name, array in arrays.items():
                layer.append(name, array)
            inside += time.perf_counter() - start
            raw += sum(array.nbytes for array in arrays.values())
        start = time.perf_counter()
    inside += time.perf_counter() - start  # close(): flush, fsync, rename
    return inside, raw


def read_once(path: Path) -> float:
    """Seconds to stream every dataset of the file back."""
    start = time.perf_counter()
    with open_trace(path) as trace:
        for name in ("sram/ifmap_read", "sram/filter_read", "sram/ofmap_write", "sram/cycle"):
            for _ in trace.layers[0].iter_chunks(name):
                pass
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=2_000_000, help="demand rows per SRAM stream")
    p.add_argument("--width", type=int, default=32, help="ports per row (array rows/cols)")
    p.add_argument("--chunk-rows", type=int, default=65536, help="rows per append")
    p.add_argument("--repeat", type=int, default=3, help="timed writes (median reported)")
    p.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    p.add_argument("--out", metavar="PATH", help="also write the numbers as JSON here")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_trace_", dir=a.dir) as tmp:
        path = Path(tmp) / "trace.h5"
        writes, reads = [], []
        for _ in range(a.repeat):
            seconds, raw = write_once(path, a.rows, a.width, a.chunk_rows)
            writes.append(seconds)
            reads.append(read_once(path))
        size = path.stat().st_size
    write_s, read_s = statistics.median(writes), statistics.median(reads)
    result = {
        "rows": a.rows, "width": a.width, "chunk_rows": a.chunk_rows, "repeat": a.repeat,
        "raw_mb": raw / 1e6, "file_mb": size / 1e6, "compression_ratio": raw / size,
        "write_s": write_s, "write_mb_per_s": raw / 1e6 / write_s,
        "write_mb_per_s_min_max": [raw / 1e6 / max(writes), raw / 1e6 / min(writes)],
        "read_s": read_s, "read_mb_per_s": raw / 1e6 / read_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpus": os.cpu_count(), "python": sys.version.split()[0],
    }
    print(f"trace: {a.rows:,} rows x {a.width} int32 x 3 SRAM streams + int64 cycles, "
          f"appended {a.chunk_rows:,} rows at a time")
    print(f"raw {result['raw_mb']:.1f} MB -> file {result['file_mb']:.1f} MB "
          f"({result['compression_ratio']:.1f}x)")
    print(f"write: {result['write_mb_per_s']:.0f} MB/s of raw array bytes "
          f"(median of {a.repeat}; {write_s:.2f} s; range "
          f"{result['write_mb_per_s_min_max'][0]:.0f}-{result['write_mb_per_s_min_max'][1]:.0f})")
    print(f"read back (streamed): {result['read_mb_per_s']:.0f} MB/s")
    print(f"peak RSS: {result['peak_rss_mb']:.0f} MB")
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
