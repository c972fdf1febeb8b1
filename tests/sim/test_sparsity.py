"""N:M weight sparsity: exact against SCALE-Sim v3's sparse runs (``tests/data/sparse``, made
by ``tests/data/regenerate_sparse.py``), hwloop's own corrections, the compressed filters,
and the bad-input contract."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwloop.arch import Accelerator, SystolicArray, get_preset, load_config
from hwloop.sim import simulate
from hwloop.sim.arrays import metadata_bits
from hwloop.sim.cli import main
from hwloop.traces import InputError, Layer, Network, load_topology

DATA = Path(__file__).parents[1] / "data"
GOLDEN = sorted(p for p in (DATA / "sparse").glob("*.json")
                if not p.name.startswith("rowwise_"))  # row-wise: test_sparsity_rows.py
COUNTERS = ("total_cycles", "stall_cycles", "ifmap_sram_reads", "filter_sram_reads",
            "ofmap_sram_writes", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
            "overall_util", "mapping_eff", "compute_util")


def _run(path: Path, scalesim_compat: bool):
    golden = json.loads(path.read_text())
    cfg = golden["config"]
    accel = get_preset("scalesim_default").with_overrides(
        rows=cfg["rows"], cols=cfg["cols"], dataflow=cfg["dataflow"], ifmap_kb=cfg["ifmap_kb"],
        filter_kb=cfg["filter_kb"], ofmap_kb=cfg["ofmap_kb"], sparse=True,
        sparse_rep=cfg["sparse_rep"])
    if cfg["bw_mode"] == "USER":  # SCALE-Sim's fixed bandwidth: its three ports
        accel = accel.with_overrides(ifmap_bandwidth=cfg["ifmap_bw"],
                                     filter_bandwidth=cfg["filter_bw"],
                                     ofmap_bandwidth=cfg["bw"])
    network = load_topology(Path(__file__).parents[2] / cfg["topology"])
    return golden, simulate(network, accel, scalesim_compat=scalesim_compat), network


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_every_counter_equals_scalesims_sparse_run(path):
    golden, report, _ = _run(path, scalesim_compat=True)
    assert len(golden["layers"]) == len(report.layers)
    for want, (_, got) in zip(golden["layers"], report.layers.iterrows()):
        for key in COUNTERS:
            assert got[key] == pytest.approx(want[key], rel=1e-12), (want["name"], key)


@pytest.mark.parametrize("path", [p for p in GOLDEN if "_user" not in p.name],
                         ids=lambda p: p.stem)
def test_hwloops_own_numbers_differ_only_where_documented(path):
    golden, report, network = _run(path, scalesim_compat=False)
    cfg = golden["config"]
    for layer, want, (_, got) in zip(network.layers, golden["layers"], report.layers.iterrows()):
        window = layer.filter_h * layer.filter_w * layer.channel_group
        n, m = layer.sparsity or (1, 1)
        kept = window // m * n + min(n, window % m)
        assert got["macs"] == layer.ofmap_pixels * layer.num_filters * kept  # MACs done
        assert got["total_cycles"] == want["total_cycles"]
        assert got["dram_ifmap_reads"] == want["dram_ifmap_reads"]
        assert got["dram_filter_reads"] == want["dram_filter_reads"]  # the kept values
        if cfg["dataflow"] == "ws":  # each kept row reads its whole block of inputs
            assert got["ifmap_sram_reads"] == want["col_fold"] * layer.ofmap_pixels * window
        else:
            assert got["ifmap_sram_reads"] == want["ifmap_sram_reads"]
        assert got["overall_util"] == pytest.approx(
            100 * got["macs"] / (got["total_cycles"] * cfg["rows"] * cfg["cols"]))


def test_scalesims_ellpack_metadata_in_words_is_hwloops_in_bits():
    """SCALE-Sim counts ceil(log2 M) metadata bits per kept value in 32-bit words; hwloop
    reads the same bits in the filter's DRAM bytes."""
    golden, report, network = _run(DATA / "sparse" / "sparse_gemm_8x8_ws_ellpack_block.json",
                                   scalesim_compat=False)
    for layer, want, (_, got) in zip(network.layers, golden["layers"], report.layers.iterrows()):
        if layer.sparsity is None:
            continue
        assert got["filter_metadata_bits"] == want["metadata_words"] * 32
        assert got["dram_filter_bytes"] == math.ceil(
            (want["dram_filter_reads"] * 8 + want["metadata_words"] * 32) / 8)


