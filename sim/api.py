"""The pipeline, chained in one place: workload + accelerator -> per-layer model -> Report."""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from importlib import metadata
from typing import Any

from hwloop.arch import Accelerator
from hwloop.traces import InputError, Layer, Network

from ._energy import add_energy, energy_totals
from ._report import Report, run_totals
from ._models import model_for

logger = logging.getLogger(__name__)


def hwloop_version() -> str:
    try:
        return metadata.version("hwloop")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def simulate_layer(layer: Layer, accel: Accelerator, *, scalesim_compat: bool = False,
                   recorder=None) -> dict:
    """One layer's counters (a report row) on ``accel``."""
    from ._precision import add_width_columns

    row = model_for(accel).simulate_layer(layer, accel, scalesim_compat=scalesim_compat,
                                          recorder=recorder)
    add_width_columns(row, layer, accel)
    row["time_s"] = row["total_cycles"] / (accel.clock_ghz * 1e9)
    return add_energy(row, accel)  # energy step: prices the counters with accel.energy


def simulate(network: Network | Layer, accel: Accelerator, *, scalesim_compat: bool = False,
             source: dict | None = None, progress: bool = False,
             trace: str | os.PathLike[str] | None = None,
             choose_dataflow: str | None = None) -> Report:
    """Simulate every layer of ``network`` on ``accel`` and return a :class:`Report`.

    ``scalesim_compat`` reproduces SCALE-Sim v3's numbers, defects included. ``source``
    records where the workload came from (file or built-in name) in the report's config.
    ``trace`` records every layer's SRAM and DRAM access trace into that HDF5 file (written
    whole or not at all). ``choose_dataflow`` (``"latency"`` or ``"energy"``) runs each
    layer under OS, WS and IS (and, on fused arrays, every tiling of a PE's MACs between
    rows and columns) and keeps the best; the ``dataflow`` and ``tiling`` columns say which.
    """
    if isinstance(network, Layer):
        network = Network(name=network.name, layers=(network,))
    model_for(accel).check(accel)  # an accelerator error is not any layer's fault
    layers = network.layers
    if progress:
        from tqdm import tqdm

        layers = tqdm(layers, desc=network.name, unit="layer", leave=False)
    config = {
        "hwloop_version": hwloop_version(),
        "accelerator": accel.to_dict(),
        "workload": {"network": network.name, **(source or {})},
        "scalesim_compat": scalesim_compat,
    }
    if choose_dataflow is not None:
        config["choose_dataflow"] = choose_dataflow
    if trace is not None:
        if choose_dataflow is not None:
            raise InputError("a trace records one dataflow; drop the dataflow search",
                             field="--trace")
        records = _simulate_traced(network, layers, accel, scalesim_compat, config, trace)
        return _report(records, config, accel)
    return _report(_records(network, layers, accel, scalesim_compat, choose_dataflow), config,
                   accel)


def simulate_totals(network: Network | Layer, accel: Accelerator, *,
                    scalesim_compat: bool = False,
                    choose_dataflow: str | None = None) -> dict[str, Any]:
    """``simulate(network, accel, ...).totals`` without the per-layer table: the search
    oracle's call, where building a DataFrame per design point would cost more than
    simulating it."""
    if isinstance(network, Layer):
        network = Network(name=network.name, layers=(network,))
    model_for(accel).check(accel)
    records = _records(network, network.layers, accel, scalesim_compat, choose_dataflow,
                       named=False)
    return run_totals(records, accel.array.num_pes, energy_totals(records, accel))


