"""Recorded traces: SRAM traces equal SCALE-Sim's own CSVs; DRAM traces obey the ports."""
from __future__ import annotations

import pathlib

import numpy as np
import pytest

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.traces import load_topology, open_trace

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "scalesim_traces"
CASES = {"conv_os_4x4": (4, 4, "os"), "conv_ws_8x4": (8, 4, "ws"), "gemm_is_4x8": (4, 8, "is")}
SRAM = {"ifmap": ("sram/ifmap_read", "IFMAP_SRAM_TRACE.csv", 1),
        "filter": ("sram/filter_read", "FILTER_SRAM_TRACE.csv", 1),
        "ofmap": ("sram/ofmap_write", "OFMAP_SRAM_TRACE.csv", 0)}


def record(tmp_path, case, **overrides):
    rows, cols, dataflow = CASES[case]
    accel = get_preset("scalesim_default").with_overrides(rows=rows, cols=cols,
                                                          dataflow=dataflow, **overrides)
    network = load_topology(DATA / case / "topology.csv")
    path = tmp_path / f"{case}.h5"
    report = simulate(network, accel, trace=path)
    return path, report


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("compat", [False, True])
def test_sram_traces_equal_scalesims_csvs(tmp_path, case, compat):
    rows, cols, dataflow = CASES[case]
    accel = get_preset("scalesim_default").with_overrides(rows=rows, cols=cols, dataflow=dataflow)
    path = tmp_path / "run.h5"
    simulate(load_topology(DATA / case / "topology.csv"), accel, trace=path,
             scalesim_compat=compat)
    with open_trace(path) as trace:
        layer = trace.layers[0]
        cycles = layer.read("sram/cycle")
        for dataset, csv, latency in SRAM.values():
            want = np.loadtxt(DATA / case / csv, delimiter=",", dtype=np.int64, ndmin=2)
            got = layer.read(dataset).astype(np.int64)
            offset = layer.dataset_attrs(dataset)["address_offset"]
            got = np.where(got >= 0, got + offset, -1)
            assert got.shape == want[:, 1:].shape
            assert np.array_equal(got, want[:, 1:]), dataset
            assert np.array_equal(cycles + latency, want[:, 0]), dataset


def test_dram_traces_carry_every_word_within_bandwidth(tmp_path):
    path, report = record(tmp_path, "conv_ws_8x4", ifmap_kb=1, filter_kb=1, ofmap_kb=1,
                          bandwidth=3, dram_latency=5)
    row = report.layers.iloc[0]
    with open_trace(path) as trace:
        layer = trace.layers[0]
        for operand, key in (("ifmap_read", "dram_ifmap_reads"),
                             ("filter_read", "dram_filter_reads"),
                             ("ofmap_write", "dram_ofmap_writes")):
            cycles = layer.read(f"dram/{operand}/cycle")
            assert cycles.size == layer.length(f"dram/{operand}/address") == row[key]
            assert np.all(np.diff(cycles) >= 0)
            assert np.bincount(cycles - cycles.min()).max() <= 3
            name = operand.split("_")[0]
            assert cycles.min() == row[f"dram_{name}_start"]
            assert cycles.max() == row[f"dram_{name}_stop"]
        sram_cycles = layer.read("sram/cycle")
        assert sram_cycles[-1] == row["total_cycles"]  # stalls shift the rows
        assert np.all(np.diff(sram_cycles) >= 1)
        # every ifmap word is in SRAM before the row that first reads it runs
        first_read = {}
        demand = layer.read("sram/ifmap_read")
        for r, addrs in enumerate(demand):
            for a in addrs[addrs >= 0]:
                first_read.setdefault(int(a), r)
        arrive = {}
        for a, c in zip(layer.read("dram/ifmap_read/address"), layer.read("dram/ifmap_read/cycle")):
            arrive.setdefault(int(a), int(c))
        for a, r in first_read.items():
            assert arrive[a] + 5 <= sram_cycles[r]


def test_trace_records_the_architecture_and_layer(tmp_path):
    path, report = record(tmp_path, "gemm_is_4x8", bandwidth=2)
    with open_trace(path) as trace:
        assert trace.attrs["architecture"]["array"] == {"kind": "systolic", "rows": 4, "cols": 8,
                                                        "dataflow": "is"}
        assert trace.attrs["architecture"]["dram"]["bandwidth"] == 2
        layer = trace.layers[0]
        assert layer.attrs["layer"]["kind"] == "gemm"
        assert layer.attrs["report"]["total_cycles"] == report.totals["total_cycles"]


def test_identical_layers_share_one_stored_trace(tmp_path):
    import h5py

    from hwloop.traces import Layer, Network

    conv = Layer(name="a", ifmap_h=9, ifmap_w=9, filter_h=3, filter_w=3, channels=4,
                 num_filters=8)
    net = Network(name="twice", layers=(conv, Layer(**{**conv.__dict__, "name": "b"}),
                                        Layer.gemm("g", 10, 11, 12)))
    accel = get_preset("scalesim_default").with_overrides(rows=4, cols=4, bandwidth=2)
    path = tmp_path / "twice.h5"
    report = simulate(net, accel, trace=path)
    with open_trace(path) as trace:
        a, b, g = trace.layers
        assert (a.name, b.name) == ("a", "b") and b.attrs["report"]["name"] == "b"
        for name in ("sram/ifmap_read", "sram/cycle", "dram/ifmap_read/cycle"):
            assert np.array_equal(a.read(name), b.read(name))
        assert g.length("sram/ifmap_read") != a.length("sram/ifmap_read")
    with h5py.File(path) as f:
        assert f["layers/layer_0000/sram/ifmap_read"].id == f["layers/layer_0001/sram/ifmap_read"].id
    assert list(report.layers.name) == ["a", "b", "g"]
