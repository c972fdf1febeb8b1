"""hwloop against SCALE-Sim v3 golden numbers (``tests/data/golden``, made by
``tests/data/regenerate_golden.py`` with the reference harness in ``../shared/peers/scalesim``).

``--scalesim-compat`` must reproduce every SCALE-Sim integer. hwloop's own numbers must equal
them except for the documented SCALE-Sim defects, whose size is asserted here:

* OS ofmap SRAM writes: SCALE-Sim adds ``rows + cols`` per fold.
* DRAM ofmap writes: SCALE-Sim's write buffer counts the empty slots of partly filled DRAM
  lines as words; hwloop writes each ofmap word it wrote to SRAM once.

Depthwise (``DP``) layers are one row in hwloop and ``channels`` rows in SCALE-Sim (one per
channel); the row must equal the sum over SCALE-Sim's expansion.
"""
from __future__ import annotations

import json
import pathlib

import pytest

from hwloop.arch import Accelerator, Sram, SystolicArray
from hwloop.sim import simulate
from hwloop.traces import load_topology

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
GOLDEN = sorted((DATA / "golden").glob("*.json"))
INTEGERS = ("total_cycles", "stall_cycles", "macs", "ifmap_sram_reads", "filter_sram_reads",
            "ofmap_sram_writes", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes")
PERCENTS = ("overall_util", "mapping_eff", "compute_util")


def _load(path: pathlib.Path):
    golden = json.loads(path.read_text())
    cfg = golden["config"]
    accel = Accelerator(
        array=SystolicArray(rows=cfg["rows"], cols=cfg["cols"], dataflow=cfg["dataflow"]),
        sram=Sram(ifmap_kb=cfg["ifmap_kb"], filter_kb=cfg["filter_kb"], ofmap_kb=cfg["ofmap_kb"]))
    network = load_topology(DATA / "topologies" / pathlib.Path(cfg["topology"]).name)
    return golden, accel, network


def _scalesim_rows(golden: dict, network) -> list[dict]:
    """SCALE-Sim's layers, with each depthwise layer's per-channel expansion summed."""
    by_name = {layer["name"]: layer for layer in golden["layers"]}
    rows = []
    for layer in network:
        if layer.kind.value == "depthwise":
            parts = [by_name[f"{layer.name}Channel_{c}"] for c in range(layer.channels)]
            assert len(golden["layers"]) >= len(parts)
            row = {key: sum(part[key] for part in parts) for key in INTEGERS}
            for key in PERCENTS + ("row_fold", "col_fold"):
                assert len({part[key] for part in parts}) == 1  # identical channels
                row[key] = parts[0][key]
            row["overall_util"] = parts[0]["overall_util"]
            rows.append(row)
        else:
            rows.append(by_name[layer.name])
    return rows


def _assert_close(ours: dict, theirs: dict, keys, context: str) -> None:
    for key in keys:
        assert ours[key] == theirs[key], f"{context}: {key} hwloop {ours[key]} != SCALE-Sim {theirs[key]}"


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_scalesim_compat_reproduces_every_number(path):
    golden, accel, network = _load(path)
    report = simulate(network, accel, scalesim_compat=True)
    theirs = _scalesim_rows(golden, network)
    for ours, ref in zip(report.layers.to_dict("records"), theirs):
        _assert_close(ours, ref, INTEGERS, f"{path.stem}/{ours['name']}")
        for key in PERCENTS:
            assert ours[key] == pytest.approx(ref[key], abs=1e-9), f"{path.stem}/{ours['name']}: {key}"
        assert (ours["row_folds"], ours["col_folds"]) == (ref["row_fold"], ref["col_fold"])


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_hwloop_differs_only_where_scalesim_is_wrong(path):
    golden, accel, network = _load(path)
    report = simulate(network, accel)
    rows, cols = accel.array.rows, accel.array.cols
    is_os = accel.array.dataflow.value == "os"
    theirs = _scalesim_rows(golden, network)
    for layer, ours, ref in zip(network, report.layers.to_dict("records"), theirs):
        context = f"{path.stem}/{layer.name}"
        same = [k for k in INTEGERS if k not in ("ofmap_sram_writes", "dram_ofmap_writes")]
        _assert_close(ours, ref, same, context)
        folds = ref["row_fold"] * ref["col_fold"] * layer.groups
        extra = folds * (rows + cols) if is_os else 0
        assert ours["ofmap_sram_writes"] == ref["ofmap_sram_writes"] - extra, context
        # Every word written to the ofmap SRAM goes to DRAM exactly once...
        assert ours["dram_ofmap_writes"] == ours["ofmap_sram_writes"], context
        pixels, filters, _ = layer.gemm_mnk
        row_folds = 1 if is_os else ref["row_fold"]
        assert ours["ofmap_sram_writes"] == layer.groups * row_folds * pixels * filters, context
        # ...while SCALE-Sim counts empty slots of partial DRAM lines as words (never fewer).
        assert ref["dram_ofmap_writes"] >= ours["dram_ofmap_writes"], context


def test_golden_set_covers_the_required_matrix():
    """Tiny, ResNet-18, AlexNet and GEMM topologies x OS/WS/IS x at least three array shapes."""
    shapes: dict[tuple[str, str], set] = {}
    for path in GOLDEN:
        cfg = json.loads(path.read_text())["config"]
        topo = pathlib.Path(cfg["topology"]).stem
        shapes.setdefault((topo, cfg["dataflow"]), set()).add((cfg["rows"], cfg["cols"]))
    for topo in ("tiny", "resnet18_unique", "alexnet_conv", "gemms"):
        for dataflow in ("os", "ws", "is"):
            found = shapes.get((topo, dataflow), set())
            assert len(found) >= 3, (topo, dataflow, found)
    assert any(r != c for (_, _), s in shapes.items() for r, c in s)  # a non-square array


def test_known_differences_are_visible_on_small_cases():
    """The documented SCALE-Sim defects, spelled out on tiny.csv."""
    golden, accel, network = _load(DATA / "golden" / "tiny_8x8_os.json")
    ours = simulate(network, accel).layers.set_index("name")
    compat = simulate(network, accel, scalesim_compat=True).layers.set_index("name")
    layer = network.layers[0]
    pixels, filters, _ = layer.gemm_mnk
    folds = -(-pixels // 8) * -(-filters // 8)
    assert ours.loc[layer.name, "ofmap_sram_writes"] == pixels * filters
    assert compat.loc[layer.name, "ofmap_sram_writes"] == pixels * filters + folds * (8 + 8)

    # With 1 KiB buffers SCALE-Sim drains mid-layer; a partly filled DRAM line then leaks
    # rows - 1 empty slots into the DRAM ofmap count of WS and IS.
    for dataflow in ("ws", "is"):
        golden, accel, network = _load(DATA / "golden" / f"tiny_4x4_{dataflow}_kb1-1-1.json")
        ours = simulate(network, accel).layers
        compat = simulate(network, accel, scalesim_compat=True).layers
        leak = compat["dram_ofmap_writes"] - ours["dram_ofmap_writes"]
        assert list(leak) == [accel.array.rows - 1] * len(network)
        assert list(compat["dram_ofmap_writes"]) == [lyr["dram_ofmap_writes"] for lyr in golden["layers"]]
        assert (ours["dram_ofmap_writes"] == ours["ofmap_sram_writes"]).all()


#: Goldens small enough to walk their whole demand in a test (the stall path streams it).
_WALKABLE = [p for p in GOLDEN if not p.stem.startswith(("resnet18", "alexnet"))]


@pytest.mark.parametrize("path", _WALKABLE, ids=lambda p: p.stem)
def test_unlimited_bandwidth_keeps_the_stall_free_goldens(path):
    """The finite-memory path with ports wider than any transfer and zero latency gives the
    stall-free engine's numbers exactly (the same as ``test_hwloop_differs_only...``)."""
    from dataclasses import replace

    from hwloop.arch import Dram

    golden, accel, network = _load(path)
    free = simulate(network, accel)
    wide = simulate(network, replace(accel, dram=Dram(bandwidth=1 << 40)))
    for ours, ref in zip(wide.layers.to_dict("records"), free.layers.to_dict("records")):
        _assert_close(ours, ref, INTEGERS, f"{path.stem}/{ours['name']}")
        assert ours["prefetch_cycles"] == 0
