"""hwloop's DRAM words against ZigZag's for the same DRAM-level loops (saved ZigZag outputs;
``benchmarks/results/zigzag_mapping_2026-12-03.md``)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwloop.arch import Mapping
from hwloop.arch.presets import SCALESIM_DEFAULT
from hwloop.sim.tiling import simulate_mapped_layer
from hwloop.traces import Layer

DATA = Path(__file__).resolve().parents[1] / "data" / "zigzag_mapping"
LAYER = Layer(name="c", ifmap_h=8, ifmap_w=8, filter_h=1, filter_w=1, channels=64,
              num_filters=64)
CASES = [  # (file, hwloop mapping, operands whose ZigZag DRAM-level loops it has)
    ("k64c64_8x8_gb16k.json", Mapping(dataflow="os"), ("I", "W", "O")),
    ("k64c64_8x8_gb8k.json", Mapping(dataflow="os", tile_c=16, tile_n=32, order="nkm"),
     ("I", "W")),
]
HWLOOP = {"I": ("dram_ifmap_reads",), "W": ("dram_filter_reads",),
          "O": ("dram_ofmap_writes", "dram_ofmap_reads")}


@pytest.mark.parametrize("name, mapping, operands", CASES)
def test_dram_words_agree_with_zigzag(name, mapping, operands):
    moves = json.loads((DATA / name).read_text())["memory_element_moves"]["dram"]
    zigzag = {"I": (moves["I"]["rd_out_to_low"],), "W": (moves["W"]["rd_out_to_low"],),
              "O": (moves["O"]["wr_in_by_low"], moves["O"]["rd_out_to_low"])}
    row = simulate_mapped_layer(LAYER, SCALESIM_DEFAULT, mapping)
    for operand in operands:
        assert tuple(row[key] for key in HWLOOP[operand]) == zigzag[operand], operand
