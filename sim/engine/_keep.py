"""Activations kept on chip (``Sram.keep_activations``): an output that fits stays in SRAM
for its consumers, so neither its DRAM write nor their DRAM reads of it happen.

The network's producer -> consumer graph (``Network.inputs``, over layers and vector
operators in model order) says who reads what. In model order, a node's output is kept if
its consumers exist and it fits in the ifmap buffer beside every kept output still waiting
for a consumer (the node's own inputs included: they are read while it runs); a kept
output is freed after its last consumer. A kept output takes its words off its producer's
``dram_ofmap_writes``; a layer whose inputs are all kept reads nothing from DRAM, and a
vector operator stops reading each kept operand. Cycles do not change (the DRAM is
unlimited here); DRAM bytes and energy follow the counters. ``tests/sim/test_keep.py`` holds
it to a count by hand and ``docs/vector-unit.md`` states the rule.
"""
from __future__ import annotations

from hwloop.arch import Accelerator
from hwloop.sim.arrays import add_dram_bytes, add_energy
from hwloop.sim.vector import price_vector_row
from hwloop.traces import InputError, Layer, Network


def check_keepable(network: Network, accel: Accelerator, *, traced: bool,
                   explicit: bool, scalesim_compat: bool) -> None:
    """Refuse, in one line, what keeping activations is not modelled for."""
    if network.inputs is None:
        raise InputError("keeping activations on chip needs the network's producer->consumer "
                         "graph; topology files, built-in networks, ONNX models and torch "
                         "models traced by torch.fx have one, torch models run with hooks not "
                         "yet", field="keep_activations")
    if accel.dram.finite or traced or explicit or scalesim_compat:
        raise InputError("keeping activations on chip is modelled with unlimited DRAM, "
                         "SCALE-Sim's schedule and no trace only", field="keep_activations")


def kept_outputs(network: Network, out_words: list[int], capacity: int) -> set[int]:
    """The nodes whose outputs stay on chip (see the module's docstring)."""
    graph = network.inputs
    assert graph is not None
    last = {i: j for j, reads in enumerate(graph) for i in reads}  # each output's last reader
    kept: set[int] = set()
    live = 0
    for j, reads in enumerate(graph):
        if j in last and live + out_words[j] <= capacity:
            kept.add(j)
            live += out_words[j]
        for i in set(reads):
            if i in kept and last[i] == j:
                live -= out_words[i]
    return kept


def keep_on_chip(network: Network, records: list[dict], accel: Accelerator) -> list[dict]:
    """``records`` (one per node of ``network.in_order()``) with kept outputs' DRAM traffic
    taken off, each changed row copied and re-priced."""
    items = list(network.in_order())
    out_words = [item.ofmap_pixels * item.num_filters * item.groups if isinstance(item, Layer)
                 else item.output_words for item in items]
    kept = kept_outputs(network, out_words, accel.sram.words("ifmap"))
    rows = list(records)
    graph = network.inputs
    assert graph is not None
    for j, (item, reads) in enumerate(zip(items, graph)):
        keep_own = j in kept
        fed = [i for i in reads if i in kept]
        if not keep_own and not fed:
            continue
        row = dict(rows[j])
        if keep_own:
            row["dram_ofmap_writes"] = max(0, row["dram_ofmap_writes"] - out_words[j])
        if isinstance(item, Layer):
            if fed and set(fed) == set(reads):
                row["dram_ifmap_reads"] = 0
        elif fed:
            per_operand = row["dram_ifmap_reads"] // item.operands
            row["dram_ifmap_reads"] = max(0, row["dram_ifmap_reads"] - per_operand * len(fed))
        rows[j] = _repriced(row, accel)
    return rows


def _repriced(row: dict, accel: Accelerator) -> dict:
    """DRAM bytes and energy of a row whose DRAM words changed."""
    if row.get("array_kind") == "vector":
        return price_vector_row(row, accel)
    return add_energy(add_dram_bytes(row, row["weight_bits"], row["act_bits"]), accel)
