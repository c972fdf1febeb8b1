"""``hwloop trace`` subcommands end to end, on a recorded run."""
from __future__ import annotations

import filecmp
import json

import pandas as pd
import pytest

from hwloop.sim.cli import main


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("t")
    topology = folder / "small.csv"
    topology.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                        "Channels, Num Filter, Strides,\nc1, 16, 16, 3, 3, 8, 16, 1,\n"
                        "c2, 14, 14, 1, 1, 16, 24, 2,\n")
    path = folder / "run.h5"
    assert main(["simulate", "--topology", str(topology), "--rows", "8", "--cols", "8",
                 "--ifmap-kb", "1", "--filter-kb", "1", "--ofmap-kb", "1",
                 "--bandwidth", "3", "--trace", str(path), "-q"]) == 0
    return path


def test_summary_counts_what_the_report_counts(trace, tmp_path, capsys):
    out = tmp_path / "summary.csv"
    report = tmp_path / "report.json"
    assert main(["replay", str(trace), "--json", str(report), "-q"]) == 0
    assert main(["trace", "summary", str(trace), "--csv", str(out)]) == 0
    table = pd.read_csv(out)
    rows = json.loads(report.read_text())["layers"]
    first = table[table.layer == 0].set_index("stream")
    assert first.loc["ifmap_dram_read", "accesses"] == rows[0]["dram_ifmap_reads"]
    assert first.loc["ofmap_dram_write", "accesses"] == rows[0]["dram_ofmap_writes"]
    assert first.loc["ifmap_dram_read", "peak_bandwidth"] == 3
    assert rows[0]["stall_cycles"] > 0
    capsys.readouterr()


def test_plot_export_import_round_trip(trace, tmp_path, capsys):
    png = tmp_path / "bw.png"
    assert main(["trace", "plot", str(trace), str(png), "--layer", "0"]) == 0
    assert png.stat().st_size > 1000
    first, second = tmp_path / "csv1", tmp_path / "csv2"
    assert main(["trace", "export", str(trace), str(first)]) == 0
    assert main(["trace", "import", str(first), str(tmp_path / "back.h5")]) == 0
    assert main(["trace", "export", str(tmp_path / "back.h5"), str(second)]) == 0
    names = sorted(p.name for p in (first / "layer0").iterdir())
    assert len(names) == 6
    match, mismatch, errors = filecmp.cmpfiles(first / "layer0", second / "layer0", names,
                                               shallow=False)
    assert mismatch == [] and errors == []
    capsys.readouterr()


def test_replaying_an_imported_trace_says_why_not(trace, tmp_path, capsys):
    assert main(["trace", "export", str(trace), str(tmp_path / "c")]) == 0
    assert main(["trace", "import", str(tmp_path / "c"), str(tmp_path / "i.h5")]) == 0
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "i.h5")]) == 2
    err = capsys.readouterr().err
    assert "no recorded architecture" in err and len(err.strip().splitlines()) == 1
