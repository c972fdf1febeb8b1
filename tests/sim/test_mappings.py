"""Explicit mappings: the fast model held to the plain-Python reference, on random layers.

The reference (``tests/naive_mapping.py``) walks the DRAM-level loop nest step by step; the
model (``hwloop.sim.tiling``) counts tile classes in closed form, vectorises those forms for
the mapper, and turns the tiles' transfers into memory events. Here they must agree on
random GEMMs and convolutions (strided, dilated, depthwise, grouped), under random valid
mappings on small arrays; the mapper must return what it claims and lose at most 2% to
any random valid mapping.
"""
from __future__ import annotations

import importlib.util
import itertools
import math
import os
import pathlib
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from hwloop.arch import MAPPING_ORDERS, Dram, Mapping, Sram, SystolicArray
from hwloop.arch.presets import SCALESIM_DEFAULT
from hwloop.sim import simulate_layer
from hwloop.sim.memory import UNLIMITED, time_events
from hwloop.sim.schedule import DATAFLOW_CODE
from hwloop.sim.tiling import (
    CONV_TILES,
    GEMM_TILES,
    best_mapping,
    compute_counts,
    dram_words,
    loop_nest,
    mapped_events,
    mapped_layer_row,
    nest_for,
    objective_of,
    simulate_mapped_layer,
)
from hwloop.sim.tiling import _vector as vector
from hwloop.traces import InputError, Layer, LayerKind


def _load(name: str):
    spec = importlib.util.spec_from_file_location(
        f"hwloop_tests_{name}", pathlib.Path(__file__).resolve().parents[1] / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


naive_mapping = _load("naive_mapping")
naive_memory = _load("naive_memory")
naive_mapped = naive_mapping.naive_mapped
naive_tile_steps = naive_mapping.naive_tile_steps

DATAFLOWS = ("os", "ws", "is")
DRAM_KEYS = ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads")
SRAM_KEYS = ("ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes")
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.data_too_large])


# ------------------------------------------------------------------ strategies

@st.composite
def gemm_layers(draw, high=24):
    return Layer.gemm("g", draw(st.integers(1, high)), draw(st.integers(1, high)),
                      draw(st.integers(1, high)))


@st.composite
def conv_layers(draw, extra=8, channels=6):
    """Convs with strides 1-2 and dilations 1-2 per axis: plain, depthwise or grouped."""
    kind = draw(st.sampled_from(["conv", "conv", "depthwise", "grouped"]))
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h = dh * (fh - 1) + 1 + draw(st.integers(0, extra))
    w = dw * (fw - 1) + 1 + draw(st.integers(0, extra))
    groups = 1
    if kind == "conv":
        c, n = draw(st.integers(1, channels)), draw(st.integers(1, 8))
    elif kind == "depthwise":
        c, n = draw(st.integers(1, 4)), draw(st.integers(1, 2))
    else:
        groups = draw(st.integers(2, 3))
        c, n = groups * draw(st.integers(1, 3)), draw(st.integers(1, 4))
    layer = Layer(name="c", ifmap_h=h, ifmap_w=w, filter_h=fh, filter_w=fw, channels=c,
                  num_filters=n, stride_h=draw(st.integers(1, 2)),
                  stride_w=draw(st.integers(1, 2)), dilation_h=dh, dilation_w=dw,
                  kind="depthwise" if kind == "depthwise" else "conv", conv_groups=groups)
    # SCALE-Sim's ceil((H - span + S) / S) outputs can place a last window wholly past the
    # input (span < stride: a 1-tap filter at stride 2). The reference refuses such tiles.
    assume((layer.ofmap_h - 1) * layer.stride_h < h and (layer.ofmap_w - 1) * layer.stride_w < w)
    return layer


def any_layers():
    return st.one_of(gemm_layers(), conv_layers())


def tile_dims(layer: Layer) -> dict[str, int]:
    """The tile fields ``layer``'s kind takes, and the dimension each one cuts."""
    pixels, filters, window = layer.gemm_mnk
    if layer.kind is LayerKind.GEMM:
        return {"tile_m": pixels, "tile_n": filters, "tile_k": window}
    return {"tile_p": layer.ofmap_h, "tile_q": layer.ofmap_w, "tile_c": layer.channel_group,
            "tile_n": filters}


