"""Cost model of analog tiles: hand-computed mapping, cycles and conversions, energy sums,
replication and time-sharing, the CLI, and ResNet-18 beside the digital systolic array."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from hwloop.arch import Accelerator, AnalogArray, Sram, get_preset
from hwloop.sim import simulate, simulate_totals
from hwloop.sim.arrays import ANALOG_BREAKDOWN_KEYS, analog_area_mm2, map_layer
from hwloop.sim.cli import main
from hwloop.traces import InputError, Layer, builtin_network

# 10x10 input, 3x3 filters, 16 channels, 20 filters, stride 1: 8x8 = 64 output pixels.
CONV = Layer(name="conv", ifmap_h=10, ifmap_w=10, filter_h=3, filter_w=3, channels=16,
             num_filters=20)
TILE = AnalogArray(rows=64, cols=32, tiles=16, devices_per_weight=2, dac_bits=7, adc_bits=9,
                   columns_per_adc=8, adc_conversion_ns=10.0)
CHIP = Accelerator(array=TILE, sram=Sram(ifmap_kb=16, filter_kb=16, ofmap_kb=16), clock_ghz=1.0)


def _row(layer: Layer, accel: Accelerator) -> dict:
    return simulate(layer, accel).layers.to_dict(orient="records")[0]


def test_hand_computed_tiles_conversions_and_cycles():
    row = _row(CONV, CHIP)
    # K = 3*3*16 = 144 weight rows, N = 20 filters -> 20*2 = 40 device columns.
    # row-tiles = ceil(144 / 64) = 3, column-tiles = ceil(40 / 32) = 2: 6 tiles per copy.
    assert (row["row_folds"], row["col_folds"]) == (3, 2)
    # 16 tiles // 6 = 2 copies -> 12 tiles used, one pass.
    assert (row["tile_replication"], row["tiles_used"], row["tile_passes"]) == (2, 12, 1)
    # utilisation: 144 * 40 devices / (6 tiles * 64 * 32) = 5760 / 12288 = 0.46875
    assert row["tile_util"] == pytest.approx(0.46875)
    # 8-bit inputs on 7-bit DACs: ceil(8 / 7) = 2 slices.
    assert row["input_slices"] == 2
    # ADC conversions per inference: 64 pixels x 2 slices x 3 row-tiles x 40 columns = 15360
    assert row["adc_conversions"] == 15360
    # DACs: 64 pixels x 2 slices x 144 rows x 2 column-tiles = 36864
    assert row["dac_conversions"] == 36864
    # device reads: 64 x 2 x 144 x 40 = 737280
    assert row["device_reads"] == 737280
    # per vector: 2 slices x min(8 columns per ADC, 32 used) = 16 conversions x 10 ns = 160 ns
    # = 160 cycles at 1 GHz; ceil(64 pixels / 2 copies) = 32 vectors -> 5120 cycles
    assert row["total_cycles"] == 5120
    assert row["macs"] == 64 * 144 * 20
    # traffic: windows read once per pixel, outputs written once, weights loaded once
    assert row["ifmap_sram_reads"] == 64 * 144 and row["ofmap_sram_writes"] == 64 * 20
    assert row["dram_filter_reads"] == 144 * 20 and row["dram_ifmap_reads"] == 10 * 10 * 16
    assert row["dram_ofmap_writes"] == 64 * 20 and row["stall_cycles"] == 0
    assert row["array_kind"] == "analog" and row["dataflow"] == "ws"


def test_energy_breakdown_sums_and_prices_the_counts():
    report = simulate(builtin_network("alexnet"), CHIP)
    for row in report.layers.to_dict(orient="records"):
        breakdown = row["energy_breakdown"]
        assert list(breakdown) == list(ANALOG_BREAKDOWN_KEYS)
        assert sum(breakdown.values()) == row["energy_pj"] > 0
        assert all(v >= 0 for v in breakdown.values())
        assert breakdown["adc"] == pytest.approx(row["adc_conversions"] * 5.12)  # 10 fJ x 2^9
        assert breakdown["array"] == pytest.approx(row["device_reads"] * 0.012)  # PCM G V^2 t
        assert breakdown["dac"] == pytest.approx(row["dac_conversions"] * 0.05)
        assert breakdown["digital"] == pytest.approx(row["adc_conversions"] * 0.05)
        assert row["edp"] == row["energy_pj"] * row["total_cycles"]
    totals = report.totals
    assert list(totals["energy_breakdown"]) == list(ANALOG_BREAKDOWN_KEYS)
    assert sum(totals["energy_breakdown"].values()) == totals["energy_pj"]
    assert totals["area_mm2"] == analog_area_mm2(CHIP) > 0
    assert simulate_totals(builtin_network("alexnet"), CHIP) == totals


def test_more_adc_bits_cost_more_adc_energy_only():
    base = _row(CONV, CHIP)["energy_breakdown"]
    finer = _row(CONV, replace(CHIP, array=replace(TILE, adc_bits=10)))["energy_breakdown"]
    assert finer["adc"] == pytest.approx(2 * base["adc"])
    assert {k for k in base if finer[k] != base[k]} == {"adc"}


def test_replication_uses_spare_tiles():
    cycles = {}
    for tiles in (6, 12, 18, 24, 60):
        row = _row(CONV, replace(CHIP, array=replace(TILE, tiles=tiles)))
        assert row["tile_replication"] == tiles // 6 and row["tiles_used"] == 6 * (tiles // 6)
        # ceil(64 / copies) vectors of 160 cycles
        assert row["total_cycles"] == -(-64 // (tiles // 6)) * 160
        assert row["adc_conversions"] == 15360  # copies split the work, never add to it
        cycles[tiles] = row["total_cycles"]
    assert cycles[6] == 2 * cycles[12] == 4 * cycles[24]  # 64, 32 and 16 vectors
    assert cycles[18] == 22 * 160 and cycles[60] == 7 * 160  # ceil(64 / 3), ceil(64 / 10)


def test_too_few_tiles_time_share_the_chip():
    row = _row(CONV, replace(CHIP, array=replace(TILE, tiles=4)))
    # 6 tiles needed on a chip of 4: ceil(6 / 4) = 2 passes of 64 vectors x 160 cycles
    assert (row["tile_passes"], row["tile_replication"], row["tiles_used"]) == (2, 1, 4)
    assert row["total_cycles"] == 2 * 64 * 160
    assert row["ofmap_sram_reads"] == 64 * 20  # the second pass adds to the first's sums


def test_narrow_inputs_take_one_slice_and_shared_adcs_take_turns():
    row = _row(replace(CONV, act_bits=4), CHIP)
    assert row["input_slices"] == 1 and row["total_cycles"] == 5120 // 2
    wide = _row(CONV, replace(CHIP, array=replace(TILE, columns_per_adc=32)))
    assert wide["total_cycles"] == 4 * 5120  # 32 instead of 8 conversions per slice
    assert wide["adc_conversions"] == 15360  # the same conversions, fewer ADCs
    slow_clock = _row(CONV, replace(CHIP, clock_ghz=0.25))
    assert slow_clock["total_cycles"] == 5120 // 4  # 160 ns = 40 cycles at 250 MHz


def test_depthwise_groups_pack_block_diagonally():
    dw = Layer(name="dw", ifmap_h=10, ifmap_w=10, filter_h=3, filter_w=3, channels=32,
               num_filters=1, kind="depthwise")
    mapping = map_layer(dw, TILE)
    # K = 9, 2 device columns per group: min(64 // 9, 32 // 2) = 7 groups per tile,
    # ceil(32 / 7) = 5 tiles; 16 // 5 = 3 copies; 7 groups x 2 = 14 columns used per tile
    assert (mapping.groups_per_tile, mapping.tiles_needed, mapping.replication) == (7, 5, 3)
    assert mapping.used_columns == 14
    assert mapping.utilisation == pytest.approx(32 * 9 * 2 / (5 * 64 * 32))
    row = _row(dw, CHIP)
    # per vector: 2 slices x min(8, 14) = 16 conversions = 160 cycles; ceil(64 / 3) = 22
    assert row["total_cycles"] == 22 * 160
    assert row["adc_conversions"] == 64 * 2 * 1 * 32 * 2  # pixels x slices x rows x columns


def test_gemm_maps_k_by_n():
    gemm = Layer.gemm("fc", m=10, n=100, k=300)
    mapping = map_layer(gemm, TILE)
    # ceil(300 / 64) = 5 row-tiles, ceil(200 / 32) = 7 column-tiles = 35 > 16 tiles: 3 passes
    assert (mapping.row_tiles, mapping.col_tiles, mapping.passes) == (5, 7, 3)
    assert _row(gemm, CHIP)["total_cycles"] == 3 * 10 * 160


def test_unsupported_runs_are_input_errors():
    with pytest.raises(InputError, match="SCALE-Sim"):
        simulate(CONV, CHIP, scalesim_compat=True)
    with pytest.raises(InputError) as info:
        simulate(CONV, CHIP.with_overrides(bandwidth=4))
    assert info.value.field == "bandwidth"


def test_resnet18_analog_beside_systolic():
    net = builtin_network("resnet18")
    analog = simulate(net, get_preset("pcm_chip")).totals
    digital = simulate(net, get_preset("scalesim_default")).totals
    assert analog["macs"] == digital["macs"] == net.macs
    for totals in (analog, digital):
        assert totals["total_cycles"] > 0 and totals["energy_pj"] > 0 and totals["area_mm2"] > 0
    assert analog["energy_breakdown"]["adc"] > 0 and "mac" in digital["energy_breakdown"]


# ---------------------------------------------------------------- the command line


def _run_main(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_resnet18_analog_runs(capsys, tmp_path):
    status, out, err = _run_main(["simulate", "--network", "resnet18", "--array-kind", "analog",
                                  "--json", str(tmp_path / "r.json"),
                                  "--csv", str(tmp_path / "r.csv")], capsys)
    assert status == 0, err
    assert "analog tiles x64" in out and "energy breakdown" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("layer"))
    assert "ADC" in lines[header] and "conversions" in lines[header + 1].split()  # adc_conversions
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["config"]["accelerator"]["array"]["kind"] == "analog"
    assert "energy_adc_pj" in (tmp_path / "r.csv").read_text().splitlines()[0]
    status, out, err = _run_main(["simulate", "--network", "alexnet", "--preset", "pcm_chip",
                                  "--tiles", "8", "--adc-bits", "8", "-q"], capsys)
    assert status == 0, err
    assert "tiles x8" in out and "ADC 8 b" in out


@pytest.mark.parametrize("argv, says", [
    (["--array-kind", "analog", "--cols", "4"], "field '--cols': a tile of 4 columns"),
    (["--preset", "pcm_chip", "--adc-bits", "0"], "field '--adc-bits': must be positive"),
    (["--preset", "pcm_chip", "--dac-bits", "0"], "field '--dac-bits': must be positive"),
    (["--preset", "pcm_chip", "--tiles", "0"], "field '--tiles': must be positive"),
    (["--tiles", "4"], "field '--tiles': applies to analog tiles only"),
    (["--preset", "pcm_chip", "--analog-device", "flash"], "unknown analog device"),
])
def test_cli_bad_analog_input(argv, says, capsys):
    status, out, err = _run_main(["simulate", "--network", "alexnet", *argv], capsys)
    assert status == 2 and out == "" and "Traceback" not in err
    assert len(err.splitlines()) == 1 and says in err, err


def test_cli_bad_analog_input_subprocess(tmp_path):
    done = subprocess.run([sys.executable, "-m", "hwloop.sim.cli", "simulate", "--array-kind",
                           "analog", "--adc-bits", "0", "--json", str(tmp_path / "o.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    expected = "hwloop: error: field '--adc-bits': must be positive, got 0"
    assert done.stderr.splitlines() == [expected]
    assert list(tmp_path.iterdir()) == []
