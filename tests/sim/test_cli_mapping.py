"""``hwloop simulate --mapping scalesim|auto|FILE.toml`` and ``--optimize``: what the report's
``mapping`` and ``dram_ofmap_reads`` columns say, and bad mapping input as one located line.

Runs the CLI's ``main`` in-process (as ``test_cli_bad_input.py`` does); a few error cases also
run as real processes to prove the exit status and the absence of tracebacks end to end.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hwloop.sim.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = str(DATA / "topologies" / "tiny.csv")  # conv layers c3x3, c1x1_s2, c5x5_odd
TINY_LAYERS = ["c3x3", "c1x1_s2", "c5x5_odd"]
GEMM_CSV = "Layer, M, N, K,\ng1, 64, 32, 128,\ng2, 48, 16, 40,\n"
OBJECTIVES = ("latency", "energy", "edp")


def _run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse usage errors exit from inside main
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def _report(tmp_path: Path, capsys, *argv: str, name: str = "r.json") -> dict:
    path = tmp_path / name
    status, _, err = _run_main(["simulate", *argv, "-q", "--json", str(path)], capsys)
    assert status == 0, err
    return json.loads(path.read_text())


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _gemms(tmp_path: Path) -> str:
    return _write(tmp_path, "gemms.csv", GEMM_CSV)


def _check_one_error_line(status: int, out: str, err: str) -> str:
    assert status == 2, err
    assert "Traceback" not in err and "Traceback" not in out
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip(), err
    assert lines[0].startswith("hwloop") and "error:" in lines[0]
    assert len(lines[0]) < 300
    return lines[0]


# ---------------------------------------------------------------- --mapping scalesim


def test_default_mapping_is_scalesim(tmp_path, capsys):
    default = _report(tmp_path, capsys, "--topology", TINY, name="default.json")
    explicit = _report(tmp_path, capsys, "--topology", TINY, "--mapping", "scalesim",
                       name="scalesim.json")
    assert [row["name"] for row in default["layers"]] == TINY_LAYERS
    for row in default["layers"]:
        assert row["mapping"] == "scalesim"
        assert row["dram_ofmap_reads"] == 0
    assert default["totals"]["dram_ofmap_reads"] == 0
    assert "mapping" not in default["config"]
    assert explicit["layers"] == default["layers"]
    assert explicit["totals"] == default["totals"]
    assert explicit["config"] == default["config"]


def test_default_mapping_is_scalesim_on_gemms(tmp_path, capsys):
    topology = _gemms(tmp_path)
    default = _report(tmp_path, capsys, "--topology", topology, name="default.json")
    explicit = _report(tmp_path, capsys, "--topology", topology, "--mapping", "scalesim",
                       name="scalesim.json")
    assert {row["mapping"] for row in default["layers"]} == {"scalesim"}
    assert {row["dram_ofmap_reads"] for row in default["layers"]} == {0}
    assert (explicit["layers"], explicit["totals"]) == (default["layers"], default["totals"])


# ---------------------------------------------------------------- --mapping FILE


def test_mapping_file_tables_conv(tmp_path, capsys):
    mapping = _write(tmp_path, "m.toml", """\
[default]
dataflow = "ws"
tile_p = 4
tile_c = 4
order = "kmn"

[layers.c3x3]
tile_p = 5
tile_n = 8
order = "mnk"
""")
    report = _report(tmp_path, capsys, "--topology", TINY, "--mapping", mapping)
    rows = {row["name"]: row for row in report["layers"]}
    assert list(rows) == TINY_LAYERS
    assert report["config"]["mapping"] == mapping
    # [layers.c3x3] is complete by itself: the accelerator's dataflow (os), its own tiles and
    # order, and nothing from [default]; missing tiles span the dimension (8x8 ofmap, 8 channels)
    assert rows["c3x3"]["mapping"] == "os p5 q8 c8 n8 mnk"
    assert rows["c3x3"]["dataflow"] == "os"
    # the other layers take [default]; tiles larger than a dimension are clipped to it
    assert rows["c1x1_s2"]["mapping"] == "ws p4 q5 c4 n40 kmn"
    assert rows["c5x5_odd"]["mapping"] == "ws p4 q5 c3 n7 kmn"
    assert {rows[name]["dataflow"] for name in ("c1x1_s2", "c5x5_odd")} == {"ws"}
    # c1x1_s2: 16 channels in tiles of 4 with k outermost -> its 5x5x40 ofmap returns 3 times
    assert rows["c1x1_s2"]["dram_ofmap_reads"] == 3 * 5 * 5 * 40
    # c3x3 keeps k innermost (and one k tile); c5x5_odd has 3 channels: one k tile
    assert rows["c3x3"]["dram_ofmap_reads"] == 0
    assert rows["c5x5_odd"]["dram_ofmap_reads"] == 0
    assert report["totals"]["dram_ofmap_reads"] == 3000


def test_mapping_file_tables_gemm(tmp_path, capsys):
    mapping = _write(tmp_path, "m.toml", """\
