"""Energy, area and energy-delay product from a report row's counters and an energy table.

The counters are the simulator's own (MACs, SRAM and DRAM words, cycles); the prices are
``accel.energy`` (``hwloop.arch.EnergyTable``). Per layer, the breakdown in pJ is:

* ``mac``: MACs x the table's MAC energy at the layer's weight/activation widths.
* ``rf_weight``, ``rf_act``, ``rf_psum``: every MAC reads its weight and activation
  registers and reads and writes its partial sum (``w + a`` bits). A moving operand's
  register is also written every MAC; the stationary one (weights in WS, inputs in IS) only
  when loaded, once per word the array reads from SRAM.
* ``sram_ifmap``, ``sram_filter``, ``sram_ofmap``: the array's SRAM reads (ifmap, filter)
  and writes (ofmap), plus the DRAM side of each buffer: every word fetched from DRAM is
  written into its buffer, every ofmap word sent to DRAM is read out of it. Priced per bit
  at the buffer's own size; words are ``act_bits`` (ifmap, ofmap) or ``weight_bits`` wide.
* ``dram_ifmap``, ``dram_filter``, ``dram_ofmap``: bytes moved x 8 x pJ per bit (the row's
  ``dram_*_bytes`` where present, else words x bits / 8). Partial sums an explicit mapping
  reads back (``dram_ofmap_reads``) are DRAM reads of ``dram_ofmap`` and writes of its buffer.
* ``leakage_pe``, ``leakage_sram``: static power x the layer's time at the clock.

The breakdown sums to ``energy_pj`` exactly (same order of addition). ``edp`` is energy x
cycles (pJ x cycles), per layer and for the run. See ``docs/energy.md``.
"""
from __future__ import annotations

from hwloop.arch import Accelerator, Dataflow
from hwloop.sim.schedule import STATIONARY
from hwloop.traces import InputError

#: Components of ``energy_breakdown``, in order.
BREAKDOWN_KEYS = ("mac", "rf_weight", "rf_act", "rf_psum", "sram_ifmap", "sram_filter",
                  "sram_ofmap", "dram_ifmap", "dram_filter", "dram_ofmap", "leakage_pe",
                  "leakage_sram")
_OPERANDS = (("ifmap", "dram_ifmap_reads"), ("filter", "dram_filter_reads"),
             ("ofmap", "dram_ofmap_writes"))


def operand_bits(row: dict, accel: Accelerator) -> tuple[int, int]:
    """(weight bits, activation bits) of a row: its own, else the accelerator's."""
    return (row.get("weight_bits") or accel.operand_bits, row.get("act_bits") or accel.operand_bits)


def layer_energy(row: dict, accel: Accelerator) -> tuple[float, dict[str, float]]:
    """Energy of one report row in pJ, and its breakdown by component (sums to it)."""
    table = accel.energy
    w, a = operand_bits(row, accel)
    bits = {"ifmap": a, "filter": w, "ofmap": a}
    macs = row["macs"]
    stationary = STATIONARY[Dataflow(row.get("dataflow") or accel.array.dataflow)]
    weight_writes = row["filter_sram_reads"] if stationary == "filter" else macs
    act_writes = row["ifmap_sram_reads"] if stationary == "ifmap" else macs
    breakdown = {
        "mac": macs * table.mac_pj(w, a),
        "rf_weight": (macs + weight_writes) * w * table.rf_weight_pj_per_bit,
        "rf_act": (macs + act_writes) * a * table.rf_act_pj_per_bit,
        "rf_psum": 2 * macs * (w + a) * table.rf_psum_pj_per_bit,
    }
    breakdown.update(memory_energy(row, accel, bits))
    breakdown.update(leakage_energy(row, accel))
    breakdown = {key: float(breakdown[key]) for key in BREAKDOWN_KEYS}
    return sum(breakdown.values()), breakdown


def memory_energy(row: dict, accel: Accelerator, bits: dict[str, int]) -> dict[str, float]:
    """The buffers' and DRAM's share of a row (``sram_*``, ``dram_*``; ``bits`` per operand)."""
    table, sram = accel.energy, accel.sram
    breakdown: dict[str, float] = {}
    # (words read, words written) per buffer: the array's side plus the DRAM side
    traffic = {"ifmap": (row["ifmap_sram_reads"], row["dram_ifmap_reads"]),
               "filter": (row["filter_sram_reads"], row["dram_filter_reads"]),
               "ofmap": (row["dram_ofmap_writes"] + row.get("ofmap_sram_reads", 0),
                         row["ofmap_sram_writes"] + (row.get("dram_ofmap_reads") or 0))}
    for operand, (reads, writes) in traffic.items():
        kib = getattr(sram, f"{operand}_kb")
        breakdown[f"sram_{operand}"] = bits[operand] * (
            reads * table.sram_pj_per_bit(kib) + writes * table.sram_pj_per_bit(kib, write=True))
    for operand, words_key in _OPERANDS:
        moved = row.get(f"dram_{operand}_bytes")
        dram_bits = 8 * moved if moved is not None else row[words_key] * bits[operand]
        per_bit = table.dram_write_pj_per_bit if operand == "ofmap" else table.dram_read_pj_per_bit
        breakdown[f"dram_{operand}"] = dram_bits * per_bit
    # partial sums an explicit mapping reads back travel the ofmap's DRAM side too
    breakdown["dram_ofmap"] += ((row.get("dram_ofmap_reads") or 0) * bits["ofmap"]
                                * table.dram_read_pj_per_bit)
    return breakdown


def leakage_energy(row: dict, accel: Accelerator) -> dict[str, float]:
    """Static power of the PEs and buffers over the row's time (``leakage_*``), of every
    core of a chip."""
    table, sram = accel.energy, accel.sram
    # static power (uW) x time (s) = uJ; x 1e6 = pJ
    seconds = accel.chip.cores * row["total_cycles"] / (accel.clock_ghz * 1e9)
    buffer_kib = sram.ifmap_kb + sram.filter_kb + sram.ofmap_kb
    return {"leakage_pe": table.pe_leakage_uw * accel.array.num_pes * seconds * 1e6,
            "leakage_sram": table.sram_leakage_uw_per_kib * buffer_kib * seconds * 1e6}


def pe_bit_products(accel: Accelerator) -> float:
    """Partial-product bits one PE computes per cycle at its widest operands (8x8 MAC: 64).

    The widest operands are the array's ``max_bits`` where it has one (bit-serial PEs), else
    the accelerator's ``operand_bits``; the PE model (``macs_per_pe_cycle``) gives the rest.
    """
    array = accel.array
    bits = getattr(array, "max_bits", None) or accel.operand_bits
    per_cycle = getattr(array, "macs_per_pe_cycle", None)
    if per_cycle is None:
        return float(bits * bits)
    try:
        return float(per_cycle(bits, bits)) * bits * bits
    except InputError:  # the PE cannot run these widths: price it as an 8x8 MAC
        return 64.0


def digital_area_mm2(accel: Accelerator) -> float:
    """Silicon area: PEs (sized by their bit products per cycle), SRAM buffers, fixed part."""
    pes = accel.array.num_pes * accel.energy.pe_area_um2(pe_bit_products(accel)) * 1e-6
    return pes + buffer_area_mm2(accel) + accel.energy.fixed_area_mm2


def buffer_area_mm2(accel: Accelerator) -> float:
    """The SRAM buffers' area."""
    sram = accel.sram
    return (sram.ifmap_kb + sram.filter_kb + sram.ofmap_kb) * accel.energy.sram_area_mm2_per_kib
