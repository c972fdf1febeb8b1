"""Energy, area and EDP in reports: sums, monotonicity, bit widths, leakage, JSON/CSV keys."""
from __future__ import annotations

import csv
import json
from dataclasses import replace

import pytest

from hwloop.arch import (
    HOROWITZ_45NM,
    ZIGZAG_TPU_LIKE,
    Accelerator,
    BitFusionArray,
    BitSerialArray,
    Sram,
    SystolicArray,
    TwoInOneArray,
    get_preset,
)
from hwloop.sim import COLUMNS, simulate
from hwloop.sim.arrays import BREAKDOWN_KEYS, area_mm2, layer_energy, pe_bit_products
from hwloop.sim.cli import main
from hwloop.traces import Layer, Network, builtin_network

CONV = Layer(name="conv", ifmap_h=18, ifmap_w=18, filter_h=3, filter_w=3, channels=16,
             num_filters=24)
NET = Network(name="pair", layers=(
    CONV, Layer(name="dw", ifmap_h=16, ifmap_w=16, filter_h=3, filter_w=3, channels=8,
                num_filters=1, kind="depthwise"),
    Layer.gemm("fc", m=16, n=40, k=64)))
SMALL = Accelerator(array=SystolicArray(rows=8, cols=8), sram=Sram(ifmap_kb=4, filter_kb=4,
                                                                   ofmap_kb=4))
ROW = {"macs": 1000, "ifmap_sram_reads": 300, "filter_sram_reads": 200, "ofmap_sram_writes": 100,
       "dram_ifmap_reads": 50, "dram_filter_reads": 40, "dram_ofmap_writes": 30,
       "total_cycles": 500, "dataflow": "os"}
LEAKY = replace(HOROWITZ_45NM, name="leaky", pe_leakage_uw=20.0)


@pytest.mark.parametrize("array", [
    SystolicArray(rows=8, cols=8, dataflow="os"), SystolicArray(rows=8, cols=8, dataflow="ws"),
    SystolicArray(rows=8, cols=8, dataflow="is"), BitFusionArray(rows=8, cols=8),
    BitSerialArray(rows=8, cols=8), TwoInOneArray(rows=8, cols=8)],
    ids=["os", "ws", "is", "bitfusion", "bitserial", "2in1"])
def test_breakdown_sums_to_energy_for_every_array_kind(array):
    accel = replace(SMALL, array=array, energy=LEAKY)
    report = simulate(NET, accel)
    for row in report.layers.to_dict(orient="records"):
        assert list(row["energy_breakdown"]) == list(BREAKDOWN_KEYS)
        assert sum(row["energy_breakdown"].values()) == row["energy_pj"]
        assert row["energy_pj"] > 0 and all(v >= 0 for v in row["energy_breakdown"].values())
        assert row["edp"] == row["energy_pj"] * row["total_cycles"]
    totals = report.totals
    assert sum(totals["energy_breakdown"].values()) == totals["energy_pj"]
    assert totals["energy_pj"] == pytest.approx(report.layers["energy_pj"].sum(), rel=1e-12)
    assert totals["edp"] == totals["energy_pj"] * totals["total_cycles"]
    assert totals["area_mm2"] == area_mm2(accel) > 0


def test_energy_grows_with_dram_traffic():
    base_energy, base = layer_energy(ROW, SMALL)
    for key, component in (("dram_ifmap_reads", "dram_ifmap"), ("dram_filter_reads", "dram_filter"),
                           ("dram_ofmap_writes", "dram_ofmap")):
        energy, more = layer_energy({**ROW, key: ROW[key] * 3}, SMALL)
        assert energy > base_energy
        assert more[component] == pytest.approx(3 * base[component])
        changed = {k for k in BREAKDOWN_KEYS if more[k] != base[k]}
        assert changed == {component, "sram_" + component.split("_")[1]}  # fill/drain side


def test_dram_energy_uses_packed_bytes_when_the_row_has_them():
    _, words = layer_energy(ROW, SMALL)
    _, packed = layer_energy({**ROW, "dram_ifmap_bytes": 25, "act_bits": 4, "weight_bits": 4},
                             SMALL)
    assert packed["dram_ifmap"] == pytest.approx(words["dram_ifmap"] / 2)
    assert packed["dram_ifmap"] == 25 * 8 * HOROWITZ_45NM.dram_read_pj_per_bit


@pytest.mark.parametrize("accel", [SMALL, replace(SMALL, array=BitFusionArray(rows=8, cols=8))],
                         ids=["systolic", "bitfusion"])
def test_narrower_operands_lower_sram_and_dram_energy(accel):
    wide = simulate(CONV, accel).totals["energy_breakdown"]
    narrow_layer = replace(CONV, weight_bits=4, act_bits=4)
    narrow = simulate(narrow_layer, accel).totals["energy_breakdown"]
    for key in ("sram_ifmap", "sram_filter", "sram_ofmap", "dram_ifmap", "dram_filter",
                "dram_ofmap", "mac"):
        assert narrow[key] < wide[key], key
    assert sum(narrow.values()) < sum(wide.values())


def test_stationary_registers_are_written_once_per_load():
    """WS writes each weight register when loaded, OS every MAC (weights stream through)."""
    _, os_ = layer_energy(ROW, SMALL)
    _, ws = layer_energy({**ROW, "dataflow": "ws"}, SMALL)
    _, is_ = layer_energy({**ROW, "dataflow": "is"}, SMALL)
    per_bit = 8 * HOROWITZ_45NM.rf_weight_pj_per_bit
    assert os_["rf_weight"] == pytest.approx(2 * ROW["macs"] * per_bit)
    assert ws["rf_weight"] == pytest.approx((ROW["macs"] + ROW["filter_sram_reads"]) * per_bit)
    assert is_["rf_act"] == pytest.approx((ROW["macs"] + ROW["ifmap_sram_reads"]) * per_bit)
    assert os_["rf_psum"] == pytest.approx(2 * ROW["macs"] * 16 * HOROWITZ_45NM.rf_psum_pj_per_bit)