@st.composite
def mappings(draw, layer: Layer, dataflows=(None, *DATAFLOWS)):
    """A mapping of ``layer``: any dataflow (None: the accelerator's), any order, each tile
    None (the whole dimension) or 1..dimension."""
    tiles = {name: draw(st.none() | st.integers(1, size))
             for name, size in tile_dims(layer).items()}
    return Mapping(dataflow=draw(st.sampled_from(dataflows)),
                   order=draw(st.sampled_from(MAPPING_ORDERS)), **tiles)


@st.composite
def accelerators(draw, dram=None, sram=None):
    """SCALE-Sim's default (64 KiB buffers) on a small array of any dataflow."""
    array = SystolicArray(rows=draw(st.integers(2, 16)), cols=draw(st.integers(2, 16)),
                          dataflow=draw(st.sampled_from(DATAFLOWS)))
    return replace(SCALESIM_DEFAULT, array=array, dram=dram or Dram(),
                   sram=sram or SCALESIM_DEFAULT.sram)


@st.composite
def cases(draw, layers=None):
    """(layer, accelerator, mapping), the mapping valid on the accelerator."""
    layer = draw(any_layers() if layers is None else layers)
    accel = draw(accelerators())
    mapping = draw(mappings(layer))
    try:
        nest_for(layer, accel, mapping)
    except InputError:  # pragma: no cover - 64 KiB holds every tile these layers have
        assume(False)
    return layer, accel, mapping


def reference_args(layer: Layer, accel, mapping: Mapping):
    """``naive_mapped``'s (tiles, order, dataflow, rows, cols) for this mapping."""
    tiles = {name: getattr(mapping, name) for name in tile_dims(layer)
             if getattr(mapping, name) is not None}
    dataflow = (mapping.dataflow or accel.array.dataflow).value
    return tiles, mapping.order, dataflow, accel.array.rows, accel.array.cols


def with_dram(accel, **dram):
    return replace(accel, dram=Dram(**dram))


# ------------------------------------------------------------------ model == reference

@settings(max_examples=300, **SETTINGS)
@given(case=cases())
def test_stall_free_model_equals_the_reference(case):
    layer, accel, mapping = case
    got = simulate_mapped_layer(layer, accel, mapping)
    want = naive_mapped(layer, *reference_args(layer, accel, mapping))
    for key in (*DRAM_KEYS, "total_cycles", *SRAM_KEYS):
        assert got[key] == want[key], key
    pixels, filters, _ = layer.gemm_mnk
    assert got["ofmap_sram_reads"] == want["ofmap_sram_writes"] - layer.groups * pixels * filters
    assert got["stall_cycles"] == 0
    assert got["macs"] == layer.macs


@settings(max_examples=200, **SETTINGS)
@given(case=cases())
def test_events_move_the_closed_form_words_step_by_step(case):
    layer, accel, mapping = case
    tiles, order, dataflow, rows, cols = reference_args(layer, accel, mapping)
    nest = loop_nest(layer, mapping, accel.array.dataflow)
    events = mapped_events(nest, rows, cols)
    words = dram_words(nest)
    assert int(events.ifmap.words.sum()) == words["dram_ifmap_reads"]
    assert int(events.filter.words.sum()) == words["dram_filter_reads"]
    assert int(events.ofmap.words.sum()) == words["dram_ofmap_writes"]
    assert int(events.psum.words.sum()) == words["dram_ofmap_reads"]

    # the reference's steps, placed at their stall-free rows (tiles run back to back)
    steps = naive_tile_steps(layer, tiles, order)
    cycles = [naive_mapping.tile_row(s["m"], s["n"], s["k"], dataflow, rows, cols)["total_cycles"]
              for s in steps]
    start = [0, *itertools.accumulate(cycles)]
    assert events.last_row == start[-1]

    def fetched(key):
        return [(start[t], s[key]) for t, s in enumerate(steps) if s[key]]

    assert list(zip(events.ifmap.need_row.tolist(), events.ifmap.words.tolist())) \
        == fetched("dram_ifmap_reads")
    assert list(zip(events.filter.need_row.tolist(), events.filter.words.tolist())) \
        == fetched("dram_filter_reads")
    # an ofmap residency fills (is written out) when the next one starts, the last at the end
    written = fetched("dram_ofmap_writes") + [(start[-1], steps[-1]["dram_ofmap_writes_at_end"])]
    assert list(zip(events.ofmap.fill_row.tolist(), events.ofmap.words.tolist())) == written
    assert events.ofmap.start_row.tolist() == [0, *events.ofmap.fill_row.tolist()[:-1]]
    # partial sums come back when their residency starts, issued when the one before did
    assert list(zip(events.psum.need_row.tolist(), events.psum.words.tolist())) \
        == fetched("dram_ofmap_reads")
    chunk = np.searchsorted(events.ofmap.start_row, events.psum.need_row)
    assert np.array_equal(events.ofmap.start_row[chunk], events.psum.need_row)
    assert np.all(chunk >= 1)
    assert np.array_equal(events.psum.issue_row, events.ofmap.start_row[chunk - 1])


