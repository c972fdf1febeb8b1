"""N:M weight sparsity, as SCALE-Sim v3 models it layer-wise, and compressed filters.

SCALE-Sim keeps the first N of every M positions of a layer's window (the same positions for
every filter), drops the ifmap columns and filter rows of the others and runs the smaller GEMM
with every dataflow. Its window runs channel-fastest, so when the pattern keeps the same
channels at every filter tap (a 1x1 conv, a GEMM, or channels a multiple of M) the sparse
layer is exactly a dense layer with fewer channels (or a shorter ``K``): same schedule,
same buffer walks, relabelled addresses. That dense layer is what hwloop simulates. A conv
whose kept channels shift from tap to tap runs as its own layer with a ``masked`` window:
the schedule counts the kept positions, and its DRAM reads come from the streamed demand
(the reference the fast walks are tested against), whose addresses skip the dropped
positions; slower, as exact.

What hwloop reports on top of that layer, and where it departs from SCALE-Sim (which it
matches under ``scalesim_compat``):

* ``macs`` counts the MACs done (the kept weights); SCALE-Sim's ``overall_util`` divides the
  dense MACs by the cycles, hwloop's the MACs done.
* WS reads, for each kept weight row, its whole block of M inputs to pick the one it
  multiplies: ifmap SRAM reads are the dense window's. SCALE-Sim scales the kept reads by
  ``M / N`` (a fraction, and more than the window when its last block is partial).
* ``dram_filter_reads`` are the kept values (SCALE-Sim's count); ``dram_filter_bytes`` adds
  the representation's metadata (:func:`metadata_bits`), and energy follows the bytes.
  SCALE-Sim reports ELLPACK metadata separately, in 32-bit words although its data words
  are bytes; hwloop counts metadata in bits.
"""
from __future__ import annotations

import math
from dataclasses import replace

from hwloop.arch import Accelerator, Dataflow
from hwloop.sim.report import register_columns
from hwloop.traces import Layer, LayerKind

register_columns({"sparsity": "N:M ratio the run honoured (--sparse; row-wise:B with "
                              "--sparse-row-wise, B the block size); empty: dense",
                  "filter_metadata_bits": "bits of compressed-filter metadata read from DRAM "
                                          "(in dram_filter_bytes)"})


def kept(size: int, n: int, m: int) -> int:
    """Positions of ``size`` whose index modulo ``m`` is below ``n``."""
    return (size // m) * n + min(n, size % m)


def ratio_of(layer: Layer, accel: Accelerator) -> tuple[int, int] | None:
    """The N:M ratio the run honours for ``layer`` (None: dense)."""
    if not accel.sparsity.enabled or layer.sparsity is None:
        return None
    n, m = layer.sparsity
    return None if n == m else (n, m)


def dense_equivalent(layer: Layer, n: int, m: int) -> Layer:
    """The dense layer of ``layer``'s kept weights (see the module docstring)."""
    if layer.kind is LayerKind.GEMM:
        k = kept(layer.filter_w, n, m)
        return replace(layer, ifmap_w=k, filter_w=k, sparsity=None)
    group = layer.channel_group
    if layer.filter_h * layer.filter_w == 1:
        channels = kept(group, n, m)
    elif group % m == 0:
        channels = group // m * n
    else:  # other channels at each tap: the window itself is masked (its demand streamed)
        return replace(layer, sparsity=None, masked=(n, m))
    return replace(layer, channels=channels * layer.groups, sparsity=None)


def sparse_row(row: dict, layer: Layer, accel: Accelerator, ratio: tuple[int, int], *,
               scalesim_compat: bool) -> dict:
    """The dense-equivalent layer's row as ``layer``'s: WS ifmap reads, utilisation, and the
    compressed filter's metadata (``filter_metadata_bits``)."""
    n, m = ratio
    window = layer.filter_h * layer.filter_w * layer.channel_group
    window_kept = kept(window, n, m)
    if accel.array.dataflow is Dataflow.WS:
        reads = row["ifmap_sram_reads"]
        row["ifmap_sram_reads"] = (reads * m / n if scalesim_compat
                                   else reads // window_kept * window)
    if scalesim_compat:  # SCALE-Sim's utilisation: the dense MACs over the cycles
        dense = row["macs"] // window_kept * window
        pes = accel.array.rows * accel.array.cols
        row["overall_util"] = 100.0 * dense / (max(row["total_cycles"], 1) * pes)
    filters = layer.num_filters * layer.groups
    values = window_kept * filters
    bits = metadata_bits(accel.sparsity.representation, window, filters, values, m)
    passes = row["dram_filter_reads"] / values if values else 0.0
    row["filter_metadata_bits"] = math.ceil(bits * passes)
    row["sparsity"] = f"{n}:{m}"
    return row


def metadata_bits(representation: str, rows: int, cols: int, values: int, m: int) -> int:
    """Bits of metadata beside ``values`` kept weights of a ``rows x cols`` filter matrix
    (window x filters): ELLPACK, each value's position in its block (``ceil(log2 M)`` bits);
    CSR, each value's column and a pointer per row (``rows + 1``); CSC, each value's row and
    a pointer per column; bitmap, one bit per dense weight."""
    if representation == "ellpack_block":
        return values * math.ceil(math.log2(m))
    if representation == "bitmap":
        return rows * cols
    index_of, pointers = (cols, rows + 1) if representation == "csr" else (rows, cols + 1)
    return (values * _bits(index_of - 1) + pointers * _bits(values))


def _bits(largest: int) -> int:
    """Bits to write 0..largest."""
    return max(1, largest.bit_length())
