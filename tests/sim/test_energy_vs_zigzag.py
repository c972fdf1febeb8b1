"""hwloop's energy model against ZigZag (zigzag-dse 3.9.1) on the same layers and energies.

Each run in ``tests/data/zigzag/`` is a harness result (``tests/data/regenerate_zigzag.py``).
hwloop simulates the same layer on the same array with buffers of ZigZag's global-buffer size,
priced by an :class:`EnergyTable` built from the run's own per-access energies. MAC energy and
DRAM traffic must agree within 5%, except the WS ofmap DRAM writes, which hwloop multiplies by
the row folds (partial sums are not accumulated on chip: the README's modelling choice).
Where ZigZag's mapping is pinned to hwloop's loop nest, the global-buffer element traffic
equals hwloop's SRAM counts. ``python tests/sim/test_energy_vs_zigzag.py`` prints the
per-level table in ``docs/energy.md``.
"""
from __future__ import annotations

import json
import math
import pathlib
from dataclasses import replace

import pytest

from hwloop.arch import ZIGZAG_TPU_LIKE, Accelerator, EnergyTable, Sram, SystolicArray
from hwloop.sim import simulate
from hwloop.traces import Layer

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "zigzag"
MANIFEST = json.loads((DATA / "manifest.json").read_text())
RUNS = {run["name"]: run for run in MANIFEST["runs"]}
TOLERANCE = 0.05
DIRECTIONS = ("rd_out_to_low", "wr_in_by_high", "rd_out_to_high", "wr_in_by_low")


