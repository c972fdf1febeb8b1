"""The fast per-layer model (closed forms + Numba kernels) against the naive reference.

``tests/naive.py`` builds SCALE-Sim's operand and demand matrices and replays them through
plain-Python read and write buffers; ``simulate_systolic_layer`` must agree with it on every
counter, in both modes (hwloop's own and ``scalesim_compat``). Buffers of 1-3 KiB (windows of
500-1500 words) with operands larger than that exercise the DRAM turnover paths.
"""
from __future__ import annotations

import importlib.util
import math
import pathlib
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hwloop.arch import Accelerator, Sram, SystolicArray
from hwloop.sim.arrays import simulate_systolic_layer
from hwloop.traces import Layer

_spec = importlib.util.spec_from_file_location(
    "hwloop_tests_naive", pathlib.Path(__file__).resolve().parents[1] / "naive.py")
naive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(naive)

INT_FIELDS = ("total_cycles", "stall_cycles", "macs", "ifmap_sram_reads", "filter_sram_reads",
              "ofmap_sram_writes", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
              "row_folds", "col_folds")
FLOAT_FIELDS = ("overall_util", "compute_util", "mapping_eff")


def conv(name, h, w, fh, fw, c, n, s=1, sw=None, kind="conv"):
    return Layer(name=name, ifmap_h=h, ifmap_w=w, filter_h=fh, filter_w=fw, channels=c,
                 num_filters=n, stride_h=s, stride_w=s if sw is None else sw, kind=kind)


def accelerator(rows, cols, dataflow, kb):
    return Accelerator(array=SystolicArray(rows=rows, cols=cols, dataflow=dataflow),
                       sram=Sram(ifmap_kb=kb[0], filter_kb=kb[1], ofmap_kb=kb[2]))


def check_against_naive(layer, rows, cols, dataflow, kb):
    """Assert both modes of the fast model equal the naive reference; return the naive pair."""
    expected = naive.naive_both(layer, rows, cols, dataflow, *kb)
    accel = accelerator(rows, cols, dataflow, kb)
    for compat, want in zip((False, True), expected):
        got = simulate_systolic_layer(layer, accel, scalesim_compat=compat)
        where = (f"{layer!r} on {rows}x{cols} {dataflow} kb={kb} "
                 f"scalesim_compat={compat}")
        for key in INT_FIELDS:
            assert got[key] == want[key], f"{key}: kernel {got[key]} != naive {want[key]} for {where}"
        for key in FLOAT_FIELDS:
            assert math.isclose(got[key], want[key], rel_tol=1e-9, abs_tol=1e-9), (
                f"{key}: kernel {got[key]!r} != naive {want[key]!r} for {where}")
    return expected


