"""Cost of a layer on analog in-memory-compute tiles: mapping, cycles, energy, area.

Mapping (``map_layer``). A layer is one ``K x N`` weight matrix per group (im2col: ``K`` =
filter_h x filter_w x channels of the group, ``N`` = filters; a GEMM as given). A weight takes
``devices_per_weight`` devices on adjacent columns, so a group needs ``ceil(K / rows)``
row-tiles by ``ceil(N * devices_per_weight / cols)`` column-tiles; the partial sums of the
row-tiles are added digitally. Groups small enough for one tile (depthwise layers) are packed
block-diagonally, ``min(rows // K, cols // (N * dpw))`` to a tile. If the chip has spare
tiles the layer's tile set is replicated ``floor(tiles / needed)`` times and the copies work
on different input vectors. If the layer needs more tiles than the chip has, it runs in
``ceil(needed / tiles)`` passes that time-share the chip (weights reprogrammed between
passes; the programming time and energy are not modelled, so this is optimistic).

Cycles. One input vector (one output pixel) enters as ``ceil(act_bits / dac_bits)`` DAC
slices; per slice every ADC converts the used columns of its group one after another
(``min(columns_per_adc, used columns of the tile)`` conversions of ``adc_conversion_ns``).
All tiles of a vector work in parallel and the crossbar read overlaps the previous
conversion, so a vector takes ``ceil(slices x conversions x adc_conversion_ns x clock_ghz)``
cycles, and the layer ``passes x ceil(pixels / replication)`` vectors' worth.

Energy (``analog_energy``), pJ: ``dac`` (rows driven per slice), ``array`` (device reads),
``adc`` (conversions), ``digital`` (one shift-and-add per conversion: slices, the pair's
subtraction and the row-tiles' partial sums), ``buffers`` and ``dram`` (the accelerator's
energy table on the traffic below, SRAM leakage included). They sum to ``energy_pj``.

Traffic. Each pixel's input window is read once from the ifmap buffer per pass, each output
written once per pass (partial sums of passes read back); weights come from DRAM once, through
the filter buffer, into the crossbars; the ifmap is read from DRAM once and outputs written
to DRAM once. See ``docs/analog.md``.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import ClassVar

from hwloop.arch import Accelerator, AnalogArray
from hwloop.traces import InputError, Layer

from ._base import ArrayModel
from ._energy import buffer_area_mm2, layer_energy
from ._widths import layer_bits

#: Components of an analog layer's ``energy_breakdown``, in order.
ANALOG_BREAKDOWN_KEYS = ("dac", "array", "adc", "digital", "buffers", "dram")


@dataclass(frozen=True)
class TileMapping:
    """Where one layer's weights go on the chip (see the module docstring)."""

    k: int  #: rows of one group's weight matrix (reduction length)
    n: int  #: columns of one group's weight matrix (filters)
    groups: int
    row_tiles: int  #: tiles along K per group
    col_tiles: int  #: tiles along N * devices_per_weight per group
    groups_per_tile: int  #: groups packed block-diagonally into one tile set
    tiles_needed: int  #: one copy of the layer
    replication: int  #: copies working on different input vectors
    passes: int  #: time-shared rounds when the layer needs more tiles than the chip has
    tiles_used: int  #: tiles busy at once: the copies, or the whole chip when time-shared
    used_columns: int  #: device columns used in the widest tile
    utilisation: float  #: devices holding weights / devices of the needed tiles


