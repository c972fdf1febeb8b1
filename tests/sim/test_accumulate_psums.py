"""On-chip partial-sum accumulation (WS/IS): only final outputs reach DRAM."""
from __future__ import annotations

import pytest

from hwloop.arch import get_preset, load_config
from hwloop.sim import simulate
from hwloop.sim.cli import main
from hwloop.traces import InputError, Layer

LAYER = Layer(name="c", ifmap_h=10, ifmap_w=10, filter_h=3, filter_w=3, channels=16,
              num_filters=12)  # window 144 > 32 rows: several row folds
BASE = get_preset("scalesim_default")


@pytest.mark.parametrize("dataflow", ["ws", "is"])
def test_only_final_outputs_leave_and_partials_are_read_back(dataflow):
    plain = simulate(LAYER, BASE.with_overrides(dataflow=dataflow)).layers.iloc[0]
    summed = simulate(LAYER, BASE.with_overrides(dataflow=dataflow, accumulate_psums=True)).layers.iloc[0]
    outputs = LAYER.ofmap_pixels * LAYER.num_filters
    assert plain.row_folds == 5 and plain.dram_ofmap_writes == 5 * outputs
    assert summed.dram_ofmap_writes == outputs
    assert summed.ofmap_sram_reads == 4 * outputs and plain.ofmap_sram_reads == 0
    for key in ("total_cycles", "ofmap_sram_writes", "dram_ifmap_reads", "dram_filter_reads"):
        assert summed[key] == plain[key], key
    assert summed.energy_breakdown["dram_ofmap"] < plain.energy_breakdown["dram_ofmap"]


def test_output_stationary_has_nothing_to_accumulate():
    plain = simulate(LAYER, BASE).layers.iloc[0]
    summed = simulate(LAYER, BASE.with_overrides(accumulate_psums=True)).layers.iloc[0]
    assert summed.dram_ofmap_writes == plain.dram_ofmap_writes


def test_not_with_finite_bandwidth_yet():
    with pytest.raises(InputError, match="accumulation") as info:
        simulate(LAYER, BASE.with_overrides(dataflow="ws", accumulate_psums=True, bandwidth=8))
    assert info.value.field == "accumulate_psums"


def test_cli_and_toml(tmp_path, capsys):
    assert main(["simulate", "--network", "alexnet", "--dataflow", "ws", "--accumulate-psums",
                 "--json", str(tmp_path / "r.json"), "-q"]) == 0
    config = tmp_path / "a.toml"
    config.write_text("[sram]\naccumulate_psums = true\n")
    assert load_config(config).sram.accumulate_psums is True
    config.write_text("[sram]\naccumulate_psums = 1\n")
    with pytest.raises(InputError, match="accumulate_psums"):
        load_config(config)