# Operand sizes in words are noted where they pass a 1 KiB buffer's 500-word window.
CASES = [
    # (layer, rows, cols, dataflow, (ifmap_kb, filter_kb, ofmap_kb))
    (conv("c3x3_c6_f10", 12, 12, 3, 3, 6, 10), 4, 4, "os", (1, 1, 1)),   # ifmap 864, filter 540
    (conv("c3x3_c6_f10", 12, 12, 3, 3, 6, 10), 4, 4, "ws", (1, 1, 1)),
    (conv("c3x3_c6_f10", 12, 12, 3, 3, 6, 10), 4, 4, "is", (1, 1, 1)),
    (conv("c3x3_c6_f10", 12, 12, 3, 3, 6, 10), 9, 9, "os", (1, 1, 1)),
    (conv("c3x3_c6_f10", 12, 12, 3, 3, 6, 10), 7, 3, "ws", (1, 1, 1)),
    (conv("c3x3_c6_f10", 12, 12, 3, 3, 6, 10), 2, 9, "is", (1, 1, 1)),
    (conv("c3x3_c6_f10", 12, 12, 3, 3, 6, 10), 5, 6, "os", (2, 1, 3)),
    (conv("c3x3_c6_f10", 12, 12, 3, 3, 6, 10), 3, 5, "is", (1, 2, 2)),
    (conv("s3_partial", 11, 11, 3, 3, 5, 7, 3), 3, 4, "os", (1, 1, 1)),  # -1 window elements
    (conv("s3_partial", 11, 11, 3, 3, 5, 7, 3), 3, 4, "ws", (1, 1, 1)),
    (conv("s3_partial", 11, 11, 3, 3, 5, 7, 3), 3, 4, "is", (1, 1, 1)),
    (conv("s4_gap", 12, 12, 2, 2, 6, 9, 4), 5, 2, "os", (1, 1, 1)),      # skipped input words
    (conv("s4_gap", 12, 12, 2, 2, 6, 9, 4), 5, 2, "ws", (1, 1, 1)),
    (conv("s4_gap", 12, 12, 2, 2, 6, 9, 4), 5, 2, "is", (1, 1, 1)),
    (conv("aniso", 10, 12, 2, 3, 4, 6, 1, 2), 6, 3, "ws", (1, 1, 1)),
    # windows overlap down the rows but leave gaps across the columns (OS set replay)
    (conv("gap_w", 14, 14, 5, 2, 4, 6, 3), 6, 3, "os", (1, 1, 1)),
    (conv("gap_w_aniso", 13, 17, 3, 2, 5, 4, 2, 3), 8, 4, "os", (2, 1, 1)),
    (conv("gap_w_aniso", 13, 17, 3, 2, 5, 4, 2, 3), 8, 4, "ws", (2, 1, 1)),
    (conv("s2_partial", 16, 15, 3, 3, 4, 5, 2), 5, 3, "is", (1, 1, 1)),  # ifmap 960, -1 reads
    (conv("full_win", 7, 9, 7, 9, 6, 5), 4, 4, "os", (1, 1, 1)),         # one pixel, window 378
    (conv("full_win", 7, 9, 7, 9, 6, 5), 4, 4, "is", (1, 1, 1)),
    (conv("one_px", 1, 1, 1, 1, 6, 10), 3, 3, "ws", (1, 1, 1)),
    (conv("pw", 12, 12, 1, 1, 6, 10), 1, 1, "os", (1, 1, 1)),           # degenerate 1x1 OS
    (conv("pw", 12, 12, 1, 1, 6, 10), 1, 1, "ws", (1, 1, 1)),
    (conv("pw", 12, 12, 1, 1, 6, 10), 1, 1, "is", (1, 1, 1)),
    (conv("c3x3_c6_f10", 12, 12, 3, 3, 6, 10), 1, 9, "os", (1, 1, 1)),
    (conv("c3x3_c6_f10", 12, 12, 3, 3, 6, 10), 9, 1, "ws", (1, 1, 1)),
    (conv("c3x3_c6_f10", 12, 12, 3, 3, 6, 10), 9, 1, "is", (1, 1, 1)),
    (Layer.gemm("gemm_big_k", 30, 10, 40), 4, 4, "os", (1, 1, 1)),     # ifmap 1200, filter 400
    (Layer.gemm("gemm_big_k", 30, 10, 40), 3, 8, "ws", (1, 1, 1)),
    (Layer.gemm("gemm_big_k", 30, 10, 40), 8, 3, "is", (1, 1, 1)),
    (Layer.gemm("gemm_wide_n", 12, 60, 20), 5, 5, "is", (1, 1, 1)),    # filter 1200
    (conv("dw3x3", 12, 12, 3, 3, 4, 1, kind="depthwise"), 4, 4, "os", (1, 1, 1)),
    (conv("dw3x3_s2_m2", 11, 11, 3, 3, 3, 2, 2, kind="depthwise"), 3, 5, "ws", (1, 1, 1)),
    (conv("dw5x5", 12, 12, 5, 5, 5, 3, kind="depthwise"), 2, 2, "is", (1, 1, 1)),
    # stride 4 over height 11 (filter 2): SCALE-Sim's ceil adds an output row starting past
    # the input; its windows read nothing (an early walker let the window fill unturned here)
    (conv("past_edge", 11, 12, 2, 3, 7, 6, 4, 1), 9, 4, "os", (1, 1, 1)),
    # dilated taps (PyTorch's dilation): windows span 2 * (F - 1) + 1 inputs
    *[(replace(conv(f"dil_{df}", 12, 12, 3, 3, 6, 5, s), dilation_h=2, dilation_w=dw), r, c, df,
       (1, 1, 1)) for df, s, dw, r, c in (("os", 1, 2, 4, 3), ("ws", 1, 3, 5, 4),
                                          ("is", 2, 2, 3, 5), ("os", 2, 1, 7, 2),
                                          ("ws", 2, 2, 2, 3))],
    (replace(conv("dil_dw", 12, 12, 3, 3, 6, 1, kind="depthwise"), dilation_h=2, dilation_w=2),
     4, 4, "ws", (1, 1, 1)),
    (replace(conv("grouped", 11, 11, 3, 3, 8, 3), conv_groups=2), 4, 3, "os", (1, 1, 1)),
]