def map_layer(layer: Layer, array: AnalogArray) -> TileMapping:
    """Tiles for ``layer``'s weights on ``array`` (see the module docstring)."""
    _, n, k = layer.gemm_mnk
    groups, dpw = layer.groups, array.devices_per_weight
    width = n * dpw  # device columns of one group
    row_tiles, col_tiles = math.ceil(k / array.rows), math.ceil(width / array.cols)
    per_tile = 1
    if groups > 1 and row_tiles == col_tiles == 1:
        per_tile = min(array.rows // k, array.cols // width)
    needed = math.ceil(groups / per_tile) * row_tiles * col_tiles
    passes = math.ceil(needed / array.tiles)
    replication = max(1, array.tiles // needed)
    used_columns = min(array.cols, width * min(per_tile, groups))
    utilisation = groups * k * width / (needed * array.rows * array.cols)
    return TileMapping(k=k, n=n, groups=groups, row_tiles=row_tiles, col_tiles=col_tiles,
                       groups_per_tile=per_tile, tiles_needed=needed,
                       replication=replication, passes=passes,
                       tiles_used=min(needed * replication, array.tiles),
                       used_columns=used_columns, utilisation=utilisation)


def vector_cycles(mapping: TileMapping, accel: Accelerator, act_bits: int) -> int:
    """Clock cycles one input vector takes: slices x conversions per ADC x conversion time."""
    array = accel.array
    conversions = min(array.columns_per_adc, mapping.used_columns)
    ns = array.input_slices(act_bits) * conversions * array.adc_conversion_ns
    return max(1, math.ceil(ns * accel.clock_ghz - 1e-9))


def simulate_analog_layer(layer: Layer, accel: Accelerator, *, scalesim_compat: bool,
                          recorder=None) -> dict:
    """One layer on an analog chip: a report row (see ``sim.COLUMNS``)."""
    array = accel.array
    if scalesim_compat:
        raise InputError("SCALE-Sim has no analog tiles; drop --scalesim-compat",
                         field="array_kind")
    if recorder is not None:
        raise InputError("traces are recorded for systolic arrays only", field="array_kind")
    if accel.dram.finite:
        raise InputError("finite DRAM bandwidth is not modelled for analog tiles",
                         field="bandwidth")
    _, act_bits = layer_bits(layer, accel)
    m = layer.ofmap_pixels
    mapping = map_layer(layer, array)
    slices = array.input_slices(act_bits)
    per_vector = vector_cycles(mapping, accel, act_bits)
    total_cycles = mapping.passes * math.ceil(m / mapping.replication) * per_vector
    g, k, n = mapping.groups, mapping.k, mapping.n
    width = n * array.devices_per_weight
    macs = layer.macs
    peak_vectors = total_cycles / per_vector  # vector slots the run had
    return {
        "name": layer.name,
        "kind": layer.kind.value,
        "array_kind": array.kind,
        "dataflow": array.dataflow.value,
        "total_cycles": total_cycles,
        "stall_cycles": 0,
        "compute_util": 100.0 * macs / (peak_vectors * array.num_pes),
        "mapping_eff": 100.0 * mapping.utilisation,
        "overall_util": 100.0 * macs / (max(total_cycles, 1) * array.num_pes),
        "macs": macs,
        "ifmap_sram_reads": mapping.passes * m * g * k,
        "filter_sram_reads": g * k * n,
        "ofmap_sram_writes": mapping.passes * m * g * n,
        "ofmap_sram_reads": (mapping.passes - 1) * m * g * n,
        "dram_ifmap_reads": layer.ifmap_h * layer.ifmap_w * layer.channels,
        "dram_filter_reads": g * k * n,
        "dram_ofmap_writes": m * g * n,
        "row_folds": mapping.row_tiles,
        "col_folds": mapping.col_tiles,
        "tiles_used": mapping.tiles_used,
        "tile_util": mapping.utilisation,
        "tile_replication": mapping.replication,
        "tile_passes": mapping.passes,
        "input_slices": slices,
        "adc_conversions": m * slices * mapping.row_tiles * g * width,
        "dac_conversions": m * slices * g * k * mapping.col_tiles,
        "device_reads": m * slices * g * k * width,
    }


def analog_energy(row: dict, accel: Accelerator) -> tuple[float, dict[str, float]]:
    """Energy of an analog report row in pJ, and its breakdown (sums to it exactly)."""
    array = accel.array
    _, digital = layer_energy(row, accel)  # the SRAM and DRAM terms are the same as digital
    breakdown = {
        "dac": row["dac_conversions"] * array.dac_energy_pj,
        "array": row["device_reads"] * array.device_read_pj,
        "adc": row["adc_conversions"] * array.adc_conversion_pj,
        "digital": row["adc_conversions"] * array.digital_pj_per_accumulation,
        "buffers": digital["sram_ifmap"] + digital["sram_filter"] + digital["sram_ofmap"]
        + digital["leakage_sram"],
        "dram": digital["dram_ifmap"] + digital["dram_filter"] + digital["dram_ofmap"],
    }
    breakdown = {key: float(breakdown[key]) for key in ANALOG_BREAKDOWN_KEYS}
    return sum(breakdown.values()), breakdown


def analog_area_mm2(accel: Accelerator) -> float:
    """Tiles (devices, ADCs, DACs), SRAM buffers and the energy table's fixed part."""
    tiles = accel.array.tiles * accel.array.tile_area_um2() * 1e-6
    return tiles + buffer_area_mm2(accel) + accel.energy.fixed_area_mm2


def _integer(text: str) -> int:
    """An integer; its range is the analog tile's to check (one error naming the option).
    Here only what no analog integer may exceed (``MAX_ARRAY_DIM``, the largest of their
    ceilings, docs/limits.md) is refused, before a huge number reaches anything else."""
    from hwloop.arch import MAX_ARRAY_DIM

    shown = text if len(text) <= 24 else f"{text[:20]}..."
    try:
        value = int(text)
    except ValueError:  # also a number of more digits than int() converts
        raise argparse.ArgumentTypeError(f"must be an integer, got {shown!r}") from None
    if value > MAX_ARRAY_DIM:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_ARRAY_DIM:,} "
                                         f"(docs/limits.md), got {shown!r}")
    return value


