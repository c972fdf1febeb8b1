"""One operator without MACs on the vector unit: its cycles, traffic and energy.

The unit streams: it reads the operator's inputs (and a norm's parameters) from the SRAM,
runs ``ops`` operations on ``lanes x ops_per_lane`` ALUs, and writes the outputs back, each
port ``port_words`` words per cycle. Busy time is the larger of the compute and the port
time. As in SCALE-Sim's layer-by-layer model, every operator reads its inputs from DRAM and
writes its output there (the ifmap, filter and ofmap buffers hold inputs, parameters and
outputs); with finite DRAM the transfer time past the busy time is the row's stall. The
unit does not overlap the array: an operator starts when its producer has finished, so a
network's cycles are the sum of its rows. A chip of several cores has a vector unit per
core: an operator's elements split over them (their ALUs and SRAM ports add up; the DRAM is
the chip's). The plain-Python reference in
``tests/naive_vector.py`` counts the same by hand.
"""
from __future__ import annotations

import math
from fractions import Fraction

from hwloop.arch import Accelerator, get_dram_device
from hwloop.sim.arrays import add_dram_bytes, leakage_energy, memory_energy
from hwloop.traces import VectorOp

#: Components of a vector row's ``energy_breakdown``, in order.
VECTOR_BREAKDOWN_KEYS = ("vector", "sram_ifmap", "sram_filter", "sram_ofmap", "dram_ifmap",
                         "dram_filter", "dram_ofmap", "leakage_pe", "leakage_sram")


def vector_cycles(op: VectorOp, accel: Accelerator) -> tuple[int, int]:
    """(busy cycles, stall cycles) of ``op``: busy is compute or SRAM ports, whichever is
    longer; the stall is what the DRAM transfers take beyond it."""
    unit, units = accel.vector, accel.chip.cores
    compute = math.ceil(op.ops / (unit.ops_per_cycle * units))
    reads = op.input_words + op.parameter_words
    port_words = unit.port_words * units
    ports = max(math.ceil(reads / port_words), math.ceil(op.output_words / port_words))
    busy = max(compute, ports)
    return busy, max(0, _dram_cycles(op, accel) - busy)


def _dram_cycles(op: VectorOp, accel: Accelerator) -> int:
    """Cycles the DRAM needs for ``op``'s traffic: each port at its own bandwidth plus the
    latency; a DRAM device model at its peak rate for all of it. 0 for unlimited DRAM."""
    dram = accel.dram
    if not dram.finite:
        return 0
    if dram.model is not None:
        peak = get_dram_device(dram.model).peak_bytes_per_ns  # exact: a Fraction
        words_per_cycle = peak / Fraction(accel.clock_ghz) * 8 / accel.operand_bits
        moved = op.input_words + op.parameter_words + op.output_words
        return math.ceil(moved / words_per_cycle)
    per_port = zip((op.input_words, op.parameter_words, op.output_words), dram.port_bandwidths())
    transfer = max((math.ceil(words / bw) if bw else 0) for words, bw in per_port)
    return transfer + dram.latency_cycles


def simulate_vector_op(op: VectorOp, accel: Accelerator) -> dict:
    """``op``'s report row: ``kind`` is its operator, ``macs`` 0, ``vector_ops`` its
    operations; the SRAM and DRAM columns count inputs (ifmap), parameters (filter) and
    outputs (ofmap); energy is the operations, the buffers, DRAM and leakage."""
    busy, stall = vector_cycles(op, accel)
    bits = accel.operand_bits
    total = busy + stall
    row = {
        "name": op.name, "kind": op.kind.value, "array_kind": "vector", "dataflow": None,
        "mapping": None, "weight_bits": None, "act_bits": bits, "macs_per_pe_cycle": None,
        "total_cycles": total, "stall_cycles": stall,
        "compute_util": 0.0, "mapping_eff": 0.0, "overall_util": 0.0,
        "macs": 0, "vector_ops": op.ops,
        "vector_util": 100.0 * op.ops / (busy * accel.vector.ops_per_cycle * accel.chip.cores),
        "ifmap_sram_reads": op.input_words, "filter_sram_reads": op.parameter_words,
        "ofmap_sram_writes": op.output_words, "ofmap_sram_reads": 0,
        "dram_ifmap_reads": op.input_words, "dram_filter_reads": op.parameter_words,
        "dram_ofmap_writes": op.output_words, "dram_ofmap_reads": 0,
        "time_s": total / (accel.clock_ghz * 1e9),
    }
    return price_vector_row(row, accel)


def price_vector_row(row: dict, accel: Accelerator) -> dict:
    """``row`` with its DRAM bytes and energy (re)computed from its counters (kept
    activations change a row's DRAM words after it was simulated)."""
    bits = row["act_bits"]
    add_dram_bytes(row, bits, bits)  # parameters are stored at the activations' width
    breakdown = {"vector": row["vector_ops"] * accel.vector.energy_per_op_pj,
                 **memory_energy(row, accel, dict.fromkeys(("ifmap", "filter", "ofmap"), bits)),
                 **leakage_energy(row, accel)}
    breakdown = {key: float(breakdown[key]) for key in VECTOR_BREAKDOWN_KEYS}
    row["energy_pj"] = sum(breakdown.values())
    row["energy_breakdown"] = breakdown
    row["edp"] = row["energy_pj"] * row["total_cycles"]
    return row