def test_csr_and_csc_metadata_count_indices_and_pointers_in_bits():
    # 30 x 20 filter at 2:4: 16 kept rows of 20 values
    assert metadata_bits("csr", 30, 20, 320, 4) == 320 * 5 + 31 * 9
    assert metadata_bits("csc", 30, 20, 320, 4) == 320 * 5 + 21 * 9
    assert metadata_bits("bitmap", 30, 20, 320, 4) == 600
    assert metadata_bits("ellpack_block", 30, 20, 320, 4) == 640


def test_without_sparse_or_at_m_m_nothing_changes():
    network = load_topology(DATA / "topologies" / "sparse_conv.csv")
    accel = get_preset("scalesim_default").with_overrides(rows=8, cols=8)
    dense = simulate(network, accel).totals
    layers = tuple(layer.__class__(**{**layer.__dict__, "sparsity": None})
                   for layer in network.layers)
    assert simulate(Network(name="d", layers=layers), accel).totals == dense
    square = tuple(layer.__class__(**{**layer.__dict__, "sparsity": (4, 4)})
                   for layer in network.layers)
    on = accel.with_overrides(sparse=True)
    assert simulate(Network(name="d", layers=square), on).totals["total_cycles"] == \
        dense["total_cycles"]


def test_two_four_on_ws_halves_the_macs_in_at_most_0_6_the_cycles():
    layer = Layer(name="conv", ifmap_h=30, ifmap_w=30, filter_h=3, filter_w=3, channels=64,
                  num_filters=64)
    accel = get_preset("scalesim_default").with_overrides(rows=32, cols=32, dataflow="ws")
    dense = simulate(layer, accel).totals
    sparse = simulate(Layer(**{**layer.__dict__, "sparsity": (2, 4)}),
                      accel.with_overrides(sparse=True)).totals
    assert sparse["macs"] * 2 == dense["macs"]
    assert sparse["total_cycles"] <= 0.6 * dense["total_cycles"]
    values = dense["dram_filter_reads"] // 2  # one byte each
    assert values < sparse["dram_filter_bytes"] < dense["dram_filter_bytes"]


@settings(max_examples=60, deadline=None)
@given(h=st.integers(3, 12), f=st.sampled_from([1, 3]), c_blocks=st.integers(1, 6),
       filters=st.integers(1, 40), m=st.sampled_from([2, 4, 8]),
       rows=st.integers(2, 20), cols=st.integers(2, 20),
       dataflow=st.sampled_from(["os", "ws", "is"]),
       rep=st.sampled_from(["ellpack_block", "csr", "csc", "bitmap"]))
def test_cycles_and_filter_bytes_do_not_grow_as_n_falls(h, f, c_blocks, filters, m, rows,
                                                         cols, dataflow, rep):
    """Cycles, filter values and MACs never grow as N falls; the filter's bytes (values and
    metadata) never grow among compressed ratios. From M:M (dense, stored plainly) to
    (M-1):M they may: 7:8 in ELLPACK is 7 x (8 + 3) bits against 8 x 8."""
    layer = Layer(name="l", ifmap_h=h + f - 1, ifmap_w=h + f - 1, filter_h=f, filter_w=f,
                  channels=c_blocks * m, num_filters=filters)
    accel = Accelerator(array=SystolicArray(rows=rows, cols=cols, dataflow=dataflow)) \
        .with_overrides(sparse=True, sparse_rep=rep)
    previous: tuple | None = None
    previous_bytes = 0
    for n in range(m, 0, -1):
        totals = simulate(Layer(**{**layer.__dict__, "sparsity": (n, m)}), accel).totals
        now = (totals["total_cycles"], totals["dram_filter_reads"], totals["macs"])
        if previous is not None:
            assert all(a <= b for a, b in zip(now, previous)), (n, now, previous)
        if n < m - 1:  # among compressed ratios (M:M is dense: no metadata to add)
            assert totals["dram_filter_bytes"] <= previous_bytes
        previous, previous_bytes = now, totals["dram_filter_bytes"]


@pytest.mark.parametrize("ratio, reason", [("3:2", "must not exceed M"),
                                           ("0:4", "keeps no weight")])