class AnalogModel(ArrayModel):
    """Analog in-memory-compute tiles: crossbar mapping, ADC-bound cycles."""

    kind = "analog"
    columns: ClassVar[dict[str, str]] = {
        # row/col_folds are the row/column tiles on analog rows
        "tiles_used": "analog tiles busy at once (copies x tiles per copy, at most the chip's)",
        "tile_util": "fraction of the needed tiles' devices that hold weights",
        "tile_replication": "copies of the layer's tiles working on different input vectors",
        "tile_passes": "rounds time-sharing the chip when the layer needs more tiles than it has",
        "input_slices": "DAC slices per input: ceil(act_bits / dac_bits)",
        "adc_conversions": "ADC conversions (one per used device column, slice and pixel)",
        "dac_conversions": "DAC conversions (one per driven row, slice and pixel)",
        "device_reads": "device reads (one per weight device, slice and pixel)",
    }
    breakdown_keys = ANALOG_BREAKDOWN_KEYS
    options: ClassVar[dict[str, str]] = {
        "tiles": "--tiles", "dac_bits": "--dac-bits", "adc_bits": "--adc-bits",
        "columns_per_adc": "--columns-per-adc", "device": "--analog-device"}
    other_kind_error = ("applies to analog tiles only; add --array-kind analog or use an "
                        "analog --preset (pcm_chip, rram_chip)")

    def simulate_layer(self, layer: Layer, accel: Accelerator, *, scalesim_compat: bool,
                       recorder=None) -> dict:
        return simulate_analog_layer(layer, accel, scalesim_compat=scalesim_compat,
                                     recorder=recorder)

    def check(self, accel: Accelerator) -> None:
        """Analog tiles hold their weights; the buffers need no array line."""

    def energy(self, row: dict, accel: Accelerator) -> tuple[float, dict[str, float]]:
        return analog_energy(row, accel)

    def area_mm2(self, accel: Accelerator) -> float:
        return analog_area_mm2(accel)

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--tiles", type=_integer, metavar="N",
                            help="analog: crossbar tiles on the chip")
        parser.add_argument("--dac-bits", type=_integer, metavar="B",
                            help="analog: input DAC resolution (default 7)")
        parser.add_argument("--adc-bits", type=_integer, metavar="B",
                            help="analog: output ADC resolution (default 9)")
        parser.add_argument("--columns-per-adc", type=_integer, metavar="N",
                            help="analog: device columns one ADC converts in turn (default 8)")
        parser.add_argument("--analog-device", metavar="NAME",
                            help="analog: device preset, pcm or rram")

    def describe(self, array: dict, clock_ghz: float) -> str:
        """`` analog tiles x64 (pcm, DAC 7 b, ADC 9 b, ...)``."""
        cycles = array["adc_conversion_ns"] * clock_ghz
        return (f" analog tiles x{array['tiles']} ({array['device']}, "
                f"{array['devices_per_weight']} devices/weight, DAC {array['dac_bits']} b, ADC "
                f"{array['adc_bits']} b per {array['columns_per_adc']} columns, "
                f"{array['adc_conversion_ns']:g} ns/conversion = {cycles:g} cycles at "
                f"{clock_ghz:g} GHz)")

    def list_label(self, array: AnalogArray) -> str:
        return f" analog x{array.tiles} tiles"

    def table_columns(self) -> tuple[list[str], list[str]]:
        return (["name", "total_cycles", "tiles_used", "tile_util", "tile_replication",
                 "tile_passes", "adc_conversions", "energy_pj"],
                ["adc_conversions", "total_cycles", "energy_pj"])

    def summary_lines(self, totals: dict) -> str:
        parts = ", ".join(f"{k} {v / 1e6:,.1f}" for k, v in totals["energy_breakdown"].items())
        return f"\nenergy breakdown (uJ): {parts}"
