"""What a user sees from ``hwloop simulate``: a table that fits the terminal, with units, the
run's own columns (chosen dataflow, stalls), a legend, ``--columns``, and the compile notice."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hwloop import arch, traces
from hwloop.sim.cli import main
from hwloop.sim.cli._output import format_report
from hwloop.sim.cli._table import terminal_width
from hwloop.sim.engine import simulate
from hwloop.sim.kernels import on_first_compile

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = str(DATA / "topologies" / "tiny.csv")
TINY_LAYERS = ["c3x3", "c1x1_s2", "c5x5_odd"]
NOTICE = "compiling the kernels"


def _simulate(capsys, monkeypatch, *argv: str, columns: int | None = None) -> list[str]:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", str(columns))
    status = main(["simulate", *argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out.splitlines()


def _table(lines: list[str]) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(header, units, {layer: cells}) of a printed table."""
    at = next(i for i, line in enumerate(lines) if line.startswith("layer"))
    rows = {}
    for line in lines[at + 2:]:
        cells = line.split()
        if not cells or cells[0] not in TINY_LAYERS + ["conv1", "conv2", "conv3", "conv4",
                                                       "conv5"]:
            break
        rows[cells[0]] = cells[1:]
    return lines[at].split(), lines[at + 1].split(), rows


def _json(capsys, monkeypatch, tmp_path, *argv: str) -> dict:
    path = tmp_path / "r.json"
    _simulate(capsys, monkeypatch, *argv, "-q", "--json", str(path))
    return json.loads(path.read_text())


# ---------------------------------------------------------------- fitting the terminal


@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize("argv", [
    (),  # ResNet-18 on the default array: 11 columns, 200+ characters unfitted
    ("--network", "alexnet", "--dataflow", "auto", "--bandwidth", "8"),
    ("--network", "alexnet", "--array-kind", "analog", "--analog-device", "rram"),  # long header
])
def test_no_line_is_wider_than_the_terminal(argv, width, capsys, monkeypatch):
    lines = _simulate(capsys, monkeypatch, *argv, columns=width)
    assert max(len(line) for line in lines) <= width, "\n".join(lines)
    header, units, rows = _table(lines)
    assert header[0] == "layer" and "total" in header and "cycles" in units and rows
    assert any(line.startswith("total: ") for line in lines)
    notes = [line for line in lines if "--columns" in line]
    every = _table(_simulate(capsys, monkeypatch, *argv))[0]  # into a file: every column
    if header == every:
        assert notes == []
    else:  # one line says how to get the rest
        assert len(header) < len(every) and len(notes) == 1 and "--csv" in notes[0]
    if not argv and width == 80:
        assert notes and header[-2:] == ["DRAM", "ofmap"]  # the key columns come first


def test_without_a_terminal_every_column_prints(capsys, monkeypatch):
    lines = _simulate(capsys, monkeypatch, "--topology", TINY)
    header, units, rows = _table(lines)
    assert header.count("SRAM") == 3 and header.count("DRAM") == 3
    assert units.count("words") == 6 and "%" in units  # units under the names
    assert list(rows) == TINY_LAYERS
    assert not any("--columns" in line for line in lines)
    assert max(len(line) for line in lines) > 100


def test_terminal_width_reads_columns_then_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "93")
    assert terminal_width() == 93
    monkeypatch.delenv("COLUMNS")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert terminal_width() is None  # a file or pipe: no fitting
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("shutil.get_terminal_size", lambda *a: os.terminal_size((71, 24)))
    assert terminal_width() == 71


def test_wrapped_totals_lose_nothing():
    net = traces.builtin_network("alexnet")
    report = simulate(net, arch.get_preset("scalesim_default").with_overrides(bandwidth=8))
    whole = format_report(report, quiet=True).splitlines()
    assert len(whole) == 2 and whole[1].startswith("total: ") and "stall cycles" in whole[1]
    wrapped = format_report(report, quiet=True, width=60).splitlines()
    assert max(len(line) for line in wrapped) <= 60 and len(wrapped) > 4
    assert " ".join(line.strip() for line in wrapped) == " ".join(whole)


def test_legend_explains_the_utilisations(capsys, monkeypatch):
    lines = _simulate(capsys, monkeypatch, "--topology", TINY, columns=100)
    legend = " ".join(line.strip() for line in lines if "=" in line)
    assert "util = overall util: MACs / peak MACs" in legend
    assert "compute util = SCALE-Sim's per-fold util" in legend and "below util" in legend


# ---------------------------------------------------------------- --columns


def test_columns_picks_the_columns_in_order(capsys, monkeypatch):
    lines = _simulate(capsys, monkeypatch, "--topology", TINY, "--columns",
                      "name,macs,stall_cycles,row_folds", columns=80)
    header, units, rows = _table(lines)
    assert header == ["layer", "MACs", "stall", "row_folds"]
    assert units == ["cycles", "folds"]
    assert rows["c3x3"][0] == "73,728" and list(rows) == TINY_LAYERS
    assert not any("not shown" in line or "more columns" in line for line in lines)


