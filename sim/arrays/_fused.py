"""Precision-scalable arrays on the systolic schedule (Bit Fusion, bit-serial, 2-in-1).

A PE that does ``k`` MACs per cycle (Bit Fusion's fused bricks, 2-in-1's lanes) sums ``k``
products of the reduction per cycle: in OS the reduction is the temporal loop, so each fold
takes ``ceil(T / k)`` instead of ``T`` streaming cycles (same words, same order, same SRAM
and DRAM counts); in WS and IS it runs down the rows, so the array acts as a systolic array
of ``rows * k`` rows, simulated as such. A PE that takes ``s`` cycles per MAC (bit-serial,
2-in-1's temporal units) stretches every cycle of that schedule by ``s``. At ``k = s = 1``
both are the systolic engine itself. Each kind's module says what ``k`` and ``s`` are.
"""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import replace

from hwloop.arch import Accelerator, Dataflow, SystolicArray
from hwloop.sim.schedule import array_schedule
from hwloop.traces import InputError, Layer

from ._base import ArrayModel
from ._systolic import simulate_systolic_layer
from ._widths import layer_bits, packed


class PrecisionScalableModel(ArrayModel):
    """The systolic schedule with ``k`` MACs per PE cycle and ``s`` cycles per MAC."""

    @abstractmethod
    def pe_rates(self, array, weight_bits: int, act_bits: int) -> tuple[int, int]:
        """(MACs a PE fuses per cycle ``k``, cycles per MAC ``s``) at these widths."""

    def fused_macs(self, array, weight_bits: int, act_bits: int) -> int:
        """MACs a PE fuses that ``fusion_rows`` may tile (1: nothing to tile)."""
        return 1

    def simulate_layer(self, layer: Layer, accel: Accelerator, *, scalesim_compat: bool,
                       recorder=None) -> dict:
        array = accel.array
        w, a = layer_bits(layer, accel)
        if scalesim_compat:
            raise InputError("SCALE-Sim has no precision-scalable arrays; drop --scalesim-compat",
                             field="array_kind")
        if recorder is not None:
            raise InputError("traces are recorded for systolic arrays only", field="array_kind")
        k, s = self.pe_rates(array, w, a)
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

    def variants(self, layer: Layer, accel: Accelerator) -> Iterator[Accelerator]:
        """Each dataflow, and each tiling of a PE's fused MACs between rows and columns."""
        tilings: list[int | None] = [None]
        if hasattr(accel.array, "fusion_rows"):
            fused = self.fused_macs(accel.array, *layer_bits(layer, accel))
            tilings = [d for d in range(1, fused + 1) if fused % d == 0]
        for dataflow in ("os", "ws", "is"):
            candidate = accel.with_overrides(dataflow=dataflow)
            for fusion_rows in tilings:
                if fusion_rows is None:
                    yield candidate
                else:
                    yield replace(candidate, array=replace(candidate.array,
                                                           fusion_rows=fusion_rows))


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
    sched = array_schedule(layer, logical.array)
    per_fold = sched.fused_fold_rows(kr)
    row["total_cycles"] = layer.groups * (sched.folds * per_fold - 1)
    row["compute_util"] = 100.0 * sched.spatial_rows * sched.spatial_cols * sched.temporal / (
        logical.array.num_pes * kr * per_fold * sched.folds)
    return row
