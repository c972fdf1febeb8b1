"""The bitset ifmap buffer kernel equals the demand-by-demand walker on every layer.

``tests/naive_read_buffer.py`` replays each demand through per-word marks (and is itself held to
the plain-Python SCALE-Sim model in ``test_kernels_vs_naive``); ``kernels/_bitset_buffer``
consumes spans of demand as channel bitsets. Channel counts around 64 and wide windows
exercise ranges that cross 64-bit words; tiny windows force turnovers inside spans. On a
128 x 8 array the walks guess long spans in a nearly full window and must undo some (WS,
conv2_x: a guess that would turn the buffer over is put back and retried shorter).
"""
from __future__ import annotations

import importlib.util
import pathlib
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwloop.arch import Dataflow
from hwloop.sim.kernels._bitset_buffer import _ifmap_dram_reads_bitset, _ifmap_rows, _ifmap_walk
from hwloop.sim.memory import buffer_windows
from hwloop.sim.schedule import schedule
from hwloop.traces import Layer, builtin_network

_spec = importlib.util.spec_from_file_location(
    "hwloop_tests_naive_read_buffer",
    pathlib.Path(__file__).resolve().parents[1] / "naive_read_buffer.py")
_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_reference)
_ifmap_dram_reads = _reference._ifmap_dram_reads


def _args(layer: Layer, dataflow: int, rows: int, cols: int, first: int, later: int) -> tuple:
    return (dataflow, rows, cols, layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w,
            layer.channel_group, layer.stride_h, layer.stride_w, layer.ofmap_h, layer.ofmap_w,
            layer.num_filters, first, later)


def _same(layer, dataflow, rows, cols, first, later):
    args = _args(layer, dataflow, rows, cols, first, later)
    want = _ifmap_dram_reads(*args)
    assert _ifmap_dram_reads_bitset(*args) == want
    if dataflow == 1:  # WS has two bit layouts: both must count the same
        for layout in (0, 1):
            assert _ifmap_dram_reads_bitset(*args, layout) == want, f"layout {layout}"


def _resnet_cases():
    seen = []
    for layer in builtin_network("resnet18").layers:
        shape = replace(layer, name="")
        if shape not in seen and (shape.filter_h > 1 or shape.filter_w > 1):
            seen.append(shape)
    return seen


@pytest.mark.parametrize("dataflow", [0, 1, 2], ids=["os", "ws", "is"])
@pytest.mark.parametrize("rows, cols, kb", [(32, 32, 64), (16, 64, 16), (128, 8, 64)])
def test_resnet18_layers(dataflow, rows, cols, kb):
    first, later = buffer_windows(kb * 1024, 0.5)
    for layer in _resnet_cases():
        _same(layer, dataflow, rows, cols, first, later)


@st.composite
def cases(draw):
    channels = draw(st.sampled_from([1, 2, 3, 7, 31, 63, 64, 65, 100, 130]))
    h, w = draw(st.integers(2, 12)), draw(st.integers(2, 12))
    fh, fw = draw(st.integers(1, min(h, 5))), draw(st.integers(1, min(w, 5)))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    layer = Layer(name="c", ifmap_h=h, ifmap_w=w, filter_h=fh, filter_w=fw, channels=channels,
                  num_filters=draw(st.integers(1, 12)), stride_h=sh, stride_w=sw)
    rows, cols = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    words = h * w * channels
    first = draw(st.integers(1, max(1, words)))
    later = draw(st.integers(1, max(1, words)))
    return layer, draw(st.integers(0, 2)), rows, cols, first, later


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_random_layers_and_windows(case):
    layer, dataflow, rows, cols, first, later = case
    _same(layer, dataflow, rows, cols, first, later)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_one_walk_serves_every_column_count(case):
    """OS and WS: a one-column walk's per-pass counts, summed over a width's column folds, and
    its block rows, moved to that width, equal that width's own walk (passes do not depend
    on the columns; only the rows where folds start do)."""
    from hwloop.sim.memory import _walks

    layer, dataflow, rows, _, first, later = case
    dataflow %= 2
    shape = (layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w, layer.channel_group,
             layer.stride_h, layer.stride_w, layer.ofmap_h, layer.ofmap_w)
    passes = layer.num_filters
    need = np.zeros(3 + passes * layer.ofmap_pixels * layer.window_size // min(first, later),
                    dtype=np.int64)
    per_pass, blocks = _ifmap_rows(dataflow, rows, 1, *shape, passes, passes, first, later,
                                   need, 1, 1)
    canonical = need[:blocks].copy()
    for cols in range(1, layer.num_filters + 1):
        width_passes = -(-layer.num_filters // cols)
        args = _args(layer, dataflow, rows, cols, first, later)
        own = np.zeros_like(need)
        fetched, own_blocks = _ifmap_walk(*args, -1, 1, own)
        assert per_pass[:width_passes].sum() == fetched == _ifmap_dram_reads_bitset(*args)
        sched = schedule(layer, rows, cols, (Dataflow.OS, Dataflow.WS)[dataflow])
        moved = _walks._rows_at_width(canonical, sched, width_passes)
        assert moved.tolist() == own[:own_blocks].tolist()