@pytest.mark.parametrize("value", ["name,bogus", "energy_breakdown", ","])
def test_unknown_column_is_one_line_error(value, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--topology", TINY, "--columns", value])
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--columns" in err, err


# ---------------------------------------------------------------- the run's own columns


def test_auto_shows_each_layers_dataflow(capsys, monkeypatch, tmp_path):
    lines = _simulate(capsys, monkeypatch, "--topology", TINY, "--dataflow", "auto")
    assert "auto dataflow (best latency per layer)" in lines[0] and " OS" not in lines[0]
    header, units, rows = _table(lines)
    assert header[1] == "data" and units[0] == "flow"
    chosen = {r["name"]: r["dataflow"].upper()
              for r in _json(capsys, monkeypatch, tmp_path, "--topology", TINY,
                             "--dataflow", "auto")["layers"]}
    assert {name: cells[0] for name, cells in rows.items()} == chosen
    assert set(chosen.values()) == {"OS", "IS"}  # the choice differs between layers


def test_auto_on_a_fused_array_shows_the_tiling(capsys, monkeypatch, tmp_path):
    argv = ("--topology", TINY, "--array-kind", "2in1", "--dataflow", "auto")
    header, _, rows = _table(_simulate(capsys, monkeypatch, *argv))
    assert header[1:3] == ["data", "tiling"]
    layers = _json(capsys, monkeypatch, tmp_path, *argv)["layers"]
    assert {name: cells[1] for name, cells in rows.items()} == {
        r["name"]: r["tiling"] for r in layers}


def test_fixed_dataflow_has_no_dataflow_column(capsys, monkeypatch):
    header, _, _ = _table(_simulate(capsys, monkeypatch, "--topology", TINY))
    assert "data" not in header and "stall" not in header


def test_finite_bandwidth_shows_stalls_per_layer(capsys, monkeypatch, tmp_path):
    argv = ("--network", "alexnet", "--dataflow", "ws", "--bandwidth", "4")
    lines = _simulate(capsys, monkeypatch, *argv, columns=80)
    header, units, rows = _table(lines)
    assert header[1:3] == ["total", "stall"] and units[:2] == ["cycles", "cycles"]
    stalls = {r["name"]: r["stall_cycles"]
              for r in _json(capsys, monkeypatch, tmp_path, *argv)["layers"]}
    assert {name: int(cells[1].replace(",", "")) for name, cells in rows.items()} == stalls
    assert sum(stalls.values()) > 0


def test_help_explains_auto_optimize_and_the_utilisations(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # argparse wraps help to COLUMNS
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--dataflow DATAFLOW override dataflow: os, ws, is, or auto" in text
    assert "keep its best by --optimize" in text
    assert ("per layer, keep the fastest (latency, the default), the least-energy or the least "
            "energy x cycles (edp) choice") in text
    assert "compute util % (compute_util) = SCALE-Sim's per-fold utilisation" in text
    assert "util % (overall_util) = MACs / peak MACs" in text


# ---------------------------------------------------------------- progress and compiling


def test_progress_bar_starts_after_the_first_layer(capsys):
    """The first layer pays for compiling; the bar's rate counts the layers after it."""
    net = traces.load_topology(TINY)
    simulate(net, arch.get_preset("scalesim_default"), progress=True)
    err = capsys.readouterr().err
    assert "1/3 [" in err and "0/3" not in err  # the bar appears with one layer done


def test_first_compile_calls_back_once_and_only_for_kernels():
    from numba.core import event

    class Dispatcher:
        def __init__(self, module: str) -> None:
            self.py_func = type("F", (), {"__module__": module})()

    calls = []
    with on_first_compile(lambda: calls.append(1)):
        for module in ("numpy_user_code", "hwloop.sim.kernels._memory",
                       "hwloop.sim.kernels._demand"):
            with event.trigger_event("numba:compile", data={"dispatcher": Dispatcher(module)}):
                pass
            if module == "numpy_user_code":
                assert calls == []  # another package's Numba code is not ours
    assert calls == [1]
    with event.trigger_event("numba:compile",
                             data={"dispatcher": Dispatcher("hwloop.sim.kernels._memory")}):
        pass
    assert calls == [1]  # the listener is gone after the block


def test_compile_notice_once_on_a_cold_cache_and_never_warm(tmp_path):
    """Two real runs on an empty Numba cache: the first compiles (and says so once on stderr),
    the second loads every kernel from the cache and is silent."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    env.pop("NUMBA_DISABLE_JIT", None)
    runs = [subprocess.run([sys.executable, "-m", "hwloop.sim.cli", "simulate", "--topology",
                            TINY, "-q"], capture_output=True, text=True, env=env, timeout=300)
            for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    assert runs[0].stderr.count(NOTICE) == 1 and "first run only" in runs[0].stderr
    assert NOTICE not in runs[1].stderr
    assert runs[0].stdout == runs[1].stdout
