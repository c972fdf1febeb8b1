"""Space files: what parses, and every bad space as one located line with exit status 2."""
from __future__ import annotations

import re

import pytest

from hwloop.search import Param, load_space
from hwloop.sim.cli import main
from hwloop.traces import InputError


def test_space_parses_values_ranges_and_constraints(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('preset = "scalesim_default"\n'
                    "[params.rows]\nlow = 4\nhigh = 16\nstep = 4\n"
                    "[params.ifmap_kb]\nlow = 1\nhigh = 8\nlog = true\n"
                    '[params.dataflow]\nvalues = ["OS", "ws"]\n'
                    "[params.accumulate_psums]\nvalues = [true, false]\n"
                    "[params.weight_bits]\nvalues = [4, 8]\n"
                    "[constraints]\nmax_pes = 1024\nmax_area_mm2 = 5.5\nmax_latency_cycles = 10\n")
    space = load_space(path)
    assert space.names == ("rows", "ifmap_kb", "dataflow", "accumulate_psums", "weight_bits")
    assert space.params[0] == Param(name="rows", low=4, high=16, step=4)
    assert space.params[0].choices() == (4, 8, 12, 16)
    assert space.params[2].values == ("os", "ws")
    assert space.is_finite and space.size == 4 * 8 * 2 * 2 * 2
    grid = list(space.grid())
    assert len(grid) == space.size and len({tuple(p.values()) for p in grid}) == space.size
    assert space.constraints.declared() == ("max_pes", "max_area_mm2", "max_latency_cycles")


def test_static_constraints_need_no_simulation(space_file):
    space = load_space(space_file)
    accel = space.base_accelerator().with_overrides(rows=16, cols=8)
    assert space.constraints.static_violations(accel) == {"max_pes": 128 - 64}


BAD = {
    "unknown_param": ("[params.row]\nvalues = [1]\n", 1, "params.row", "unknown parameter"),
    "empty_range": ("[params.rows]\nlow = 8\nhigh = 4\n", 2, "params.rows.low", "empty range"),
    "empty_values": ("[params.cols]\nvalues = []\n", 2, "params.cols.values", "non-empty"),
    "bad_type": ('[params.rows]\nvalues = [4, "8"]\n', 2, "params.rows.values", "integers"),
    "bad_dataflow": ('[params.dataflow]\nvalues = ["xs"]\n', 2, "params.dataflow.values",
                     "unknown dataflow"),
    "range_on_choice": ("[params.dataflow]\nlow = 1\nhigh = 2\n", 1, "params.dataflow",
                        "not a range"),
    "log_and_step": ("[params.rows]\nlow = 1\nhigh = 8\nstep = 2\nlog = true\n", 4,
                     "params.rows.step", "log range"),
    "unknown_key": ("[params.rows]\nvalues = [4]\nchoices = [2]\n", 3, "params.rows.choices",
                    "unknown key"),
    "no_params": ("[constraints]\nmax_pes = 4\n", None, "params", "at least one"),
    "unknown_constraint": ("[params.rows]\nvalues = [4]\n[constraints]\nmax_power = 3\n", 4,
                           "constraints.max_power", "unknown constraint"),
    "bad_constraint": ("[params.rows]\nvalues = [4]\n[constraints]\nmax_pes = -1\n", 4,
                       "constraints.max_pes", "positive integer"),
    "contradictory": ("[params.rows]\nvalues = [8, 16]\n[params.cols]\nvalues = [8]\n"
                      "[constraints]\nmax_sram_kb = 1000\nmax_pes = 32\n", 7,
                      "constraints.max_pes", "least is 64"),
    "bad_toml": ("[params.rows\nvalues = [4]\n", 1, None, "not valid TOML"),
    "unknown_top": ('[params.rows]\nvalues = [4]\n[workloads]\nx = 1\n', 3, "workloads",
                    "unknown key"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_space_is_one_located_line(case, tmp_path, topology, capsys):
    text, line, field, words = BAD[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_space(path)
    assert info.value.line == line and info.value.field == field
    assert words in info.value.reason
    out = tmp_path / "out"
    rc = main(["search", "--space", str(path), "--topology", str(topology), "--trials", "3",
               "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    where = f"{path}:{line}: " if line else f"{path}: "
    assert err.startswith(f"hwloop: error: {where}")
    if field:
        assert f"field '{field}'" in err
    assert not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["--objectives", "latency,power"], "unknown objective 'power'"),
    (["--objectives", "accuracy"], "needs a network space"),
    (["--trials", "0"], "must be a positive integer"),
    (["--sampler", "anneal"], "invalid choice"),
])
def test_bad_options_exit_2(argv, message, space_file, topology, tmp_path, capsys):
    args = ["search", "--space", str(space_file), "--topology", str(topology),
            "--trials", "3", "--out", str(tmp_path / "o"), *argv]
    try:
        rc = main(args)
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and message in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1
    assert re.search(r"error", err)


def test_search_without_optuna_is_one_line(tmp_path, monkeypatch, capsys):
    import importlib.util

    from hwloop.sim.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "optuna" else real(name, *a))
    space = tmp_path / "s.toml"
    space.write_text("[params.rows]\nvalues = [8, 16]\n")
    assert main(["search", "--space", str(space), "--network", "alexnet", "--objectives",
                 "latency", "--sampler", "random", "--trials", "2", "--out",
                 str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "hwloop[search]" in err and len(err.splitlines()) == 1