@settings(max_examples=100, **SETTINGS)
@given(case=cases(), bws=st.tuples(*[st.sampled_from([1, 2, 5, 16, None])] * 3),
       latency=st.integers(0, 20))
def test_pipe_times_mapped_events_as_the_reference_does(case, bws, latency):
    layer, accel, mapping = case
    nest = loop_nest(layer, mapping, accel.array.dataflow)
    events = mapped_events(nest, accel.array.rows, accel.array.cols)
    timing = time_events(events, Dram(ifmap_bandwidth=bws[0], filter_bandwidth=bws[1],
                                      ofmap_bandwidth=bws[2], latency_cycles=latency))
    stall, history, starts = naive_memory.pipe_timing(
        list(zip(events.ifmap.need_row, events.ifmap.words)),
        list(zip(events.filter.need_row, events.filter.words)),
        list(zip(events.ofmap.start_row, events.ofmap.fill_row, events.ofmap.words)),
        [UNLIMITED if b is None else b for b in bws], latency,
        psum=list(zip(events.psum.issue_row, events.psum.need_row, events.psum.words)))
    assert timing.stall_cycles == stall
    assert list(zip(timing.stall_rows.tolist(), timing.stall_after.tolist())) == history
    for got, want in zip((*timing.starts, timing.psum_starts), starts, strict=True):
        assert got.tolist() == want


# ------------------------------------------------------------------ finite bandwidth

@settings(max_examples=100, **SETTINGS)
@given(case=cases(), bws=st.lists(st.integers(1, 64), min_size=3, max_size=3, unique=True),
       ports=st.tuples(*[st.integers(1, 32) | st.none()] * 3), latency=st.integers(0, 20))
def test_bandwidth_changes_time_never_words(case, bws, ports, latency):
    layer, accel, mapping = case
    free = simulate_mapped_layer(layer, accel, mapping)
    same = (*DRAM_KEYS, *SRAM_KEYS, "ofmap_sram_reads", "macs")
    totals = []
    for bw in sorted(bws):
        row = simulate_mapped_layer(layer, with_dram(accel, bandwidth=bw, latency_cycles=latency),
                                    mapping)
        for key in same:
            assert row[key] == free[key], key
        assert row["total_cycles"] >= free["total_cycles"]
        assert row["total_cycles"] - row["stall_cycles"] == free["total_cycles"]
        totals.append(row["total_cycles"])
    assert totals == sorted(totals, reverse=True), "more bandwidth, never more cycles"
    if all(p is None for p in ports):
        return
    row = simulate_mapped_layer(layer, with_dram(accel, ifmap_bandwidth=ports[0],
                                                 filter_bandwidth=ports[1],
                                                 ofmap_bandwidth=ports[2],
                                                 latency_cycles=latency), mapping)
    for key in same:
        assert row[key] == free[key], key
    assert row["total_cycles"] - row["stall_cycles"] == free["total_cycles"]
    assert row["stall_cycles"] >= 0


# ------------------------------------------------------------------ one tile == classic

@settings(max_examples=80, **SETTINGS)
@given(layer=any_layers(), accel=accelerators(), dataflow=st.sampled_from((None, *DATAFLOWS)))
def test_one_tile_mapping_is_the_classic_engine(layer, accel, dataflow):
    mapped = simulate_mapped_layer(layer, accel, Mapping(dataflow=dataflow))
    array = accel.array if dataflow is None else replace(accel.array, dataflow=dataflow)
    classic = simulate_layer(layer, replace(accel, array=array))
    for key in ("total_cycles", "ifmap_sram_reads", "filter_sram_reads"):
        assert mapped[key] == classic[key], key


# ------------------------------------------------------------------ vector forms == scalar

