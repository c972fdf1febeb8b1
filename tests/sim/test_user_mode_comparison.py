"""hwloop's memory model against SCALE-Sim's USER mode on the golden GEMM: every difference
has a named cause (``benchmarks/compare_user_mode.py`` prints the table).

1. SCALE-Sim's read-buffer stall defect: its size is ``compat - fixed`` stalls.
2. SCALE-Sim's USER read buffer moves other words than its CALC buffer: the OS/WS ifmap
   twice (524,320 vs 262,144 words), and the IS filter once where CALC's 655-word sets
   (50 x 655 = 32,750 < 32,768 filter words) re-fetch it every column fold. hwloop fetches
   CALC's words, so its DRAM counts stay the stall-free goldens' at any bandwidth.
"""
from __future__ import annotations

import json
import pathlib

import pytest

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.sim.memory import simulate_scalesim_user
from hwloop.traces import Layer

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
GEMM = Layer.gemm("Test 1", 256, 128, 256)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_each_difference_has_a_cause(dataflow):
    user = json.loads((DATA / "golden_user" / f"gemm_golden_32x32_{dataflow}_bw10.json")
                      .read_text())["layers"][0]
    calc = json.loads((DATA / "golden" / f"gemm_golden_32x32_{dataflow}.json")
                      .read_text())["layers"][0]
    accel = get_preset("scalesim_default").with_overrides(dataflow=dataflow, bandwidth=10)
    compat = simulate(GEMM, accel, scalesim_compat=True).layers.iloc[0]
    fixed = simulate_scalesim_user(GEMM, accel, fix_stall_defect=True)
    ours = simulate(GEMM, accel).layers.iloc[0]
    # the replica is SCALE-Sim; fixing the defect only removes stalls
    assert (compat.total_cycles, compat.stall_cycles) == (user["total_cycles"], user["stall_cycles"])
    defect = user["stall_cycles"] - fixed["stall_cycles"]
    assert defect == {"os": 2024, "ws": 1928, "is": 0}[dataflow]
    assert fixed["dram_ifmap_reads"] == user["dram_ifmap_reads"]
    # hwloop moves the stall-free (CALC) engine's words, whatever the bandwidth
    for key in ("dram_ifmap_reads", "dram_filter_reads"):
        assert ours[key] == calc[key]
    assert user["dram_ifmap_reads"] == {"os": 524320, "ws": 524320, "is": 131080}[dataflow]
    # with the same words per cycle, both are DRAM-bound: cycles follow the words moved
    busiest = max(ours.dram_ifmap_reads, ours.dram_filter_reads) / 10
    assert ours.total_cycles + ours.prefetch_cycles == pytest.approx(busiest, rel=0.08)
    busiest_user = max(user["dram_ifmap_reads"], user["dram_filter_reads"]) / 10
    assert user["total_cycles"] == pytest.approx(busiest_user, rel=0.08) or dataflow == "is"
