"""Operand widths: what every layer's weight and activation bits imply for any array kind.

Narrower operands are packed: a buffer of ``KB`` KiB holds ``KB * 1024 * 8 / bits`` words, and
DRAM moves ``words * bits / 8`` bytes.
"""
from __future__ import annotations

import math
from dataclasses import replace

from hwloop.arch import Accelerator
from hwloop.traces import Layer


def layer_bits(layer: Layer, accel: Accelerator) -> tuple[int, int]:
    """(weight bits, activation bits): the layer's own, else the accelerator's operand bits."""
    return (layer.weight_bits or accel.operand_bits, layer.act_bits or accel.operand_bits)


def packed(accel: Accelerator, weight_bits: int, act_bits: int) -> Accelerator:
    """``accel`` with its buffers holding operands of these widths."""
    sram = accel.sram
    natural = 8 * sram.word_bytes
    if weight_bits == act_bits == natural:
        return accel
    return replace(accel, sram=replace(sram, ifmap_word_bits=act_bits,
                                       filter_word_bits=weight_bits, ofmap_word_bits=act_bits))


def add_width_columns(row: dict, layer: Layer, accel: Accelerator) -> dict:
    """Bits, packed DRAM bytes, array kind and peak MACs per PE cycle of a report row."""
    w, a = layer_bits(layer, accel)
    row.setdefault("array_kind", accel.array.kind)
    row.setdefault("dataflow", accel.array.dataflow.value)
    row["weight_bits"], row["act_bits"] = w, a
    row["macs_per_pe_cycle"] = float(accel.array.macs_per_pe_cycle(w, a))
    return add_dram_bytes(row, w, a)


def add_dram_bytes(row: dict, weight_bits: int, act_bits: int) -> dict:
    """``row`` with ``dram_*_bytes``: its DRAM words packed at these widths (a compressed
    filter's metadata, ``filter_metadata_bits``, with its values)."""
    extra = {"filter": row.get("filter_metadata_bits") or 0}
    for operand, key, bits in (("ifmap", "dram_ifmap_reads", act_bits),
                               ("filter", "dram_filter_reads", weight_bits),
                               ("ofmap", "dram_ofmap_writes", act_bits)):
        row[f"dram_{operand}_bytes"] = math.ceil((row[key] * bits + extra.get(operand, 0)) / 8)
    return row
