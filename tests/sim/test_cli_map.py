"""``hwloop map``: the mapper's mapping of every layer, written as a mapping file that
``hwloop simulate --mapping FILE`` runs to exactly the totals of ``--mapping auto``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwloop.arch import load_mapping
from hwloop.sim.cli import main

TINY = str(Path(__file__).resolve().parents[1] / "data" / "topologies" / "tiny.csv")
HARDWARE = ["--topology", TINY, "--rows", "8", "--cols", "8", "--ifmap-kb", "2",
            "--filter-kb", "2", "--ofmap-kb", "2"]


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("objective", ["latency", "energy", "edp"])
@pytest.mark.parametrize("bandwidth", [[], ["--bandwidth", "4"]])
def test_a_written_map_runs_to_the_totals_of_auto(tmp_path, capsys, objective, bandwidth):
    out = tmp_path / "map.toml"
    mapped = tmp_path / "mapped.json"
    status, text, err = _run(["map", *HARDWARE, *bandwidth, "--optimize", objective,
                              "--out", str(out), "--json", str(mapped)], capsys)
    assert status == 0, err
    assert "total:" in text
    mapping_file = load_mapping(out)
    assert mapping_file.layer_names() == ("c3x3", "c1x1_s2", "c5x5_odd")
    from_file, auto = tmp_path / "file.json", tmp_path / "auto.json"
    for path, how in ((from_file, ["--mapping", str(out)]),
                      (auto, ["--mapping", "auto", "--optimize", objective])):
        status, _, err = _run(["simulate", *HARDWARE, *bandwidth, *how, "-q", "--json",
                               str(path)], capsys)
        assert status == 0, err
    file_totals = json.loads(from_file.read_text())["totals"]
    assert file_totals == json.loads(auto.read_text())["totals"]
    assert file_totals == json.loads(mapped.read_text())["totals"]
    rows = json.loads(mapped.read_text())["layers"]
    assert [row["mapping"] for row in rows] == [
        mapping.describe() for _, mapping in mapping_file.layers]


def test_map_prints_without_writing_a_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, text, err = _run(["map", *HARDWARE], capsys)
    assert status == 0, err
    assert "c3x3" in text and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, field", [
    (["--dataflow", "auto"], "--dataflow"),
    (["--precision-switch", "8:0.5,4:0.5"], "--precision-switch"),
    (["--array-kind", "bitfusion"], "--mapping"),
    (["--dram", "ddr4-3200"], "--dram"),
])
def test_what_map_cannot_do_is_one_line_and_writes_nothing(tmp_path, capsys, argv, field):
    out = tmp_path / "map.toml"
    status, text, err = _run(["map", *HARDWARE, *argv, "--out", str(out)], capsys)
    assert status == 2 and text == "" and "Traceback" not in err
    assert len(err.splitlines()) == 1 and field in err
    assert not out.exists()


def test_an_unwritable_out_is_refused_before_mapping(tmp_path, capsys):
    status, _, err = _run(["map", *HARDWARE, "--out", str(tmp_path / "no" / "map.toml")],
                          capsys)
    assert status == 2 and "--out" in err and len(err.splitlines()) == 1
