"""The pipeline, chained in one place: workload + accelerator -> per-layer model -> Report."""
from __future__ import annotations

import functools
import logging
import os
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import replace
from importlib import metadata
from typing import Any

from hwloop.arch import Accelerator, Mapping, MappingFile
from hwloop.sim.arrays import energy_totals, model_for
from hwloop.sim.report import Report, run_totals
from hwloop.sim.vector import simulate_vector_op
from hwloop.traces import InputError, Layer, Network, VectorOp

from ._best import best_dataflow
from ._keep import check_keepable, keep_on_chip
from ._layer import simulate_layer
from ._mapped import MappingPlan, check_mappable, mapping_plan
from ._traced import simulate_traced

logger = logging.getLogger(__name__)


def hwloop_version() -> str:
    try:
        return metadata.version("hwloop")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def simulate(network: Network | Layer, accel: Accelerator, *, scalesim_compat: bool = False,
             source: dict | None = None, progress: bool = False,
             trace: str | os.PathLike[str] | None = None,
             choose_dataflow: str | None = None,
             mapping: str | os.PathLike[str] | MappingFile | Mapping | None = None,
             optimize: str | None = None) -> Report:
    """Simulate every layer of ``network`` on ``accel`` and return a :class:`Report`.

    ``scalesim_compat`` reproduces SCALE-Sim v3's numbers, defects included. ``source``
    records where the workload came from (file or built-in name) in the report's config.
    ``trace`` records every layer's SRAM and DRAM access trace into that HDF5 file (written
    whole or not at all). ``choose_dataflow`` (``"latency"`` or ``"energy"``) runs each
    layer under OS, WS and IS (and, on fused arrays, every tiling of a PE's MACs between
    rows and columns) and keeps the best; the ``dataflow`` and ``tiling`` columns say which.
    ``mapping`` runs explicit mappings instead of SCALE-Sim's implicit schedule: a mapping
    file (path or :class:`hwloop.arch.MappingFile`), one :class:`hwloop.arch.Mapping` for
    every layer, or ``"auto"``: the mapper's best per layer for ``optimize`` (``latency``,
    ``energy`` or ``edp``). See ``docs/mappings.md``.
    """
    if isinstance(network, Layer):
        network = Network(name=network.name, layers=(network,))
    model_for(accel).check(accel)  # an accelerator error is not any layer's fault
    plan = _plan(network, accel, mapping, optimize, scalesim_compat, choose_dataflow)
    if accel.sram.keep_activations:
        check_keepable(network, accel, traced=trace is not None, explicit=plan is not None,
                       scalesim_compat=scalesim_compat)
    layers: Iterable[Layer] = network.layers
    if progress:
        layers = _progress(network.layers, network.name)
    config = {
        "hwloop_version": hwloop_version(),
        "accelerator": accel.to_dict(),
        "workload": {"network": network.name, **(source or {})},
        "scalesim_compat": scalesim_compat,
    }
    if choose_dataflow is not None:
        config["choose_dataflow"] = choose_dataflow
    if plan is not None:
        config["mapping"] = plan.describe()
    if trace is not None:
        if plan is not None:
            raise InputError("a trace records SCALE-Sim's schedule; drop --mapping",
                             field="--trace")
        if choose_dataflow is not None:
            raise InputError("a trace records one dataflow; drop the dataflow search",
                             field="--trace")
        records = simulate_traced(network, layers, accel, scalesim_compat, config, trace)
        return _report(with_vector_rows(network, records, accel), config, accel)
    return _report(network_rows(network, layers, accel, scalesim_compat, choose_dataflow,
                                plan=plan), config, accel)


def _plan(network: Network, accel: Accelerator, mapping, optimize: str | None,
          scalesim_compat: bool, choose_dataflow: str | None) -> MappingPlan | None:
    """The run's explicit mappings, checked against the rest of the run before any layer
    runs (so that no layer is blamed)."""
    plan = mapping_plan(mapping, optimize)
    if plan is None:
        if optimize is not None:
            raise InputError("the mapper's objective needs --mapping auto", field="--optimize")
        return None
    if scalesim_compat:
        raise InputError("SCALE-Sim has one implicit mapping; drop --scalesim-compat",
                         field="--mapping")
    if choose_dataflow is not None:
        raise InputError("a mapping sets each layer's dataflow; drop --dataflow auto",
                         field="--mapping")
    check_mappable(accel)
    if accel.chip.cores > 1:
        raise InputError("explicit mappings on a chip of several cores are not modelled yet; "
                         "drop --mapping or use --cores 1", field="--mapping")
    if accel.sparsity.enabled and any(layer.sparsity for layer in network.layers):
        raise InputError("explicit mappings of N:M sparse layers are not modelled yet; drop "
                         "--mapping or --sparse", field="--mapping")
    plan.check(network)
    return plan