def test_a_bad_ratio_is_one_located_line(tmp_path, capsys, ratio, reason):
    topo = tmp_path / "t.csv"
    topo.write_text("Layer, M, N, K, Sparsity,\ng, 4, 4, 8, 2:4,\ng2, 4, 4, 8, " + ratio
                    + ",\n")
    assert main(["simulate", "--topology", str(topo), "--sparse"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "t.csv:3" in err and reason in err
    with pytest.raises(InputError):
        Layer.gemm("g", 4, 4, 8).__class__(**{**Layer.gemm("g", 4, 4, 8).__dict__,
                                              "sparsity": ratio})


def test_sparse_on_analog_and_unaligned_convs_at_scalesims_fixed_bandwidth_are_one_line(
        tmp_path, capsys):
    topo = tmp_path / "t.csv"
    topo.write_text("Layer, H, W, FH, FW, C, F, S, Sparsity,\nc, 8, 8, 3, 3, 6, 4, 1, 2:4,\n")
    assert main(["simulate", "--topology", str(topo), "--sparse", "--array-kind",
                 "analog"]) == 2
    assert "cannot skip zeros" in capsys.readouterr().err
    assert main(["simulate", "--topology", str(topo), "--sparse", "--bandwidth", "4",
                 "--scalesim-compat"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "USER mode" in err
    assert main(["simulate", "--topology", str(topo), "--sparse", "--bandwidth", "4"]) == 0


@settings(max_examples=30, deadline=None)
@given(h=st.integers(3, 10), f=st.sampled_from([2, 3]), c=st.integers(1, 7),
       m=st.sampled_from([2, 4, 8]), n_frac=st.integers(1, 7), side=st.integers(2, 9),
       dataflow=st.sampled_from(["os", "ws", "is"]), kb=st.sampled_from([1, 64]))
def test_a_masked_window_is_its_dense_layer_when_every_position_is_kept(h, f, c, m, n_frac,
                                                                        side, dataflow, kb):
    """The masked-window path (streamed demand) against the fast paths: a mask keeping
    every position is the dense layer; a mask's DRAM reads never exceed the dense ones."""
    from dataclasses import replace

    from hwloop.arch import Sram
    from hwloop.sim.engine import simulate_layer

    layer = Layer(name="l", ifmap_h=h + f, ifmap_w=h + f, filter_h=f, filter_w=f,
                  channels=c, num_filters=5)
    accel = Accelerator(array=SystolicArray(rows=side, cols=side, dataflow=dataflow),
                        sram=Sram(ifmap_kb=kb, filter_kb=kb, ofmap_kb=kb))
    dense = simulate_layer(layer, accel)
    full = simulate_layer(replace(layer, masked=(m, m)), accel)
    assert {k: full[k] for k in COUNTERS} == {k: dense[k] for k in COUNTERS}
    n = max(1, min(m - 1, n_frac))
    masked = simulate_layer(replace(layer, masked=(n, m)), accel)
    assert masked["total_cycles"] <= dense["total_cycles"]
    assert masked["dram_filter_reads"] <= dense["dram_filter_reads"]


def test_the_cfg_and_toml_switches(tmp_path, capsys):
    cfg = tmp_path / "s.cfg"
    cfg.write_text("[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 64\n"
                   "FilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: ws\n[sparsity]\n"
                   "SparsitySupport : true\nSparseRep : csc\nOptimizedMapping : false\n")
    assert load_config(cfg).sparsity.representation == "csc"
    assert load_config(cfg).sparsity.enabled
    cfg.write_text(cfg.read_text().replace("OptimizedMapping : false", "OptimizedMapping : true"))
    with pytest.raises(InputError, match="needs BlockSize") as info:  # as SCALE-Sim reads it
        load_config(cfg)
    assert info.value.line == 11
    toml = tmp_path / "s.toml"
    toml.write_text('[sparsity]\nenabled = true\nrepresentation = "bitmap"\n')
    assert load_config(toml).sparsity.representation == "bitmap"
    toml.write_text('[sparsity]\nenabled = true\nrepresentation = "coo"\n')
    with pytest.raises(InputError, match="unknown representation"):
        load_config(toml)


def test_mappings_and_traces_of_sparse_layers_are_refused(tmp_path, capsys):
    topo = DATA / "topologies" / "sparse_gemm.csv"
    assert main(["simulate", "--topology", str(topo), "--sparse", "--mapping", "auto"]) == 2
    assert "--mapping" in capsys.readouterr().err
    assert main(["simulate", "--topology", str(topo), "--sparse", "--trace",
                 str(tmp_path / "t.h5")]) == 2
    assert "--sparse" in capsys.readouterr().err and not (tmp_path / "t.h5").exists()