[default]
tile_m = 32
tile_k = 32
order = "kmn"

[layers.g2]
dataflow = "is"
tile_m = 16
tile_k = 8
order = "mnk"
""")
    report = _report(tmp_path, capsys, "--topology", _gemms(tmp_path), "--mapping", mapping)
    rows = {row["name"]: row for row in report["layers"]}
    assert rows["g1"]["mapping"] == "os m32 n32 k32 kmn"
    assert rows["g2"]["mapping"] == "is m16 n16 k8 mnk"
    # g1: k split in 4 and outermost, m split inside it -> each ofmap word read back 3 times
    assert rows["g1"]["dram_ofmap_reads"] == 3 * 64 * 32
    assert rows["g1"]["dram_ofmap_writes"] == 4 * 64 * 32
    # g2: k split too, but innermost: partial sums stay in the ofmap buffer
    assert rows["g2"]["dram_ofmap_reads"] == 0
    assert rows["g2"]["dram_ofmap_writes"] == 48 * 16


def test_one_tile_mapping_costs_what_scalesim_does(tmp_path, capsys):
    """docs/mappings.md: a one-tile mapping costs the classic engine's cycles."""
    mapping = _write(tmp_path, "m.toml", "[default]\n")
    topology = _gemms(tmp_path)
    mapped = _report(tmp_path, capsys, "--topology", topology, "--mapping", mapping,
                     name="mapped.json")
    classic = _report(tmp_path, capsys, "--topology", topology, name="classic.json")
    for one, other in zip(mapped["layers"], classic["layers"]):
        assert one["mapping"] != "scalesim"
        assert one["total_cycles"] == other["total_cycles"]
        assert one["dram_ofmap_reads"] == 0


# ---------------------------------------------------------------- --mapping auto


@pytest.fixture(scope="module")
def auto_reports(tmp_path_factory) -> dict[tuple[str, str], dict]:
    """(workload, objective) -> the --mapping auto report (stall-free: the mapper's bounds
    are exact, so it finds each layer's best candidate)."""
    tmp = tmp_path_factory.mktemp("auto")
    topologies = {"conv": TINY, "gemm": _gemms(tmp)}
    reports = {}
    for workload, topology in topologies.items():
        for objective in OBJECTIVES:
            path = tmp / f"{workload}_{objective}.json"
            assert main(["simulate", "--topology", topology, "--mapping", "auto",
                         "--optimize", objective, "-q", "--json", str(path)]) == 0
            reports[workload, objective] = json.loads(path.read_text())
    return reports


@pytest.mark.parametrize("workload", ["conv", "gemm"])
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_auto_maps_every_layer(auto_reports, workload, objective):
    report = auto_reports[workload, objective]
    assert report["config"]["mapping"] == f"auto ({objective})"
    assert report["layers"]
    for row in report["layers"]:
        assert isinstance(row["mapping"], str) and row["mapping"] != "scalesim"
        assert row["mapping"].split()[0] in ("os", "ws", "is")
        assert row["dram_ofmap_reads"] >= 0


def test_auto_without_optimize_is_latency(tmp_path, capsys):
    report = _report(tmp_path, capsys, "--topology", TINY, "--mapping", "auto")
    assert report["config"]["mapping"] == "auto (latency)"
    assert all(row["mapping"] != "scalesim" for row in report["layers"])


@pytest.mark.parametrize("workload", ["conv", "gemm"])
def test_auto_objectives_win_their_own_metric(auto_reports, workload):
    """Per layer, each objective's mapping is no worse on its own metric than another
    objective's (the per-layer optimum over one candidate set), so neither are the sums."""
    rows = {objective: auto_reports[workload, objective]["layers"] for objective in OBJECTIVES}
    metric = {"latency": "total_cycles", "energy": "energy_pj", "edp": "edp"}
    for objective, column in metric.items():
        for other in OBJECTIVES:
            for mine, theirs in zip(rows[objective], rows[other]):
                assert mine["name"] == theirs["name"]
                assert mine[column] <= theirs[column] * (1 + 1e-9), (objective, other, mine)
    edp_sum = {objective: sum(row["edp"] for row in rows[objective]) for objective in OBJECTIVES}
    assert edp_sum["edp"] <= edp_sum["latency"] * (1 + 1e-9)
    assert edp_sum["edp"] <= edp_sum["energy"] * (1 + 1e-9)


# ---------------------------------------------------------------- bad input

