"""SCALE-Sim's row-wise N:M (``OptimizedMapping``): exact against its runs
(``tests/data/sparse/rowwise_*.json``, made by ``tests/data/regenerate_sparse.py``), the
seeded patterns, hwloop's own corrections, and the bad-input contract."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwloop.arch import Accelerator, Sparsity, SystolicArray, get_preset, load_config
from hwloop.sim import simulate
from hwloop.sim.arrays import metadata_bits, row_draws
from hwloop.sim.cli import main
from hwloop.traces import InputError, Layer, load_topology

DATA = Path(__file__).parents[1] / "data"
GOLDEN = sorted((DATA / "sparse").glob("rowwise_*.json"))
COUNTERS = ("total_cycles", "stall_cycles", "ifmap_sram_reads", "filter_sram_reads",
            "ofmap_sram_writes", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
            "overall_util", "mapping_eff", "compute_util")


def _kept(size: int, n: int, m: int) -> int:
    return size // m * n + min(n, size % m)


def _block_of_ratio(topology: Path) -> list[int]:
    """Each layer's M as written in the topology (hwloop reads ``M:M`` as dense; SCALE-Sim's
    ELLPACK metadata still takes its M, and 1 without a ratio)."""
    lines = topology.read_text().splitlines()[1:]
    fields = [[f.strip() for f in line.split(",") if f.strip()] for line in lines if line.strip()]
    return [int(f[-1].split(":")[1]) if ":" in f[-1] else 1 for f in fields]


def _run(path: Path, scalesim_compat: bool):
    golden = json.loads(path.read_text())
    cfg = golden["config"]
    accel = get_preset("scalesim_default").with_overrides(
        rows=cfg["rows"], cols=cfg["cols"], dataflow=cfg["dataflow"], ifmap_kb=cfg["ifmap_kb"],
        filter_kb=cfg["filter_kb"], ofmap_kb=cfg["ofmap_kb"], sparse=True,
        sparse_rep=cfg["sparse_rep"], sparse_row_wise=True, sparse_block=cfg["block_size"],
        sparse_seed=cfg["seed"])
    network = load_topology(Path(__file__).parents[2] / cfg["topology"])
    return golden, simulate(network, accel, scalesim_compat=scalesim_compat), network


def test_the_goldens_cover_gemms_convs_small_buffers_and_three_representations():
    configs = [json.loads(p.read_text())["config"] for p in GOLDEN]
    assert len(configs) >= 6
    assert {c["sparse_rep"] for c in configs} == {"ellpack_block", "csr", "csc"}
    assert {c["input_type"] for c in configs} == {"conv", "gemm"}
    assert {c["ifmap_kb"] for c in configs} == {1, 64}


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_every_counter_equals_scalesims_row_wise_run(path):
    golden, report, _ = _run(path, scalesim_compat=True)
    assert len(golden["layers"]) == len(report.layers)
    for want, (_, got) in zip(golden["layers"], report.layers.iterrows()):
        for key in COUNTERS:
            assert got[key] == pytest.approx(want[key], rel=1e-12), (want["name"], key)


def test_the_draws_are_scalesims_generator():
    """``np.random.seed`` then one ``randint(1, B // 2 + 1)`` per filter, re-seeded per layer."""
    saved = np.random.get_state()
    try:
        np.random.seed(40)
        want = [np.random.randint(1, 8 // 2 + 1) for _ in range(37)]
    finally:
        np.random.set_state(saved)
    assert row_draws(37, 8, 40).tolist() == want


@pytest.mark.parametrize("path", [p for p in GOLDEN if "_kb" not in p.name],
                         ids=lambda p: p.stem)
def test_the_kept_values_and_scalesims_metadata_follow_from_the_draws(path):
    golden, report, network = _run(path, scalesim_compat=False)
    cfg = golden["config"]
    block, rep = cfg["block_size"], cfg["sparse_rep"]
    ms = _block_of_ratio(Path(__file__).parents[2] / cfg["topology"])
    for layer, m, want, (_, got) in zip(network.layers, ms, golden["layers"],
                                        report.layers.iterrows()):
        pixels, filters, window = layer.gemm_mnk
        kept = sum(_kept(window, int(n), block) for n in row_draws(filters, block, cfg["seed"]))
        assert want["dram_filter_reads"] == kept  # the filter fits: each kept value once
        slots = math.ceil(window / (2 * block)) * block * filters
        # SCALE-Sim's ELLPACK: ceil(log2 M) bits per slot, M the layer's own, in 32-bit words
        assert want["metadata_words"] == {
            "ellpack_block": slots * math.ceil(math.log2(m)) / 32,
            "csr": kept + window + 1, "csc": kept + filters + 1}[rep]
        assert got["filter_metadata_bits"] == metadata_bits(rep, window, filters, kept, block)
        assert got["sparsity"] == f"row-wise:{block}"


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_hwloops_own_numbers_differ_only_where_documented(path):
    golden, report, network = _run(path, scalesim_compat=False)
    cfg = golden["config"]
    block = cfg["block_size"]
    for layer, want, (_, got) in zip(network.layers, golden["layers"], report.layers.iterrows()):
        pixels, filters, window = layer.gemm_mnk
        kept = sum(_kept(window, int(n), block) for n in row_draws(filters, block, cfg["seed"]))
        assert got["macs"] == pixels * kept  # the MACs done
        for key in ("total_cycles", "dram_ifmap_reads", "dram_filter_reads",
                    "filter_sram_reads", "mapping_eff", "compute_util"):
            assert got[key] == pytest.approx(want[key], rel=1e-12), key
        # each window input read once per array row it feeds, no idle slots
        assert got["ifmap_sram_reads"] == want["col_fold"] * pixels * window * (block // 2)
        assert got["ifmap_sram_reads"] < want["ifmap_sram_reads"]
        assert got["overall_util"] == pytest.approx(
            100 * got["macs"] / (got["total_cycles"] * cfg["rows"] * cfg["cols"]))


@settings(max_examples=25, deadline=None)
@given(h=st.integers(2, 7), f=st.sampled_from([1, 3]), c=st.integers(1, 9),
       filters=st.integers(1, 20), rows=st.sampled_from([2, 4, 8]), cols=st.integers(2, 9),
       block=st.sampled_from([2, 4, 8]), seeds=st.tuples(st.integers(0, 99), st.integers(0, 99)))
def test_cycles_and_sram_do_not_depend_on_the_draws(h, f, c, filters, rows, cols, block, seeds):
    """Cycles, SRAM traffic and ofmap writes are the compressed GEMM's whatever the draws;
    the kept values (filter DRAM words) never exceed the dense filter's, and the ifmap's DRAM
    words with roomy buffers are the dense layer's."""
    block = min(block, rows)
    layer = Layer(name="l", ifmap_h=h + f - 1, ifmap_w=h + f - 1, filter_h=f, filter_w=f,
                  channels=c, num_filters=filters)
    accel = Accelerator(array=SystolicArray(rows=rows, cols=cols, dataflow="ws"))
    dense = simulate(layer, accel).totals
    runs = [simulate(layer, accel.with_overrides(sparse=True, sparse_row_wise=True,
                                                 sparse_block=block, sparse_seed=s)).totals
            for s in seeds]
    fixed = ("total_cycles", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
             "dram_ofmap_writes")
    assert [runs[0][k] for k in fixed] == [runs[1][k] for k in fixed]
    for run in runs:
        assert run["dram_filter_reads"] <= dense["dram_filter_reads"]
        assert run["macs"] <= dense["macs"]
        assert run["dram_ifmap_reads"] == dense["dram_ifmap_reads"]


def test_the_cfg_toml_and_cli_switches(tmp_path):
    cfg = tmp_path / "s.cfg"
    cfg.write_text("[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 64\n"
                   "FilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: ws\n[sparsity]\n"
                   "SparsitySupport : true\nSparseRep : csc\nOptimizedMapping : true\n"
                   "BlockSize : 4\nRandomNumberGeneratorSeed : 7\n")
    assert load_config(cfg).sparsity == Sparsity(enabled=True, representation="csc",
                                                 row_wise=True, block_size=4, seed=7)
    cfg.write_text(cfg.read_text().replace("BlockSize : 4", "BlockSize : four"))
    with pytest.raises(InputError, match="integer") as info:
        load_config(cfg)
    assert info.value.line == 12
    toml = tmp_path / "s.toml"
    toml.write_text("[sparsity]\nenabled = true\nrow_wise = true\nblock_size = 4\nseed = 7\n")
    assert load_config(toml).sparsity.row_wise
    accel = load_config(toml)  # a report's config round-trips; layer-wise keys stay as they were
    assert Accelerator.from_dict(accel.to_dict()).sparsity == accel.sparsity
    assert set(accel.with_overrides(sparse_row_wise=False).to_dict()["sparsity"]) == {
        "enabled", "representation"}
    toml.write_text("[sparsity]\nrow_wise = true\n")
    with pytest.raises(InputError, match="needs sparsity support"):
        load_config(toml)


@pytest.mark.parametrize("extra, option", [(["--dataflow", "os"], "--dataflow"),
                                           (["--dataflow", "is"], "--dataflow"),
                                           (["--sparse-block", "6"], "--sparse-block"),
                                           (["--sparse-block", "16"], "--sparse-block"),
                                           (["--cores", "2"], "--cores"),
                                           (["--bandwidth", "4", "--scalesim-compat"],
                                            "--sparse-row-wise")])
def test_what_scalesim_cannot_run_row_wise_is_one_line(capsys, extra, option):
    """SCALE-Sim 3.0.0 crashes row-wise on OS and IS and when the block does not divide twice
    the rows; it asserts the block fits the rows."""
    topo = DATA / "topologies" / "sparse_gemm.csv"
    args = ["simulate", "--topology", str(topo), "--rows", "8", "--cols", "8",
            "--dataflow", "ws", "--sparse-row-wise", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and option in err


def test_row_wise_runs_at_a_finite_bandwidth_in_hwloops_model():
    topo = load_topology(DATA / "topologies" / "sparse_conv.csv")
    accel = get_preset("scalesim_default").with_overrides(
        rows=8, cols=8, dataflow="ws", ifmap_kb=1, filter_kb=1, ofmap_kb=1, sparse=True,
        sparse_row_wise=True)
    free = simulate(topo, accel).totals
    slow = simulate(topo, accel.with_overrides(bandwidth=1)).totals
    assert slow["total_cycles"] == free["total_cycles"] + slow["stall_cycles"]
    assert slow["stall_cycles"] > 0
    assert slow["dram_filter_reads"] == free["dram_filter_reads"]