def test_sram_energy_follows_buffer_size():
    big = replace(SMALL, sram=Sram(ifmap_kb=64, filter_kb=4, ofmap_kb=4))
    _, small = layer_energy(ROW, SMALL)
    _, large = layer_energy(ROW, big)
    assert large["sram_ifmap"] == pytest.approx(
        small["sram_ifmap"] * 16 ** HOROWITZ_45NM.sram_size_exponent)
    assert large["sram_filter"] == small["sram_filter"]


def test_leakage_is_power_times_time():
    accel = replace(SMALL, energy=LEAKY)
    _, slow = layer_energy(ROW, accel)
    _, fast = layer_energy(ROW, replace(accel, clock_ghz=2.0))
    seconds = ROW["total_cycles"] / 1e9
    assert slow["leakage_pe"] == pytest.approx(20.0 * 64 * seconds * 1e6)  # uW x s -> pJ
    assert slow["leakage_sram"] == pytest.approx(
        HOROWITZ_45NM.sram_leakage_uw_per_kib * 12 * seconds * 1e6)
    assert fast["leakage_pe"] == pytest.approx(slow["leakage_pe"] / 2)
    _, none = layer_energy(ROW, replace(SMALL, energy=ZIGZAG_TPU_LIKE))
    assert none["leakage_pe"] == none["leakage_sram"] == 0


def test_area_counts_pes_buffers_and_precision_capability():
    base = area_mm2(SMALL)
    assert area_mm2(replace(SMALL, array=SystolicArray(rows=16, cols=8))) > base
    assert area_mm2(replace(SMALL, sram=Sram(ifmap_kb=8, filter_kb=4, ofmap_kb=4))) == \
        pytest.approx(base + 4 * HOROWITZ_45NM.sram_area_mm2_per_kib)
    assert area_mm2(replace(SMALL, energy=replace(HOROWITZ_45NM, fixed_area_mm2=1.5))) == \
        pytest.approx(base + 1.5)
    assert pe_bit_products(SMALL) == 64
    assert pe_bit_products(replace(SMALL, array=BitFusionArray(rows=8, cols=8))) == 64
    assert pe_bit_products(replace(SMALL, array=TwoInOneArray(rows=8, cols=8))) == 64
    serial = replace(SMALL, array=BitSerialArray(rows=8, cols=8))  # 1 bit x 16 bits a cycle
    assert pe_bit_products(serial) == 16 and area_mm2(serial) < base
    assert pe_bit_products(replace(SMALL, operand_bits=16)) == 256


def test_energy_table_changes_energy_not_counters():
    horowitz = simulate(CONV, SMALL)
    zigzag = simulate(CONV, SMALL.with_overrides(energy="zigzag_tpu_like"))
    assert zigzag.totals["total_cycles"] == horowitz.totals["total_cycles"]
    assert zigzag.totals["energy_pj"] != horowitz.totals["energy_pj"]
    assert zigzag.config["accelerator"]["energy"]["name"] == "zigzag_tpu_like"


def test_columns_have_units():
    for key in ("energy_pj", "energy_breakdown", "edp"):
        assert key in COLUMNS and COLUMNS[key]


def test_json_and_csv_reports_carry_energy(tmp_path):
    report = simulate(NET, SMALL)
    report.to_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    for layer in data["layers"]:
        assert {"energy_pj", "energy_breakdown", "edp"} <= set(layer)
        assert set(layer["energy_breakdown"]) == set(BREAKDOWN_KEYS)
    for key in ("energy_pj", "energy_breakdown", "edp", "area_mm2"):
        assert key in data["totals"]
    assert data["config"]["accelerator"]["energy"]["name"] == "horowitz_45nm"
    report.to_csv(tmp_path / "r.csv")
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert "energy_breakdown" not in rows[0]
    for row, layer in zip(rows, data["layers"]):
        assert float(row["energy_mac_pj"]) == pytest.approx(layer["energy_breakdown"]["mac"])
        assert float(row["energy_pj"]) == pytest.approx(layer["energy_pj"])


def test_cli_config_selects_the_energy_table(tmp_path, capsys):
    config = tmp_path / "z.toml"
    config.write_text('[array]\nrows = 8\ncols = 8\n[energy]\npreset = "zigzag_tpu_like"\n')
    out = tmp_path / "r.json"
    assert main(["simulate", "--network", "resnet18", "--config", str(config), "-q",
                 "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["config"]["accelerator"]["energy"] == ZIGZAG_TPU_LIKE.to_dict()
    assert data["totals"]["energy_pj"] > 0


def test_cli_bad_energy_table_is_one_line(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("[energy]\nmac_pj_8x8 = 0.2\n")
    assert main(["simulate", "--config", str(config), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{config}:1: field 'energy.mac_mult_share': missing" in err


def test_resnet18_energy_is_dominated_by_data_movement():
    report = simulate(builtin_network("resnet18"), get_preset("scalesim_default"))
    parts = report.totals["energy_breakdown"]
    dram = parts["dram_ifmap"] + parts["dram_filter"] + parts["dram_ofmap"]
    assert dram > parts["mac"] * 5  # the well-known imbalance: moving data costs more
    assert 1e9 < report.totals["energy_pj"] < 1e11  # 1-100 mJ for 1.8 GMACs at 45 nm
