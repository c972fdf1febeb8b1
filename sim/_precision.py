"""Precision-scalable arrays on the systolic schedule, and what every layer's widths imply.

A PE that does ``k`` MACs per cycle (Bit Fusion's fused bricks, 2-in-1's lanes) sums ``k``
products of the reduction per cycle: in OS the reduction is the temporal loop, so each fold
takes ``ceil(T / k)`` instead of ``T`` streaming cycles (same words, same order, same SRAM
and DRAM counts); in WS and IS it runs down the rows, so the array acts as a systolic array
of ``rows * k`` rows, simulated as such. A PE that takes ``s`` cycles per MAC (bit-serial,
2-in-1's temporal units) stretches every cycle of that schedule by ``s``. At ``k = s = 1``
both are the systolic engine itself. Narrower operands are packed: a buffer of ``KB`` KiB
holds ``KB * 1024 * 8 / bits`` words, and DRAM moves ``words * bits / 8`` bytes.
"""
from __future__ import annotations

import math
from dataclasses import replace

from hwloop.arch import (Accelerator, BitFusionArray, BitSerialArray, Dataflow, SystolicArray,
                         TwoInOneArray)
from hwloop.traces import InputError, Layer

from ._systolic import fold_plan, simulate_systolic_layer


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
    for operand, key, bits in (("ifmap", "dram_ifmap_reads", a), ("filter", "dram_filter_reads", w),
                               ("ofmap", "dram_ofmap_writes", a)):
        row[f"dram_{operand}_bytes"] = math.ceil(row[key] * bits / 8)
    return row


def simulate_precision_layer(layer: Layer, accel: Accelerator, *, scalesim_compat: bool,
                             recorder=None) -> dict:
    """One layer on a Bit Fusion, bit-serial or 2-in-1 array (see the module docstring)."""
    array = accel.array
    w, a = layer_bits(layer, accel)
    if scalesim_compat:
        raise InputError("SCALE-Sim has no precision-scalable arrays; drop --scalesim-compat",
                         field="array_kind")
    if recorder is not None:
        raise InputError("traces are recorded for systolic arrays only", field="array_kind")
    if isinstance(array, BitFusionArray):
        k, s = int(array.macs_per_pe_cycle(w, a)), 1
    elif isinstance(array, TwoInOneArray):
        k, s = array.spatial_macs(w), array.serial_cycles(a)
    elif isinstance(array, BitSerialArray):
        k, s = 1, array.serial_cycles(w, a)
    else:  # pragma: no cover - the registry only sends these kinds here
        raise InputError(f"not a precision-scalable array: {type(array).__name__}", field="array")
    plain = replace(packed(accel, w, a), array=SystolicArray(rows=array.rows, cols=array.cols,
                                                             dataflow=array.dataflow))
    kr = getattr(array, "fusion_rows", None) or k
    if k % kr:
        raise InputError(f"{kr} does not divide the {k} MACs a PE fuses at {w}x{a} bits",
                         field="fusion_rows")
    row = _reduction_parallel(layer, plain, kr, k // kr)
    if s > 1:
        if accel.dram.finite:
            raise InputError("finite DRAM bandwidth is not modelled for multi-cycle (serial) "
                             "PEs yet", field="array_kind")
        row["total_cycles"] *= s
    peak = array.num_pes * float(array.macs_per_pe_cycle(w, a))
    row["overall_util"] = 100.0 * row["macs"] / (max(row["total_cycles"], 1) * peak)
    row["array_kind"] = array.kind
    return row


def _reduction_parallel(layer: Layer, accel: Accelerator, kr: int, kc: int = 1) -> dict:
    """The systolic schedule with ``kr`` reduction products per PE per cycle and ``kc``
    times the columns (a fused PE's ``kr * kc`` MACs tiled two ways)."""
    array = accel.array
    rows = array.rows if array.dataflow is Dataflow.OS else array.rows * kr
    logical = replace(accel, array=SystolicArray(rows=rows, cols=array.cols * kc,
                                                 dataflow=array.dataflow))
    row = {"tiling": f"{kr}x{kc}"}
    if kr == 1 or array.dataflow is not Dataflow.OS:  # the reduction runs down the rows
        try:
            return {**simulate_systolic_layer(layer, logical), **row}
        except InputError as exc:
            raise InputError(f"{exc.reason} (a fused array of {rows}x{array.cols * kc} "
                             f"logical PEs)", field=exc.field) from None
    if accel.dram.finite:
        raise InputError("finite DRAM bandwidth is not modelled for fused OS arrays yet; "
                         "use WS or IS", field="array_kind")
    row.update(simulate_systolic_layer(layer, logical))  # same words, same order, kr at a time
    array = logical.array
    plan = fold_plan(layer, array.rows, array.cols, array.dataflow)
    per_fold = math.ceil(plan.temporal / kr) + array.rows + array.cols - 2
    row["total_cycles"] = layer.groups * (plan.folds * per_fold - 1)
    row["compute_util"] = 100.0 * plan.spatial_rows * plan.spatial_cols * plan.temporal / (
        array.num_pes * kr * per_fold * plan.folds)
    return row


def fusion_tilings(layer: Layer, accel: Accelerator) -> list[int | None]:
    """The ``fusion_rows`` values worth trying for ``layer`` (divisors of its fused MACs)."""
    array = accel.array
    if not hasattr(array, "fusion_rows"):
        return [None]
    w, a = layer_bits(layer, accel)
    k = int(array.macs_per_pe_cycle(w, a)) if isinstance(array, BitFusionArray) \
        else array.spatial_macs(w)
    return [d for d in range(1, k + 1) if k % d == 0]
