"""The plain-Python explicit-mapping reference (``tests/naive_mapping.py``) on hand-worked cases.

The fast mapping model is held to that reference, so the reference itself is checked here
against counts worked out by hand and, for a one-tile mapping, against the classic engine's
cycles and SRAM counts (its DRAM counts follow SCALE-Sim's buffer model, so they are not
compared).
"""
from __future__ import annotations

import importlib.util
import math
import pathlib

import pytest

from hwloop.arch import Accelerator, Dram, SystolicArray
from hwloop.sim import simulate_layer
from hwloop.traces import Layer

_spec = importlib.util.spec_from_file_location(
    "hwloop_tests_naive_mapping",
    pathlib.Path(__file__).resolve().parents[1] / "naive_mapping.py")
naive_mapping = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(naive_mapping)
naive_mapped = naive_mapping.naive_mapped
naive_tile_steps = naive_mapping.naive_tile_steps

DATAFLOWS = ("os", "ws", "is")
ENGINE_KEYS = ("total_cycles", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes")


def conv(h, w, fh, fw, c, n, *, stride=1, dilation=1, kind="conv", conv_groups=1):
    return Layer(name="conv", ifmap_h=h, ifmap_w=w, filter_h=fh, filter_w=fw, channels=c,
                 num_filters=n, stride_h=stride, stride_w=stride, dilation_h=dilation,
                 dilation_w=dilation, kind=kind, conv_groups=conv_groups)


def classic(layer, dataflow, rows, cols):
    accel = Accelerator(array=SystolicArray(rows=rows, cols=cols, dataflow=dataflow),
                        dram=Dram())
    return simulate_layer(layer, accel)


def dram_totals(steps):
    return {"ifmap": sum(s["dram_ifmap_reads"] for s in steps),
            "filter": sum(s["dram_filter_reads"] for s in steps),
            "ofmap_reads": sum(s["dram_ofmap_reads"] for s in steps),
            "ofmap_writes": sum(s["dram_ofmap_writes"] + s["dram_ofmap_writes_at_end"]
                                for s in steps)}


# --- GEMM: the worked cases -------------------------------------------------------------------

@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_kmn_reads_ifmap_once_and_writes_ofmap_per_k_tile(dataflow):
    # M=10, N=7, K=9 with tiles 4, 3, 4: three trips on every loop, edge tiles smaller
    layer = Layer.gemm("g", 10, 7, 9)
    m, n, k = 10, 7, 9
    m_trips, k_trips = math.ceil(m / 4), math.ceil(k / 4)
    got = naive_mapped(layer, {"tile_m": 4, "tile_n": 3, "tile_k": 4}, "kmn", dataflow, 4, 4)
    assert got["steps"] == 27
    assert got["dram_ifmap_reads"] == m * k == 90
    assert got["dram_filter_reads"] == k * n * m_trips == 189
    assert got["dram_ofmap_writes"] == m * n * k_trips == 210
    assert got["dram_ofmap_reads"] == m * n * (k_trips - 1) == 140


@pytest.mark.parametrize("tiles", [{"tile_m": 4, "tile_n": 3, "tile_k": 9},
                                   {"tile_m": 4, "tile_n": 3},  # missing: the whole of K
                                   {"tile_m": 4, "tile_n": 3, "tile_k": 50}])  # clipped to K
def test_mnk_with_whole_k_reads_ifmap_once(tiles):
    layer = Layer.gemm("g", 10, 7, 9)
    got = naive_mapped(layer, tiles, "mnk", "ws", 4, 4)
    assert got["steps"] == 3 * 3
    assert got["dram_ifmap_reads"] == 10 * 9
    assert got["dram_filter_reads"] == 9 * 7 * 3  # every filter tile, once per m tile
    assert got["dram_ofmap_writes"] == 10 * 7  # each ofmap tile finished before it leaves
    assert got["dram_ofmap_reads"] == 0


def test_nkm_steps_by_hand():
    # M=4, N=2, K=2, tiles 2 x 1 x 1: two trips on each loop, n outermost, m innermost
    layer = Layer.gemm("g", 4, 2, 2)
    steps = naive_tile_steps(layer, {"tile_m": 2, "tile_n": 1, "tile_k": 1}, "nkm")
    assert [(s["index"]["n"], s["index"]["k"], s["index"]["m"]) for s in steps] == [
        (0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1), (1, 0, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1)]
    assert all((s["m"], s["n"], s["k"]) == (2, 1, 1) for s in steps)
    # ifmap (m, k), 2 words: m changes every step
    assert [s["dram_ifmap_reads"] for s in steps] == [2] * 8
    # filter (k, n), 1 word: (0,0) (0,0) (1,0) (1,0) (0,1) (0,1) (1,1) (1,1)
    assert [s["dram_filter_reads"] for s in steps] == [1, 0, 1, 0, 1, 0, 1, 0]
    # ofmap (m, n), 2 words: (0,0) (1,0) (0,0) (1,0) (0,1) (1,1) (0,1) (1,1)
    assert [s["dram_ofmap_writes"] for s in steps] == [0, 2, 2, 2, 2, 2, 2, 2]
    assert [s["dram_ofmap_reads"] for s in steps] == [0, 0, 2, 2, 0, 0, 2, 2]
    assert [s["dram_ofmap_writes_at_end"] for s in steps] == [0] * 7 + [2]
    got = naive_mapped(layer, {"tile_m": 2, "tile_n": 1, "tile_k": 1}, "nkm", "os", 2, 2)
    assert (got["dram_ifmap_reads"], got["dram_filter_reads"], got["dram_ofmap_writes"],
            got["dram_ofmap_reads"], got["steps"]) == (16, 4, 16, 8, 8)


def test_edge_tiles_are_smaller():
    steps = naive_tile_steps(Layer.gemm("g", 10, 7, 9),
                             {"tile_m": 4, "tile_n": 3, "tile_k": 4}, "mnk")
    assert [s["m"] for s in steps[::9]] == [4, 4, 2]
    assert [s["n"] for s in steps[:9:3]] == [3, 3, 1]
    assert [s["k"] for s in steps[:3]] == [4, 4, 1]


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_cycles_sum_over_steps(dataflow):
    # 8 x 6 x 8 in 4 x 3 x 4 tiles: eight equal tiles, each the classic engine's GEMM alone
    layer = Layer.gemm("g", 8, 6, 8)
    got = naive_mapped(layer, {"tile_m": 4, "tile_n": 3, "tile_k": 4}, "nmk", dataflow, 4, 2)
    one = classic(Layer.gemm("t", 4, 3, 4), dataflow, 4, 2)
    assert got["steps"] == 8
    for key in ENGINE_KEYS:
        assert got[key] == 8 * one[key], key


# --- one tile: the classic engine's cycles and SRAM counts ----------------------------------

ONE_TILE_LAYERS = [
    Layer.gemm("g", 10, 7, 9),
    conv(8, 8, 3, 3, 5, 6),
    conv(9, 7, 3, 2, 3, 4, stride=2),
    conv(8, 8, 3, 3, 4, 3, conv_groups=2),
    conv(8, 8, 3, 3, 5, 1, kind="depthwise"),
]


@pytest.mark.parametrize("layer", ONE_TILE_LAYERS, ids=lambda layer: repr(layer.gemm_mnk))
@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize("order", ["mnk", "kmn"])
def test_one_tile_matches_classic_engine(layer, dataflow, order):
    got = naive_mapped(layer, {}, order, dataflow, 4, 3)
    want = classic(layer, dataflow, 4, 3)
    assert got["steps"] == 1
    for key in ENGINE_KEYS:
        assert got[key] == want[key], key
    m, n, k = layer.gemm_mnk
    assert got["dram_filter_reads"] == layer.groups * k * n
    assert got["dram_ofmap_writes"] == layer.groups * m * n
    assert got["dram_ofmap_reads"] == 0


def test_one_tile_gemm_dram_is_each_operand_once():
    got = naive_mapped(Layer.gemm("g", 10, 7, 9), {"tile_m": 10, "tile_n": 7, "tile_k": 9},
                       "nkm", "os", 4, 4)
    assert (got["dram_ifmap_reads"], got["dram_filter_reads"], got["dram_ofmap_writes"],
            got["dram_ofmap_reads"]) == (90, 63, 70, 0)


# --- conv: halo by hand -----------------------------------------------------------------------

def test_conv_halo_stride_1():
    # 8x8 input, 3x3 filter, stride 1: 6x6 outputs. tile_p=3: output rows [0,3) and [3,6)
    # read input rows [0,5) and [3,8): 5 + 5 rows of all 8 columns (2 rows of halo re-read)
    layer = conv(8, 8, 3, 3, 2, 4)
    steps = naive_tile_steps(layer, {"tile_p": 3}, "mnk")
    assert [s["dram_ifmap_reads"] for s in steps] == [5 * 8 * 2, 5 * 8 * 2]
    assert [s["dram_filter_reads"] for s in steps] == [3 * 3 * 2 * 4, 0]
    assert [(s["m"], s["n"], s["k"]) for s in steps] == [(3 * 6, 4, 3 * 3 * 2)] * 2
    got = naive_mapped(layer, {"tile_p": 3}, "mnk", "os", 4, 4)
    assert got["dram_ifmap_reads"] == 160  # the input is 8 * 8 * 2 = 128 words
    assert got["dram_filter_reads"] == 72
    assert got["dram_ofmap_writes"] == 6 * 6 * 4
    assert got["dram_ofmap_reads"] == 0


def test_conv_halo_stride_2_clips_at_the_input_edge():
    # 8x8 input, 3x3 filter, stride 2: ceil((8 - 3 + 2) / 2) = 4x4 outputs; the last window
    # would reach input row 8, past the input, so the rectangle is clipped there.
    # tile_p=2: rows [0, 2+3) = 5 and [4, min(8, 6+3)) = 4.
    # tile_q=3: cols [0, 4+3) = 7 and [6, min(8, 6+3)) = 2.
    layer = conv(8, 8, 3, 3, 1, 1, stride=2)
    steps = naive_tile_steps(layer, {"tile_p": 2, "tile_q": 3}, "mnk")
    # the m loop: p-tile outer, q-tile inner
    assert [s["dram_ifmap_reads"] for s in steps] == [5 * 7, 5 * 2, 4 * 7, 4 * 2]
    assert [s["m"] for s in steps] == [2 * 3, 2 * 1, 2 * 3, 2 * 1]
    assert [s["dram_ofmap_writes"] + s["dram_ofmap_writes_at_end"] for s in steps] == [
        0, 6, 2, 6 + 2]


def test_conv_halo_dilated():
    # 8x8 input, 3x3 filter at dilation 2 (spans 5), stride 1: 4x4 outputs.
    # tile_p=2: input rows [0, 1+5) = 6 and [2, min(8, 3+5)) = 6; all 8 columns.
    layer = conv(8, 8, 3, 3, 3, 2, dilation=2)
    steps = naive_tile_steps(layer, {"tile_p": 2}, "nmk")
    assert [s["dram_ifmap_reads"] for s in steps] == [6 * 8 * 3, 6 * 8 * 3]
    assert [s["k"] for s in steps] == [3 * 3 * 3] * 2


def test_conv_channel_tiles_accumulate_partial_sums():
    # 8x8 input, 3x3 filter, 4 channels, 2 filters; tile_c=2, tile_p=3, order kmn:
    # (c-tile, p-tile) = (0,0) (0,1) (1,0) (1,1)
    layer = conv(8, 8, 3, 3, 4, 2)
    steps = naive_tile_steps(layer, {"tile_c": 2, "tile_p": 3}, "kmn")
    assert [(s["m"], s["n"], s["k"]) for s in steps] == [(18, 2, 18)] * 4
    assert [s["dram_ifmap_reads"] for s in steps] == [5 * 8 * 2] * 4
    assert [s["dram_filter_reads"] for s in steps] == [9 * 2 * 2, 0, 9 * 2 * 2, 0]
    assert [s["dram_ofmap_reads"] for s in steps] == [0, 0, 36, 36]
    totals = dram_totals(steps)
    assert totals["ofmap_writes"] == 2 * 6 * 6 * 2  # the whole ofmap, once per c-tile
    assert totals["ofmap_reads"] == 6 * 6 * 2


# --- groups -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_depthwise_counts_multiply_by_groups(dataflow):
    # 3 channels of 6x6, 3x3 filter: per channel 4x4 outputs. tile_p=2: input rows [0,4) and
    # [2,6), 4 + 4 rows of 6 columns. tile_c clips to the one channel a filter reads.
    layer = conv(6, 6, 3, 3, 3, 1, kind="depthwise")
    tiles = {"tile_p": 2, "tile_c": 4}
    got = naive_mapped(layer, tiles, "mnk", dataflow, 4, 4)
    assert got["steps"] == 2
    assert got["dram_ifmap_reads"] == 3 * (4 * 6 + 4 * 6)
    assert got["dram_filter_reads"] == 3 * 9
    assert got["dram_ofmap_writes"] == 3 * 16
    assert got["dram_ofmap_reads"] == 0
    tile = classic(Layer.gemm("t", 2 * 4, 1, 9), dataflow, 4, 4)
    for key in ENGINE_KEYS:
        assert got[key] == 3 * 2 * tile[key], key


def test_grouped_conv_counts_multiply_by_groups():
    # 4 channels in 2 groups of 2; 3 filters per group
    layer = conv(8, 8, 3, 3, 4, 3, conv_groups=2)
    one = naive_mapped(conv(8, 8, 3, 3, 2, 3), {"tile_p": 4, "tile_n": 2}, "nkm", "ws", 4, 4)
    got = naive_mapped(layer, {"tile_p": 4, "tile_n": 2}, "nkm", "ws", 4, 4)
    for key, value in got.items():
        assert value == (one[key] if key == "steps" else 2 * one[key]), key


# --- bad mappings -----------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["mn", "mnn", "abc", "mnkk"])
def test_bad_order(order):
    with pytest.raises(ValueError):
        naive_tile_steps(Layer.gemm("g", 4, 4, 4), {}, order)


def test_bad_tiles():
    with pytest.raises(ValueError):
        naive_tile_steps(Layer.gemm("g", 4, 4, 4), {"tile_p": 2}, "mnk")
    with pytest.raises(ValueError):
        naive_tile_steps(conv(8, 8, 3, 3, 2, 2), {"tile_m": 2}, "mnk")
    with pytest.raises(ValueError):
        naive_tile_steps(Layer.gemm("g", 4, 4, 4), {"tile_m": 0}, "mnk")