def load(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def memories(result: dict) -> dict[str, dict]:
    """ZigZag's memories by role: weight RF, psum RF, global buffer (sram), dram."""
    roles = {}
    for mem in result["hw"]["memories"]:
        if mem["name"] == "dram":
            roles["dram"] = mem
        elif mem["served_dimensions"]:
            roles["sram"] = mem
        elif mem["operands"] == ["I2"]:
            roles["rf_weight"] = mem
        elif mem["operands"] == ["O"]:
            roles["rf_psum"] = mem
    return roles


def table_from_zigzag(result: dict, ports: dict) -> EnergyTable:
    """The run's per-access energies as an energy table (per bit of each port word)."""
    mems = memories(result)
    bits = result["layer"]["bits"]
    sram = mems["sram"]
    return replace(
        ZIGZAG_TPU_LIKE, name=f"zigzag_{result['hw']['name']}",
        mac_pj_8x8=result["hw"]["mac_energy_pJ"],
        rf_weight_pj_per_bit=mems["rf_weight"]["r_cost_pJ"] / bits["W"],
        rf_psum_pj_per_bit=mems["rf_psum"]["r_cost_pJ"] / bits["O_psum"],
        sram_read_pj_per_bit=sram["r_cost_pJ"] / ports["sram_bits"],
        sram_write_pj_per_bit=sram["w_cost_pJ"] / ports["sram_bits"],
        sram_ref_kib=sram["size_bits"] / 8192,
        dram_read_pj_per_bit=mems["dram"]["r_cost_pJ"] / ports["dram_bits"],
        dram_write_pj_per_bit=mems["dram"]["w_cost_pJ"] / ports["dram_bits"])


def hwloop_layer(result: dict) -> Layer:
    """The harness's layer in SCALE-Sim's terms (padded input, depthwise as DP)."""
    lay = result["layer"]
    stride_h, stride_w = lay["stride"]
    groups = lay.get("G", 1)
    return Layer(name="zigzag", ifmap_h=(lay["P"] - 1) * stride_h + lay["R"],
                 ifmap_w=(lay["Q"] - 1) * stride_w + lay["S"], filter_h=lay["R"],
                 filter_w=lay["S"], channels=groups if groups > 1 else lay["C"],
                 num_filters=lay["K"], stride_h=stride_h, stride_w=stride_w,
                 kind="depthwise" if groups > 1 else "conv")


def hwloop_run(name: str, accumulate_psums: bool = False) -> tuple[dict, dict]:
    """(hwloop report row, ZigZag result) of one run."""
    run, result = RUNS[name], load(name)
    rows, cols = result["hw"]["array"]
    kib = int(memories(result)["sram"]["size_bits"] // 8192)
    accel = Accelerator(array=SystolicArray(rows=rows, cols=cols, dataflow=run["hwloop_dataflow"]),
                        sram=Sram(ifmap_kb=kib, filter_kb=kib, ofmap_kb=kib,
                                  accumulate_psums=accumulate_psums),
                        energy=table_from_zigzag(result, run["ports"]))
    row = simulate(hwloop_layer(result), accel).layers.iloc[0].to_dict()
    return row, result


def zigzag_moves(result: dict, role: str, operand: str, *directions: str) -> int:
    """Elements ZigZag moves at one memory for one operand (W, I or O) and directions."""
    name = memories(result)[role]["name"]
    moves = result["memory_element_moves"].get(name, {}).get(operand, {})
    return sum(moves.get(d, 0) for d in directions)


def zigzag_energy(result: dict, role: str, operand: str) -> float:
    name = memories(result).get(role, {}).get("name")
    return result["energy_breakdown_pJ"]["per_memory_per_operand"].get(name, {}).get(operand, 0.0)


def rel(a: float, b: float) -> float:
    return abs(a - b) / b if b else math.inf if a else 0.0


@pytest.mark.parametrize("name", sorted(RUNS))
def test_mac_energy_and_dram_traffic_agree(name):
    row, result = hwloop_run(name)
    assert row["macs"] == result["layer"]["macs"]
    assert rel(row["energy_breakdown"]["mac"], result["energy_breakdown_pJ"]["mac"]) <= TOLERANCE
    bits = result["layer"]["bits"]
    for operand, key, zz, width in (("ifmap", "dram_ifmap_reads", "I", bits["I"]),
                                    ("filter", "dram_filter_reads", "W", bits["W"])):
        zz_bits = zigzag_moves(result, "dram", zz, "rd_out_to_low") * width
        assert rel(row[f"dram_{operand}_bytes"] * 8, zz_bits) <= TOLERANCE, operand
        assert rel(row["energy_breakdown"][f"dram_{operand}"], zigzag_energy(result, "dram", zz)) \
            <= TOLERANCE, operand
    zz_ofmap = zigzag_moves(result, "dram", "O", "wr_in_by_low")
    if RUNS[name]["hwloop_dataflow"] == "os":
        assert rel(row["dram_ofmap_writes"], zz_ofmap) <= TOLERANCE
        assert rel(row["energy_breakdown"]["dram_ofmap"], zigzag_energy(result, "dram", "O")) \
            <= TOLERANCE
    else:  # WS: every row fold's partial sums go to DRAM (no accumulation on chip) ...
        assert row["dram_ofmap_writes"] == row["row_folds"] * zz_ofmap
        # ... unless the ofmap buffer accumulates them, as ZigZag's does
        summed, _ = hwloop_run(name, accumulate_psums=True)
        assert rel(summed["dram_ofmap_writes"], zz_ofmap) <= TOLERANCE
        assert rel(summed["energy_breakdown"]["dram_ofmap"], zigzag_energy(result, "dram", "O")) \
            <= TOLERANCE


@pytest.mark.parametrize("name", [n for n, run in RUNS.items() if run["pinned_to_hwloop_mapping"]])
def test_pinned_mapping_moves_the_same_elements_on_chip(name):
    """With ZigZag's loop nest pinned to hwloop's, the global buffer sees hwloop's SRAM traffic."""
    row, result = hwloop_run(name)
    assert zigzag_moves(result, "sram", "I", "rd_out_to_low") == row["ifmap_sram_reads"]
    assert zigzag_moves(result, "sram", "O", "wr_in_by_low") == row["ofmap_sram_writes"]
    if "I2" in memories(result)["sram"]["operands"]:  # tpu_like sends weights DRAM -> PE RF
        weights = zigzag_moves(result, "sram", "W", "rd_out_to_low")
        if row["dataflow"] == "os" and result["layer"].get("G", 1) > 1:
            # ZigZag keeps a depthwise filter's 9 weights in the PE's 128-byte weight RF;
            # SCALE-Sim's OS array streams them again for every row fold.
            assert row["filter_sram_reads"] == weights * row["row_folds"]
        else:
            assert weights == row["filter_sram_reads"]


def test_pinned_os_prices_every_level_like_zigzag():
    """Same mapping, same energies: hwloop's OS energy equals ZigZag's level by level."""
    row, result = hwloop_run("r18_layer1_os32x32_pinned")
    ours = row["energy_breakdown"]
    for key, role, operand in (("rf_weight", "rf_weight", "W"), ("rf_psum", "rf_psum", "O"),
                               ("sram_ifmap", "sram", "I"), ("sram_filter", "sram", "W"),
                               ("sram_ofmap", "sram", "O")):
        assert rel(ours[key], zigzag_energy(result, role, operand)) <= 0.001, key
    assert rel(row["energy_pj"], result["energy_pJ"]) <= 0.001


def test_tpu_like_preset_is_zigzags_template():
    built = table_from_zigzag(load("r18_layer1_conv3x3_tpu_like"),
                              RUNS["r18_layer1_conv3x3_tpu_like"]["ports"])
    assert replace(built, name=ZIGZAG_TPU_LIKE.name) == ZIGZAG_TPU_LIKE
    for mem in load("r18_layer1_conv3x3_tpu_like")["hw"]["memories"]:
        if not mem["served_dimensions"]:
            assert mem["r_cost_pJ"] == mem["w_cost_pJ"]  # one register energy per bit


@pytest.mark.parametrize("name", sorted(RUNS))
def test_recorded_port_widths_match_the_word_counts(name):
    """The harness does not store port widths: check the manifest's against the counts."""
    result, ports = load(name), RUNS[name]["ports"]
    for role in ("sram", "dram"):
        mem = memories(result)[role]["name"]
        words = result["memory_word_accesses"][mem]["I"]["wr_in_by_high" if role == "sram"
                                                         else "rd_out_to_low"]
        elements = result["memory_element_moves"][mem]["I"]["wr_in_by_high" if role == "sram"
                                                           else "rd_out_to_low"]
        assert math.ceil(elements * result["layer"]["bits"]["I"] / ports[f"{role}_bits"]) \
            == words


#: (hwloop breakdown key, ZigZag memory role, ZigZag operand) per level of the table.
LEVELS = (("mac", None, None), ("rf_weight", "rf_weight", "W"), ("rf_act", None, None),
          ("rf_psum", "rf_psum", "O"), ("sram_ifmap", "sram", "I"), ("sram_filter", "sram", "W"),
          ("sram_ofmap", "sram", "O"), ("dram_ifmap", "dram", "I"), ("dram_filter", "dram", "W"),
          ("dram_ofmap", "dram", "O"))


def comparison(name: str) -> list[tuple[str, float, float]]:
    """(level, hwloop pJ, ZigZag pJ) for one run, ending with the total."""
    row, result = hwloop_run(name)
    lines = []
    for key, role, operand in LEVELS:
        theirs = result["energy_breakdown_pJ"]["mac"] if key == "mac" else \
            zigzag_energy(result, role, operand) if role else 0.0
        lines.append((key, row["energy_breakdown"][key], theirs))
    lines.append(("total", row["energy_pj"], result["energy_pJ"]))
    return lines


def main() -> None:  # pragma: no cover - prints the tables of docs/energy.md
    for name in RUNS:
        print(f"\n{name} (hwloop {RUNS[name]['hwloop_dataflow'].upper()}; ZigZag "
              f"{load(name)['spatial_mapping']})\n")
        print("| level | hwloop pJ | ZigZag pJ | difference |\n|---|---:|---:|---:|")
        for key, ours, theirs in comparison(name):
            diff = f"{100 * (ours - theirs) / theirs:+.1f}%" if theirs else \
                ("0" if not ours else "n/a (ZigZag 0)")
            print(f"| {key} | {ours:,.0f} | {theirs:,.0f} | {diff} |")


if __name__ == "__main__":  # pragma: no cover
    main()
