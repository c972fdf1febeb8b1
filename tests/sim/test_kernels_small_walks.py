"""Every path of the bitset ifmap walk on a few tiny layers, against the word-by-word reference.

``test_bitset_buffer`` holds the walk (``kernels/_bitset_buffer``, ``_bitset_folds``,
``_bitset_span``, ``_bitset_bits``) to ``tests/naive_read_buffer.py`` on ResNet-18 and on
hundreds of random layers: minutes as plain Python. The layers here were picked so that each
path runs at least once in a fraction of a second with the JIT off (``test_kernels_nojit``
runs this file so): OS, WS on both bit layouts and IS spans and exact replays, WS spans of
whole folds, strided WS rows, ranges across 64-bit words, guessed spans kept and undone, and
identical passes filled in from a cycle instead of walked, words counted and (through
``fast_events``) block rows recorded.
"""
from __future__ import annotations

import pytest

from hwloop.arch import Accelerator, Sram, SystolicArray
from hwloop.traces import Layer

from .test_bitset_buffer import _same
from .test_fast_events import _same as _same_events


def conv(h: int, w: int, fh: int, fw: int, c: int, n: int, sh: int = 1, sw: int = 1) -> Layer:
    return Layer(name="c", ifmap_h=h, ifmap_w=w, filter_h=fh, filter_w=fw, channels=c,
                 num_filters=n, stride_h=sh, stride_w=sw)


# (what the case reaches, layer, dataflow code, rows, cols, first window, later window)
WALKS = [
    ("os-guess-undone", conv(4, 3, 3, 2, 3, 1, 1, 3), 0, 1, 2, 23, 31),
    ("ws-guess-undone", conv(4, 5, 3, 2, 1, 3, 1, 1), 1, 1, 3, 14, 4),
    ("is-guess-undone", conv(6, 4, 1, 2, 7, 12, 3, 1), 2, 8, 1, 53, 160),
    ("os-passes-repeat", conv(3, 3, 2, 3, 2, 10, 3, 2), 0, 3, 4, 1, 6),
    ("ws-passes-repeat", conv(3, 3, 3, 1, 1, 7, 2, 1), 1, 3, 2, 7, 9),
    ("ws-strided-rows", conv(4, 4, 2, 1, 1, 5, 3, 2), 1, 3, 3, 12, 1),
    ("ws-whole-folds", conv(3, 5, 1, 3, 7, 11, 3, 3), 1, 8, 4, 25, 61),
    ("is-tiles", conv(3, 4, 1, 1, 3, 8, 3, 3), 2, 4, 1, 7, 29),
    *[(f"65-channels-{name}", conv(5, 5, 3, 3, 65, 4), df, 4, 3, 500, 700)
      for df, name in enumerate(("os", "ws", "is"))],
]


@pytest.mark.parametrize("layer, dataflow, rows, cols, first, later", [w[1:] for w in WALKS],
                         ids=[w[0] for w in WALKS])
def test_small_walks_match_the_reference(layer: Layer, dataflow: int, rows: int, cols: int,
                                         first: int, later: int) -> None:
    """Words fetched equal the reference's (WS: on both bit layouts)."""
    _same(layer, dataflow, rows, cols, first, later)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("layer, kb", [(conv(12, 12, 3, 3, 5, 12), 1),
                                       (conv(7, 7, 2, 2, 70, 3, 2, 2), 2)],
                         ids=["small_windows", "wide_channels"])
def test_small_block_rows_match_the_stream(layer: Layer, kb: int, dataflow: str) -> None:
    """The recording walk's blocks (words and first demand rows) equal those of the demand
    stream fed through the buffers row by row; the ifmaps (720 and 3430 words) and the first
    filter (540 words) overfill their buffers' 500- and 1000-word windows, so they turn over."""
    accel = Accelerator(array=SystolicArray(rows=4, cols=3, dataflow=dataflow),
                        sram=Sram(ifmap_kb=kb, filter_kb=1, ofmap_kb=1))
    _same_events(layer, accel)
