"""One contract, every array kind: what a report promises holds whichever array model runs.

The kinds come from the registry (``hwloop.sim.arrays.registered_models()``), so a new kind is
held to these rules as soon as it registers. Each kind runs a small network (strided and plain
convs, a depthwise conv, GEMMs at narrow and default widths, two GEMMs of one shape) on a
small accelerator of its kind, and: runs the same twice; fills every report column, in order,
its own columns included; sums its counters into the totals; never beats its peak MACs per
cycle; prices each row with a breakdown that sums to the row's energy; has an area; accepts
its accelerator; and describes itself with columns and words that exist.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import pandas as pd
import pytest

from hwloop.arch import Accelerator, get_preset
from hwloop.sim import COLUMNS, Report, area_mm2, forget_walks, simulate, simulate_totals
from hwloop.sim.arrays import ArrayModel, model_for, registered_models
from hwloop.traces import Layer, Network

KINDS = [model.kind for model in registered_models()]

NETWORK = Network(name="tiny", layers=(
    Layer(name="conv1", ifmap_h=12, ifmap_w=12, filter_h=3, filter_w=3, channels=3,
          num_filters=8, stride_h=2, stride_w=2),
    Layer(name="conv2", ifmap_h=8, ifmap_w=8, filter_h=3, filter_w=3, channels=8,
          num_filters=16, weight_bits=4, act_bits=4),
    Layer(name="dw", ifmap_h=8, ifmap_w=8, filter_h=3, filter_w=3, channels=16, num_filters=1,
          kind="depthwise"),
    Layer.gemm("fc1", 4, 10, 64),
    Layer.gemm("fc2", 4, 10, 64, weight_bits=2),
    Layer.gemm("fc3", 4, 10, 64),  # fc1's shape: simulated once, reported under its own name
))

#: Counters the totals sum over the rows, exactly (integers) ...
SUMMED_EXACT = ("total_cycles", "stall_cycles", "macs", "ifmap_sram_reads", "filter_sram_reads",
                "ofmap_sram_writes", "ofmap_sram_reads", "dram_ifmap_reads", "dram_filter_reads",
                "dram_ofmap_writes", "dram_ifmap_bytes", "dram_filter_bytes", "dram_ofmap_bytes")
#: ... and in floating point.
SUMMED_FLOAT = ("time_s", "energy_pj")
REL = 1e-12

#: Kinds whose small accelerator is not the digital one of :func:`small_accelerator`.
SMALL = {"analog": lambda: get_preset("pcm_chip").with_overrides(rows=64, cols=64, tiles=8)}


def small_accelerator(kind: str) -> Accelerator:
    if kind in SMALL:
        return SMALL[kind]()
    return get_preset("scalesim_default").with_overrides(array_kind=kind, rows=16, cols=16)


@dataclass(frozen=True)
class Case:
    model: ArrayModel
    accel: Accelerator
    report: Report

    @property
    def rows(self) -> list[dict]:
        return self.report.layers.to_dict(orient="records")


@pytest.fixture(scope="module", params=KINDS)
def case(request) -> Case:
    kind = request.param
    model = next(m for m in registered_models() if m.kind == kind)
    accel = small_accelerator(kind)
    return Case(model, accel, simulate(NETWORK, accel))


def test_every_kind_is_covered():
    assert {"systolic", "bitfusion", "bitserial", "2in1", "analog"} <= set(KINDS)
    assert len(KINDS) == len(set(KINDS))


def test_the_accelerator_is_of_the_kind_and_accepted(case):
    assert model_for(case.accel) is case.model
    assert case.accel.array.kind == case.model.kind
    assert case.model.check(case.accel) is None  # raises InputError on one it cannot run
    variants = list(case.model.variants(NETWORK.layers[0], case.accel))
    assert variants
    for variant in variants:
        assert model_for(variant) is case.model
        case.model.check(variant)


def test_runs_are_deterministic(case):
    forget_walks()  # the second run walks the buffers again instead of reusing the first's
    again = simulate(NETWORK, case.accel)
    pd.testing.assert_frame_equal(again.layers, case.report.layers, check_exact=True)
    assert again.totals == case.report.totals
    assert simulate_totals(NETWORK, case.accel) == case.report.totals  # the search's path


def test_report_schema(case):
    frame = case.report.layers
    assert list(frame.columns) == list(COLUMNS)
    assert set(case.model.columns) <= set(frame.columns)
    assert list(frame["name"]) == [layer.name for layer in NETWORK.layers]
    assert set(frame["array_kind"]) == {case.model.kind}
    for column in case.model.columns:  # its own columns filled on its rows ...
        assert frame[column].notna().all(), column
    others = {c for m in registered_models() if m is not case.model for c in m.columns}
    for column in others - set(case.model.columns):  # ... and other kinds' left None
        assert frame[column].isna().all(), column
    assert case.report.totals["layers"] == len(NETWORK.layers)


def test_totals_sum_the_rows(case):
    rows, totals = case.rows, case.report.totals
    for key in SUMMED_EXACT:
        assert totals[key] == sum(r[key] for r in rows), key
    for key in SUMMED_FLOAT:
        assert totals[key] == pytest.approx(sum(r[key] for r in rows), rel=REL), key
    for key in case.model.breakdown_keys:
        assert totals["energy_breakdown"][key] == pytest.approx(
            sum(r["energy_breakdown"][key] for r in rows), rel=REL, abs=1e-9), key
    assert totals["edp"] == pytest.approx(totals["energy_pj"] * totals["total_cycles"], rel=REL)


def test_cycles_cover_the_macs_at_peak(case):
    pes = case.accel.array.num_pes
    for row, layer in zip(case.rows, NETWORK.layers):
        assert row["macs"] == layer.macs, row["name"]
        assert row["macs_per_pe_cycle"] > 0, row["name"]
        assert row["total_cycles"] * pes * row["macs_per_pe_cycle"] >= row["macs"], row["name"]
        assert row["total_cycles"] > 0 and row["stall_cycles"] >= 0, row["name"]


def test_energy_breakdown_sums_to_each_row(case):
    for row in case.rows:
        breakdown = row["energy_breakdown"]
        assert list(breakdown) == list(case.model.breakdown_keys), row["name"]
        assert all(value >= 0 for value in breakdown.values()), (row["name"], breakdown)
        assert sum(breakdown.values()) == pytest.approx(row["energy_pj"], rel=REL), row["name"]
        assert row["energy_pj"] > 0, row["name"]
        assert row["edp"] == pytest.approx(row["energy_pj"] * row["total_cycles"], rel=REL)
        energy, again = case.model.energy(row, case.accel)  # the row was priced by its model
        assert energy == pytest.approx(row["energy_pj"], rel=REL) and again == breakdown
    assert list(case.report.totals["energy_breakdown"]) == list(case.model.breakdown_keys)


def test_area(case):
    area = case.report.totals["area_mm2"]
    assert area > 0
    assert area == case.model.area_mm2(case.accel) == area_mm2(case.accel)


def test_presentation(case):
    columns, integer_columns = case.model.table_columns()
    assert columns and set(columns) <= set(case.report.layers.columns), columns
    assert set(integer_columns) <= set(columns), integer_columns
    described = case.model.describe(case.accel.array.to_dict(), case.accel.clock_ghz)
    assert isinstance(described, str)
    assert isinstance(case.model.summary_lines(case.report.totals), str)


def test_own_cli_options(case):
    """Each option the kind names is added by it and unset by default (``kind_overrides``
    takes any value that is not None as given)."""
    parser = argparse.ArgumentParser()
    case.model.add_options(parser)
    args = parser.parse_args([])
    for field, option in case.model.options.items():
        assert option in parser._option_string_actions, option
        assert getattr(args, option.lstrip("-").replace("-", "_")) is None, option
        assert hasattr(case.accel.array, field), field