def _records(network: Network, layers, accel: Accelerator, scalesim_compat: bool,
             choose_dataflow: str | None, named: bool = True) -> list[dict]:
    """One report row per layer; identical shapes (ResNet blocks, attention heads) run once.
    Unless ``named``, a shape's row stands for each of its layers (the same dict, for totals)."""
    records = []
    done: dict[Layer, dict] = {}
    for index, (layer, shape) in enumerate(zip(layers, _shapes(network))):
        if shape not in done:
            try:
                if choose_dataflow is None:
                    done[shape] = simulate_layer(layer, accel, scalesim_compat=scalesim_compat)
                else:
                    done[shape] = _best_dataflow(layer, accel, scalesim_compat, choose_dataflow)
            except InputError as exc:
                raise network.locate(exc, index) from None
        records.append({**done[shape], "name": layer.name} if named else done[shape])
    return records


_SHAPES: dict[int, tuple[Network, tuple[Layer, ...]]] = {}


def _shapes(network: Network) -> tuple[Layer, ...]:
    """Each layer without its name: equal shapes simulate alike (worked out once per network;
    found by identity: hashing a network hashes every layer, a few microseconds per call)."""
    found = _SHAPES.get(id(network))
    if found is not None and found[0] is network:  # held here, so its id is not reused
        return found[1]
    shapes = tuple(replace(layer, name="") for layer in network.layers)
    if len(_SHAPES) >= 256:
        _SHAPES.clear()
    _SHAPES[id(network)] = (network, shapes)
    return shapes


def _report(records: list[dict], config: dict, accel: Accelerator) -> Report:
    """Reduce step: rows to a Report, with run energy, EDP and area in its totals."""
    return Report.from_records(records, config, accel.array.num_pes,
                               extra_totals=energy_totals(records, accel))


def _best_dataflow(layer: Layer, accel: Accelerator, scalesim_compat: bool, goal: str) -> dict:
    """The layer under each dataflow the accelerator can run it in, best by ``goal``."""
    key = {"latency": "total_cycles", "energy": "energy_pj"}.get(goal)
    if key is None:
        raise InputError(f"optimise 'latency' or 'energy', not {goal!r}", field="--optimize")
    from ._precision import fusion_tilings

    rows, errors = [], []
    for dataflow in ("os", "ws", "is"):
        try:
            tilings = fusion_tilings(layer, accel)
        except InputError as exc:
            raise exc from None  # a width the array cannot run at all
        for fusion_rows in tilings:
            candidate = accel.with_overrides(dataflow=dataflow)
            if fusion_rows is not None:
                candidate = replace(candidate, array=replace(candidate.array,
                                                             fusion_rows=fusion_rows))
            try:
                rows.append(simulate_layer(layer, candidate, scalesim_compat=scalesim_compat))
            except InputError as exc:
                errors.append(exc)
    if not rows:
        raise errors[0]
    if key not in rows[0]:
        raise InputError("this accelerator reports no energy to optimise", field="--optimize")
    return min(rows, key=lambda row: (row[key], row["total_cycles"]))


def _simulate_traced(network: Network, layers, accel: Accelerator, scalesim_compat: bool,
                     config: dict, path) -> list[dict]:
    """Simulate layer by layer, recording each layer's trace into one HDF5 file."""
    from hwloop.traces import TraceWriter

    from ._trace_record import TRACE_UNITS, LayerRecorder, layer_to_attrs

    records = []
    done: dict[Layer, tuple] = {}  # an identical shape's trace is stored once and linked
    with TraceWriter(path, attrs={"architecture": accel.to_dict(), "config": config,
                                  "units": TRACE_UNITS}) as writer:
        for index, layer in enumerate(layers):
            out = writer.add_layer(index, layer.name, attrs={"layer": layer_to_attrs(layer),
                                                             "groups": layer.groups})
            shape = replace(layer, name="")
            if shape in done:
                first, row = done[shape]
                out.link_datasets(first)
                row = {**row, "name": layer.name}
            else:
                try:
                    row = simulate_layer(layer, accel, scalesim_compat=scalesim_compat,
                                         recorder=LayerRecorder(out))
                except InputError as exc:
                    raise network.locate(exc, index) from None
                done[shape] = (out, row)
            out.set_attrs({"report": row})
            records.append(row)
    return records