@st.composite
def candidate_tiles(draw):
    """A layer and a few candidate tilings of it, as the mapper's arrays hold them."""
    layer = draw(any_layers())
    count = draw(st.integers(1, 6))
    tiles = {name: np.array(draw(st.lists(st.integers(1, size), min_size=count,
                                          max_size=count)), dtype=np.int64)
             for name, size in tile_dims(layer).items()}
    return layer, tiles


@settings(max_examples=60, **SETTINGS)
@given(candidates=candidate_tiles(), rows=st.integers(2, 16), cols=st.integers(2, 16))
def test_vector_forms_equal_the_scalar_forms(candidates, rows, cols):
    layer, tiles = candidates
    loops = vector.loop_classes(layer, tiles)
    once = vector.operand_words(loops)
    visits = vector.order_visits(loops)  # (orders, operands, candidates)
    computed = {dataflow: vector.compute_arrays(loops, rows, cols, DATAFLOW_CODE[dataflow])
                for dataflow in DATAFLOWS}
    count = next(iter(tiles.values())).size
    for c in range(count):
        picked = {name: int(values[c]) for name, values in tiles.items()}
        for o, order in enumerate(MAPPING_ORDERS):
            for dataflow in DATAFLOWS:
                nest = loop_nest(layer, Mapping(dataflow=dataflow, order=order, **picked),
                                 SCALESIM_DEFAULT.array.dataflow)
                words = dram_words(nest)
                got = {"dram_ifmap_reads": once["ifmap"][c] * visits[o, 0, c],
                       "dram_filter_reads": once["filter"][c] * visits[o, 1, c],
                       "dram_ofmap_writes": once["ofmap"][c] * visits[o, 2, c],
                       "dram_ofmap_reads": once["ofmap"][c] * (visits[o, 2, c] - 1)}
                assert {key: int(value) for key, value in got.items()} == words, (picked, order)
                counts = compute_counts(nest, rows, cols)
                arrays = computed[dataflow]
                assert int(np.broadcast_to(arrays["cycles"], (count,))[c]) \
                    == counts["compute_cycles"]
                assert int(np.broadcast_to(arrays["ifmap_sram"], (count,))[c]) \
                    == counts["ifmap_sram_reads"]
                assert int(np.broadcast_to(arrays["filter_sram"], (count,))[c]) \
                    == counts["filter_sram_reads"]
                assert int(np.broadcast_to(arrays["ofmap_sram"], (count,))[c]) \
                    == counts["ofmap_sram_writes"]
        first = vector.first_tile_words(loops)
        m, n, k = (loop_nest(layer, Mapping(**picked), SCALESIM_DEFAULT.array.dataflow)
                   .loops[name].classes[0] for name in "mnk")
        assert int(first["ifmap"][c]) == m.ifmap_factor * k.ifmap_factor
        assert int(first["filter"][c]) == k.extent * n.extent
        assert int(first["ofmap"][c]) == m.extent * n.extent


# ------------------------------------------------------------------ the mapper