#: (case id, mapping file text or None, extra arguments, where (file:line) or None,
#: what the one line must also say). ``FILE`` in the arguments is the mapping file.
BAD = [
    ("tile_too_large_layer", "[layers.c3x3]\ntile_n = 16\ntile_p = 8\n",
     ["--mapping", "FILE", "--ofmap-kb", "1"], "m.toml:3:",
     ["field 'layers.c3x3.tile_p'", "ofmap tile"]),
    ("tile_too_large_default", '[default]\ndataflow = "os"\ntile_c = 8\n',
     ["--mapping", "FILE", "--ifmap-kb", "1"], "m.toml:3:",
     ["field 'default.tile_c'", "ifmap tile"]),
    ("gemm_tile_on_conv", "[default]\ntile_p = 4\n\n[layers.c1x1_s2]\ntile_n = 8\ntile_m = 4\n",
     ["--mapping", "FILE"], "m.toml:6:", ["field 'layers.c1x1_s2.tile_m'", "conv layer"]),
    ("bad_order", '[layers.c5x5_odd]\ntile_n = 4\norder = "mmk"\n',
     ["--mapping", "FILE"], "m.toml:3:", ["field 'layers.c5x5_odd.order'", "'mmk'"]),
    ("unknown_layer", "[default]\ntile_p = 2\n\n[layers.nope]\ntile_p = 2\n",
     ["--mapping", "FILE"], "m.toml:4:", ["field 'layers.nope'", "no layer 'nope'"]),
    ("unknown_key", "[default]\ntile_p = 2\ntile_x = 3\n",
     ["--mapping", "FILE"], "m.toml:3:", ["field 'default.tile_x'", "unknown key"]),
    ("toml_syntax", "[default]\ntile_p = = 2\n",
     ["--mapping", "FILE"], "m.toml:2:", ["not valid TOML"]),
    ("missing_file", None, ["--mapping", "missing.toml"], None,
     ["missing.toml", "cannot read mapping file"]),
    ("optimize_without_auto", None, ["--optimize", "energy"], None, ["field '--optimize'"]),
    ("optimize_with_file", "[default]\n", ["--mapping", "FILE", "--optimize", "edp"], None,
     ["field '--optimize'"]),
    ("file_and_scalesim_compat", "[default]\n", ["--mapping", "FILE", "--scalesim-compat"],
     None, ["field '--mapping'", "--scalesim-compat"]),
    ("auto_and_dataflow_auto", None, ["--mapping", "auto", "--dataflow", "auto"], None,
     ["field '--mapping'", "--dataflow auto"]),
    ("auto_and_trace", None, ["--mapping", "auto", "--trace", "t.h5"], None,
     ["field '--trace'"]),
    ("file_on_bitfusion", "[default]\n", ["--mapping", "FILE", "--array-kind", "bitfusion"],
     None, ["field '--mapping'", "systolic", "bitfusion"]),
    ("auto_on_bitserial", None, ["--mapping", "auto", "--array-kind", "bitserial"], None,
     ["field '--mapping'", "systolic", "bitserial"]),
    ("auto_on_dram_device", None, ["--mapping", "auto", "--dram", "ddr4-3200"], None,
     ["field '--dram'", "DRAM device model"]),
]


def _bad_argv(tmp_path: Path, text: str | None, extra: list[str]) -> tuple[list[str], Path]:
    """The command line of one bad case, run in ``tmp_path``, and its --json file."""
    if text is not None:
        _write(tmp_path, "m.toml", text)
    out = tmp_path / "out.json"
    argv = ["simulate", "--topology", TINY, *("m.toml" if a == "FILE" else a for a in extra),
            "--json", str(out), "--csv", str(tmp_path / "out.csv")]
    return argv, out


def _check_bad(line: str, where: str | None, says: list[str]) -> None:
    if where is not None:
        assert line.startswith(f"hwloop: error: {where} "), line
    else:
        assert "tiny.csv" not in line, line  # an option's error is no layer's fault
    for text in says:
        assert text in line, line


@pytest.mark.parametrize("text, extra, where, says", [case[1:] for case in BAD],
                         ids=[case[0] for case in BAD])
def test_bad_mapping_input(text, extra, where, says, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, out = _bad_argv(tmp_path, text, extra)
    before = sorted(p.name for p in tmp_path.iterdir())
    line = _check_one_error_line(*_run_main(argv, capsys))
    _check_bad(line, where, says)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no report, trace or temporary


SUBPROCESS_CASES = ["tile_too_large_layer", "unknown_layer", "auto_on_dram_device"]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_mapping_input_subprocess(case, tmp_path):
    _, text, extra, where, says = next(c for c in BAD if c[0] == case)
    argv, out = _bad_argv(tmp_path, text, extra)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = subprocess.run([sys.executable, "-m", "hwloop.sim.cli", *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    line = _check_one_error_line(done.returncode, done.stdout, done.stderr)
    _check_bad(line, where, says)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_dram_device_in_config_is_located(tmp_path, capsys):
    """A DRAM device model set by a --config file is reported at that file's line."""
    config = _write(tmp_path, "accel.toml",
                    'name = "d"\n\n[array]\nrows = 8\ncols = 8\n\n[dram]\nmodel = "ddr4-3200"\n')
    out = tmp_path / "out.json"
    line = _check_one_error_line(*_run_main(
        ["simulate", "--config", config, "--topology", TINY, "--mapping", "auto",
         "--json", str(out)], capsys))
    assert "accel.toml:8:" in line and "field 'model'" in line
    assert not out.exists()
