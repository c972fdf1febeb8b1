"""What a search leaves and says: an output folder created with its parents, the Pareto front
printed as a table with units, plots with units and a panel per objective, and the study's
files written all together, with the umask's modes."""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest

from hwloop.search import StudyResult, _outputs, _plots, load_space, pareto_rows, run_search
from hwloop.sim.cli import main

pytest.importorskip("optuna")

OUTPUTS = {"trials.csv", "pareto.csv", "history.png", "pareto.png"}


def _search(space_file: Path, topology: Path, out: Path, *extra: str) -> list[str]:
    return ["search", "--space", str(space_file), "--topology", str(topology), "--sampler",
            "grid", "--trials", "12", "--out", str(out), *extra]


def test_out_folder_is_created_with_its_parents(space_file, topology, tmp_path, capsys):
    out = tmp_path / "runs" / "deeper" / "a"
    assert main(_search(space_file, topology, out)) == 0, capsys.readouterr().err
    assert OUTPUTS - {"pareto.png"} <= {p.name for p in out.iterdir()}


def test_out_below_a_file_is_one_line_and_creates_nothing(space_file, topology, tmp_path,
                                                          capsys):
    (tmp_path / "runs").write_text("mine\n")
    before = sorted(tmp_path.iterdir())
    assert main(_search(space_file, topology, tmp_path / "runs" / "a")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "field '--out'" in err and "is a file" in err
    assert sorted(tmp_path.iterdir()) == before


def _front_table(printed: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the table printed after ``Pareto front: ...``."""
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Pareto front:"))
    header = lines[start + 1].split()
    return header, [line.split() for line in lines[start + 2:] if line.strip()]


def test_the_end_of_a_search_prints_the_pareto_front(space_file, topology, tmp_path, capsys):
    out = tmp_path / "out"
    argv = _search(space_file, topology, out, "--objectives", "latency,energy")
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("12 trials (") and "simulated now" in printed
    header, rows = _front_table(printed)
    assert " ".join(header) == "trial latency (cycles) energy (pJ) rows cols dataflow"
    with open(out / "pareto.csv", newline="") as handle:
        front = list(csv.DictReader(handle))
    assert front and len(rows) == len(front)
    for cells, want in zip(rows, front):
        trial, latency, energy, *params = cells
        assert trial == want["trial"] and params == [want["rows"], want["cols"], want["dataflow"]]
        assert latency == f"{float(want['latency']):,.0f}"
        assert float(energy) == pytest.approx(float(want["energy"]), rel=1e-3)
    assert re.search(rf"Pareto front: {len(front)} of \d+ feasible trials", printed)


def test_a_single_objective_prints_its_best_point(space_file, topology, tmp_path, capsys):
    assert main(_search(space_file, topology, tmp_path / "o")) == 0
    printed = capsys.readouterr().out
    header, rows = _front_table(printed)
    assert header[:3] == ["trial", "latency", "(cycles)"] and len(rows) == 1
    assert "latency minimised" in printed


def _rows(n: int, objectives=("latency", "energy")) -> list[dict]:
    rows = []
    for t in range(n):
        row = {"trial": t, "rows": 2 ** (t % 5), "feasible": True, "simulated": True}
        row.update({o: float(1000 + ((t * (i + 3)) % n) * 7 + t) for i, o in enumerate(objectives)})
        rows.append(row)
    return rows


def _result(rows: list[dict], front: list[dict], objectives: tuple[str, ...]) -> StudyResult:
    return StudyResult(study_name="s", storage="sqlite://", objectives=objectives,
                       trials=tuple(rows), pareto=tuple(front), simulations=len(rows),
                       seconds=0.0, files=(), params=("rows",),
                       maximised=frozenset({"accuracy"}))


def test_a_long_front_is_shown_evenly_spaced():
    front = [{"trial": t, "rows": 4, "latency": 100.0 + t, "energy": 500.0 - t,
              "feasible": True} for t in range(50)]
    table = _outputs.pareto_table(_result(front, front, ("latency", "energy")), limit=20)
    header, rows = _front_table(table)
    shown = [int(r[0]) for r in rows]
    assert len(shown) == 20 and shown[0] == 0 and shown[-1] == 49 and shown == sorted(shown)
    assert "50 of 50 feasible trials (20 shown, evenly spaced; all in pareto.csv)" in table


def test_accuracy_is_a_percentage_and_maximised():
    rows = [{"trial": 0, "rows": 2, "accuracy": 0.9759, "area": 0.5, "feasible": True},
            {"trial": 1, "rows": 4, "accuracy": 0.5, "area": 0.1, "feasible": True}]
    objectives = ("accuracy", "area")
    front = pareto_rows(rows, objectives, {"accuracy"})
    table = _outputs.pareto_table(_result(rows, front, objectives))
    header, cells = _front_table(table)
    assert "(%)" in header and "(mm^2)" in header and "accuracy maximised" in table
    assert [c[1] for c in cells] == ["97.59", "50.00"]  # best accuracy first
    fig = _plots.pareto_figure(rows, front, objectives, {"accuracy"})
    for ax in fig.axes:  # every trial, and the front close up
        assert "accuracy (%)" in ax.get_xlabel() and "mm$^2$" in ax.get_ylabel()
        assert max(ax.collections[0].get_offsets()[:, 0]) == pytest.approx(97.59)


def test_history_has_a_panel_per_objective_with_its_unit():
    objectives = ("latency", "energy", "edp", "area")
    rows = _rows(30, objectives)
    rows[3]["feasible"] = False  # simulated, broke a constraint
    rows[4].update({o: None for o in objectives}, feasible=False, simulated=False)
    fig = _plots.history_figure(rows, objectives)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert len(labels) == 4
    for label, unit in zip(labels, ("cycles", "pJ", r"pJ $\times$ cycles", "mm$^2$")):
        assert label.endswith(f"{unit})"), label
    assert all(ax.get_xlabel() == "trial" for ax in fig.axes[-1:])


def test_large_values_carry_their_power_of_ten_in_the_label():
    rows = [{"trial": t, "latency": 2.0e6 + 1e5 * t, "energy": 4.0e9 + 1e8 * t,
             "feasible": True} for t in range(5)]
    fig = _plots.pareto_figure(rows, pareto_rows(rows, ["latency", "energy"]),
                               ["latency", "energy"])
    whole, close = fig.axes
    assert whole.get_xlabel() == close.get_xlabel() == "latency ($10^{6}$ cycles)"
    assert whole.get_ylabel() == close.get_ylabel() == "energy ($10^{9}$ pJ)"
    assert whole.xaxis.get_major_formatter()(2.5e6, 0) == "2.5"


def test_the_close_up_frames_the_front_and_names_its_trials():
    rows = [{"trial": t, "latency": 1000.0 + 10 * t, "energy": 1000.0 - 10 * t,
             "feasible": True} for t in range(3)]
    rows += [{"trial": 3 + t, "latency": 9000.0 + t, "energy": 9000.0, "feasible": True}
             for t in range(5)]  # far from the front
    front = pareto_rows(rows, ["latency", "energy"])
    assert [r["trial"] for r in front] == [0, 1, 2]
    _, close = _plots.pareto_figure(rows, front, ["latency", "energy"]).axes
    low, high = close.get_xlim()
    assert low < 1000 and 1020 < high < 2000
    assert sorted(t.get_text() for t in close.texts) == ["#0", "#1", "#2"]


def _grid_search(space_file, network, out, trials=12):
    return run_search(load_space(space_file), network, ["latency", "energy"], "grid", trials,
                      out_dir=out)


def test_outputs_take_the_umask_and_leave_no_temporaries(space_file, network, tmp_path):
    old = os.umask(0o027)
    try:
        result = _grid_search(space_file, network, tmp_path / "o")
    finally:
        os.umask(old)
    assert {p.name for p in result.files} == OUTPUTS
    for path in result.files:
        assert path.stat().st_mode & 0o777 == 0o640, path
    assert not [p.name for p in (tmp_path / "o").iterdir() if p.name.startswith(".")]


def test_a_failing_plot_writes_none_of_the_outputs(space_file, network, tmp_path,
                                                   monkeypatch):
    out = tmp_path / "o"

    def broken(*args):
        raise RuntimeError("no plot today")

    monkeypatch.setattr(_outputs, "pareto_figure", broken)
    with pytest.raises(RuntimeError, match="no plot today"):
        _grid_search(space_file, network, out)
    left = {p.name for p in out.iterdir()}
    assert not left & OUTPUTS and not [name for name in left if name.startswith(".")], left
    monkeypatch.undo()
    first = _grid_search(space_file, network, out)
    before = {p: p.read_bytes() for p in first.files}
    monkeypatch.setattr(_outputs, "pareto_figure", broken)
    with pytest.raises(RuntimeError):  # 20 trials now, but the failed rewrite changes nothing
        _grid_search(space_file, network, out, trials=20)
    assert all(p.read_bytes() == data for p, data in before.items())