@pytest.mark.parametrize("layer, rows, cols, dataflow, kb", CASES,
                         ids=[f"{c[0].name}-{c[1]}x{c[2]}-{c[3]}-kb{'-'.join(map(str, c[4]))}"
                              for c in CASES])
def test_fixed_cases_match_naive(layer, rows, cols, dataflow, kb):
    check_against_naive(layer, rows, cols, dataflow, kb)


def test_fixed_cases_cover_dram_turnover():
    """At least some fixed cases have operands beyond a 1 KiB buffer's first window."""
    big_ifmap = sum(1 for layer, *_, kb in CASES
                    if kb[0] == 1 and layer.ifmap_h * layer.ifmap_w * layer.channel_group > 500)
    big_filter = sum(1 for layer, *_, kb in CASES
                     if kb[1] == 1 and layer.window_size * layer.num_filters > 500)
    assert big_ifmap >= 10 and big_filter >= 5


@st.composite
def small_cases(draw, big):
    """(layer, rows, cols, dataflow, kb); if ``big``, operands mostly past a 1 KiB window."""
    kind = draw(st.sampled_from(["conv", "conv", "conv", "gemm", "depthwise"]))
    rows, cols = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    dataflow = draw(st.sampled_from(naive.DATAFLOWS))
    kb = draw(st.tuples(*[st.sampled_from([1, 1, 1, 2] if big else [1, 2, 3])] * 3))
    if kind == "gemm":
        lo = 15 if big else 1
        layer = Layer.gemm("g", draw(st.integers(lo, 40)), draw(st.integers(lo, 30)),
                           draw(st.integers(lo, 40)))
        return layer, rows, cols, dataflow, kb
    h = draw(st.integers(11 if big else 1, 12))
    w = draw(st.integers(11 if big else 1, 12))
    fh = draw(st.integers(3 if big else 1, min(h, 5)))
    fw = draw(st.integers(3 if big else 1, min(w, 5)))
    channels = draw(st.integers(5 if big else 1, 6))
    filters = draw(st.integers(5 if big and kind == "conv" else 1, 10 if kind == "conv" else 3))
    sh = draw(st.integers(1, 4))
    sw = draw(st.sampled_from([sh, draw(st.integers(1, 4))]))
    layer = conv("h", h, w, fh, fw, channels, filters, sh, sw, kind=kind)
    return layer, rows, cols, dataflow, kb


@pytest.mark.parametrize("big", [False, True], ids=["small", "big"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_layers_match_naive(big, data):
    layer, rows, cols, dataflow, kb = data.draw(small_cases(big), label="case")
    plain, compat = check_against_naive(layer, rows, cols, dataflow, kb)
    window = 500  # first window of a 1 KiB read buffer
    ifmap_words = layer.ifmap_h * layer.ifmap_w * layer.channel_group
    event(f"ifmap past first window: {ifmap_words > window * kb[0]}")
    event(f"filter past first window: {layer.window_size * layer.num_filters > window * kb[1]}")
    event(f"compat DRAM ofmap overcount: {compat['dram_ofmap_writes'] > plain['dram_ofmap_writes']}")


@pytest.mark.parametrize("fraction", [0.6, 0.75])
@pytest.mark.parametrize("layer, rows, cols, dataflow, kb", [c for c in CASES if c[4][0] == 1][:6],
                         ids=lambda v: getattr(v, "name", None))
def test_uneven_active_split_slides_the_window(layer, rows, cols, dataflow, kb, fraction):
    """Away from SCALE-Sim's even split the read window slides by the prefetch sets (older
    active sets stay resident): stall-free DRAM reads still equal the naive model's."""
    from dataclasses import replace

    accel = accelerator(rows, cols, dataflow, kb)
    accel = replace(accel, sram=replace(accel.sram, active_fraction=fraction))
    want, _ = naive.naive_both(layer, rows, cols, dataflow, *kb, active_fraction=fraction)
    got = simulate_systolic_layer(layer, accel)
    for key in ("dram_ifmap_reads", "dram_filter_reads"):
        assert got[key] == want[key], key