def same_row(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True


def small_accel(rows: int, cols: int, dataflow: str):
    return replace(SCALESIM_DEFAULT, array=SystolicArray(rows=rows, cols=cols, dataflow=dataflow))


# Counterexamples hypothesis found (the mapper's pick loses to the one-tile mapping by more
# than 2% at a low bandwidth). Kept until the mapper is fixed.
MAPPER_MISSES = [
    ((Layer.gemm("g", 27, 30, 3), small_accel(10, 4, "ws"), Mapping(order="nmk")), "latency", 1),
    ((Layer.gemm("g", 7, 5, 1), small_accel(2, 2, "ws"), Mapping()), "latency", 1),
    ((Layer.gemm("g", 22, 7, 1), small_accel(6, 4, "os"), Mapping()), "latency", 2),
    ((Layer(name="c", ifmap_h=5, ifmap_w=10, filter_h=2, filter_w=1, channels=5, num_filters=1,
            stride_h=2, dilation_h=2), small_accel(2, 2, "os"), Mapping()), "latency", 2),
]


def with_examples(cases_):
    def decorate(test):
        for case, objective, bandwidth in reversed(cases_):
            test = example(case=case, objective=objective, bandwidth=bandwidth)(test)
        return test
    return decorate


@settings(max_examples=int(os.environ.get("HWLOOP_MAPPER_EXAMPLES", 100)), **SETTINGS)
@given(case=cases(st.one_of(gemm_layers(high=40), conv_layers(extra=12, channels=8))),
       objective=st.sampled_from(("latency", "energy", "edp")),
       bandwidth=st.sampled_from((None, 1, 2, 4)))
@with_examples(MAPPER_MISSES)
def test_mapper_returns_its_row_and_beats_random_mappings(case, objective, bandwidth):
    layer, accel, mapping = case
    accel = with_dram(accel, bandwidth=bandwidth)
    chosen, row = best_mapping(layer, accel, objective)
    assert same_row(row, mapped_layer_row(layer, accel, chosen))
    random_row = mapped_layer_row(layer, accel, mapping)
    mapper_cost, random_cost = objective_of(row, objective), objective_of(random_row, objective)
    assert mapper_cost <= 1.02 * random_cost, (
        f"the mapper's {chosen.describe()} costs {mapper_cost} but {mapping.describe()} costs "
        f"{random_cost}")


# ------------------------------------------------------------------ bad mappings

def largest_tile_words(layer: Layer, mapping: Mapping) -> dict[str, int]:
    """The reference's largest tile of each operand, over every tile of its loops."""
    tiles = {name: getattr(mapping, name) for name in tile_dims(layer)
             if getattr(mapping, name) is not None}
    loops = naive_mapping._loop_tiles(layer, tiles)
    m0, n0, k0 = (loops[name][0] for name in "mnk")
    words = naive_mapping._tile_words
    return {"ifmap": max(words(layer, m, n0, k)["ifmap"] for m in loops["m"] for k in loops["k"]),
            "filter": max(words(layer, m0, n, k)["filter"] for k in loops["k"] for n in loops["n"]),
            "ofmap": max(words(layer, m, n, k0)["ofmap"] for m in loops["m"] for n in loops["n"])}


BLAMED = {"ifmap": ("tile_k", "tile_c"), "filter": ("tile_n", "tile_n"),
          "ofmap": ("tile_m", "tile_p")}


@settings(max_examples=200, **SETTINGS)
@given(data=st.data(), kb=st.tuples(*[st.sampled_from([1, 2])] * 3))
def test_a_tile_that_does_not_fit_is_refused_by_name(data, kb):
    layer = data.draw(st.one_of(gemm_layers(high=48), conv_layers(extra=16, channels=16)))
    mapping = data.draw(mappings(layer))
    accel = data.draw(accelerators(sram=Sram(ifmap_kb=kb[0], filter_kb=kb[1], ofmap_kb=kb[2])))
    largest = largest_tile_words(layer, mapping)
    conv = layer.kind is not LayerKind.GEMM
    too_big = [operand for operand, words in largest.items()
               if words > accel.sram.words(operand) // 2]
    event("a tile is too large" if too_big else "every tile fits")
    if not too_big:
        simulate_mapped_layer(layer, accel, mapping)
        return
    with pytest.raises(InputError) as caught:
        simulate_mapped_layer(layer, accel, mapping)
    assert caught.value.field == BLAMED[too_big[0]][conv]
    assert caught.value.field in (CONV_TILES if conv else GEMM_TILES)
    assert too_big[0] in caught.value.reason


CONV = Layer(name="c", ifmap_h=9, ifmap_w=9, filter_h=3, filter_w=3, channels=4, num_filters=8)
GEMM = Layer.gemm("g", 12, 8, 10)


@pytest.mark.parametrize("layer, name", [(CONV, "tile_m"), (CONV, "tile_k"),
                                         (GEMM, "tile_p"), (GEMM, "tile_q"), (GEMM, "tile_c")])
def test_a_tile_field_of_the_other_kind_is_refused(layer, name):
    with pytest.raises(InputError) as caught:
        simulate_mapped_layer(layer, SCALESIM_DEFAULT, Mapping(**{name: 2}))
    assert caught.value.field == name


def test_a_too_large_tile_names_its_field_by_hand():
    # 1 KiB buffers: half holds 512 words. A 32 x 32 ifmap tile (1,024 words) does not fit.
    accel = replace(SCALESIM_DEFAULT, sram=Sram(ifmap_kb=1, filter_kb=64, ofmap_kb=64))
    layer = Layer.gemm("g", 64, 8, 64)
    with pytest.raises(InputError, match="ifmap tile holds 1,024 words") as caught:
        simulate_mapped_layer(layer, accel, Mapping(tile_m=32, tile_k=32))
    assert caught.value.field == "tile_k"
    simulate_mapped_layer(layer, accel, Mapping(tile_m=16, tile_k=32))  # 512 words fit