def _progress(layers: Sequence[Layer], name: str) -> Iterator[Layer]:
    """``layers`` with a progress bar from the second layer on: the first pays for any
    kernel compile (~20 s on a cold Numba cache), which would otherwise set the bar's
    seconds-per-layer estimate; the bar then starts at one layer done."""
    if not layers:
        return
    yield layers[0]
    from tqdm import tqdm

    with tqdm(layers[1:], desc=name, unit="layer", leave=False, total=len(layers),
              initial=1) as bar:
        yield from bar


def simulate_totals(network: Network | Layer, accel: Accelerator, *,
                    scalesim_compat: bool = False,
                    choose_dataflow: str | None = None,
                    mapping: str | os.PathLike[str] | MappingFile | Mapping | None = None,
                    optimize: str | None = None) -> dict[str, Any]:
    """``simulate(network, accel, ...).totals`` without the per-layer table: the search
    oracle's call, where building a DataFrame per design point would cost more than
    simulating it."""
    if isinstance(network, Layer):
        network = Network(name=network.name, layers=(network,))
    model_for(accel).check(accel)
    plan = _plan(network, accel, mapping, optimize, scalesim_compat, choose_dataflow)
    if accel.sram.keep_activations:
        check_keepable(network, accel, traced=False, explicit=plan is not None,
                       scalesim_compat=scalesim_compat)
    records = network_rows(network, network.layers, accel, scalesim_compat, choose_dataflow,
                           named=False, plan=plan)
    return run_totals(records, accel.pes, energy_totals(records, accel))


def network_rows(network: Network, layers, accel: Accelerator, scalesim_compat: bool,
                 choose_dataflow: str | None, named: bool = True,
                 plan: MappingPlan | None = None) -> list[dict]:
    """Every row of a run in model order: the layers' (:func:`_records`), the vector
    operators' between them, and, with ``keep_activations``, the kept outputs' DRAM traffic
    taken off."""
    records = with_vector_rows(network, _records(network, layers, accel, scalesim_compat,
                                                 choose_dataflow, named=named, plan=plan),
                               accel)
    if accel.sram.keep_activations:
        records = keep_on_chip(network, records, accel)
    return records


def _records(network: Network, layers, accel: Accelerator, scalesim_compat: bool,
             choose_dataflow: str | None, named: bool = True,
             plan: MappingPlan | None = None) -> list[dict]:
    """One report row per layer; identical shapes (ResNet blocks, attention heads) run once
    (under one mapping). Unless ``named``, a shape's row stands for each of its layers (the
    same dict, for totals)."""
    records = []
    done: dict[Hashable, dict] = {}
    for index, (layer, shape) in enumerate(zip(layers, _shapes(network))):
        key = shape if plan is None else (shape, plan.key(layer))
        if key not in done:
            try:
                if plan is not None:
                    done[key] = plan.row(layer, accel)
                elif choose_dataflow is None:
                    done[key] = simulate_layer(layer, accel, scalesim_compat=scalesim_compat)
                else:
                    done[key] = best_dataflow(layer, accel, scalesim_compat, choose_dataflow)
            except InputError as exc:
                raise network.locate(exc, index) from None
        records.append({**done[key], "name": layer.name} if named else done[key])
    return records


def with_vector_rows(network: Network, records: list[dict], accel: Accelerator) -> list[dict]:
    """The layers' rows with the vector unit's operator rows between them, in model order
    (the unit does not overlap the array: ``hwloop.sim.vector``). Operators of one shape
    are priced once per accelerator, as layers of one shape are."""
    if not network.vector_ops:
        return records
    rows = iter(records)
    priced = _vector_rows(accel)
    out = []
    for item in network.in_order():
        if not isinstance(item, VectorOp):
            out.append(next(rows))
            continue
        key = (item.kind, item.elements, item.operands, item.window, item.row,
               item.ops_per_element, item.params)
        if key not in priced:
            priced[key] = simulate_vector_op(item, accel)
        out.append({**priced[key], "name": item.name})
    return out


@functools.lru_cache(maxsize=64)
def _vector_rows(accel: Accelerator) -> dict[tuple, dict]:
    """Operator shape -> its row on ``accel`` (filled as operators are met)."""
    return {}


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
    return Report.from_records(records, config, accel.pes,
                               extra_totals=energy_totals(records, accel))
