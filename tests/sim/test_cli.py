"""``hwloop simulate`` on good input: what it prints, the files it writes, overrides, configs."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hwloop.sim.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = str(DATA / "topologies" / "tiny.csv")
TINY_LAYERS = ["c3x3", "c1x1_s2", "c5x5_odd"]
LAYER_KEYS = {"name", "total_cycles", "stall_cycles", "compute_util", "mapping_eff",
              "overall_util", "macs", "ifmap_sram_reads", "filter_sram_reads",
              "ofmap_sram_writes", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _simulate(capsys, *argv: str) -> str:
    status = main(["simulate", *argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "Traceback" not in err
    return out


def _json_report(capsys, tmp_path, *argv: str, name: str = "report.json") -> dict:
    path = tmp_path / name
    _simulate(capsys, "--topology", TINY, "-q", "--json", str(path), *argv)
    return json.loads(path.read_text())


# ---------------------------------------------------------------- defaults and listings


def test_no_arguments_simulates_resnet18_on_the_default_array(capsys):
    out = _simulate(capsys, "-q")
    head, tail = out.strip().splitlines()
    assert head.startswith("resnet18 on scalesim_default: 32x32 OS, SRAM 64/64/64 KiB")
    assert tail.startswith("total: ") and "cycles" in tail and "MACs" in tail
    assert "1,814,073,344 MACs" in tail  # ResNet-18's 1.81 GMACs


def test_without_a_command_prints_help(capsys):
    assert main([]) == 0
    assert "simulate" in capsys.readouterr().out


def test_list_networks(capsys):
    out = _simulate(capsys, "--list-networks")
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert {"resnet18", "alexnet", "mobilenet_v2", "transformer_block"} <= names


def test_list_presets(capsys):
    out = _simulate(capsys, "--list-presets")
    assert "scalesim_default" in out and "32x32 os" in out


def test_table_lists_every_layer(capsys):
    out = _simulate(capsys, "--topology", TINY)
    lines = out.splitlines()
    assert lines[0].startswith("tiny on scalesim_default: 32x32 OS")
    assert lines[1].split()[:2] == ["layer", "total"] and lines[2].split()[0] == "cycles"
    assert [line.split()[0] for line in lines[3:6]] == TINY_LAYERS
    assert any(line.startswith("total: ") for line in lines[6:])


def test_builtin_network_by_name(capsys):
    out = _simulate(capsys, "--network", "alexnet", "-q")
    assert out.startswith("alexnet on scalesim_default")


# ---------------------------------------------------------------- report files


def test_json_report(capsys, tmp_path):
    report = _json_report(capsys, tmp_path)
    assert {"layers", "totals", "hwloop_version", "config"} <= set(report)
    assert isinstance(report["hwloop_version"], str) and report["hwloop_version"]
    assert [layer["name"] for layer in report["layers"]] == TINY_LAYERS
    for layer in report["layers"]:
        assert LAYER_KEYS <= set(layer)
        assert layer["total_cycles"] > 0 and layer["macs"] > 0
        assert 0 < layer["overall_util"] <= 100
    totals = report["totals"]
    for key in ("total_cycles", "macs", "ifmap_sram_reads", "dram_ofmap_writes"):
        assert totals[key] == sum(layer[key] for layer in report["layers"])
    assert totals["macs"] == 97_603
    config = report["config"]
    accel = config["accelerator"]
    assert accel["name"] == "scalesim_default"
    assert accel["array"] == {"kind": "systolic", "rows": 32, "cols": 32, "dataflow": "os"}
    assert accel["sram"]["ifmap_kb"] == 64
    assert config["workload"]["network"] == "tiny"
    assert Path(config["workload"]["topology"]) == Path(TINY).resolve()
    assert config["scalesim_compat"] is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temp file left


def test_json_records_builtin_workload(capsys, tmp_path):
    path = tmp_path / "r.json"
    _simulate(capsys, "--network", "alexnet", "-q", "--json", str(path))
    workload = json.loads(path.read_text())["config"]["workload"]
    assert workload["builtin"] == "alexnet" and workload["network"] == "alexnet"


def test_csv_and_plot(capsys, tmp_path):
    table, plot = tmp_path / "layers.csv", tmp_path / "cycles.png"
    _simulate(capsys, "--topology", TINY, "-q", "--csv", str(table), "--plot", str(plot))
    with table.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["name"] for row in rows] == TINY_LAYERS
    assert LAYER_KEYS <= set(rows[0])
    assert plot.read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cycles.png", "layers.csv"]


def test_all_outputs_agree(capsys, tmp_path):
    paths = {opt: tmp_path / name for opt, name in
             (("--json", "r.json"), ("--csv", "r.csv"), ("--plot", "r.png"))}
    _simulate(capsys, "--topology", TINY, "-q",
              *[arg for opt, path in paths.items() for arg in (opt, str(path))])
    report = json.loads(paths["--json"].read_text())
    with paths["--csv"].open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["total_cycles"]) for row in rows] == \
        [layer["total_cycles"] for layer in report["layers"]]


def test_existing_output_is_replaced(capsys, tmp_path):
    path = tmp_path / "r.json"
    path.write_text("stale")
    _simulate(capsys, "--topology", TINY, "-q", "--json", str(path))
    assert json.loads(path.read_text())["layers"]


# ---------------------------------------------------------------- overrides and configs


def test_overrides_change_the_array(capsys, tmp_path):
    report = _json_report(capsys, tmp_path, "--rows", "8", "--cols", "4", "--dataflow", "ws",
                          "--ifmap-kb", "16", "--filter-kb", "8", "--ofmap-kb", "4")
    accel = report["config"]["accelerator"]
    assert accel["array"] == {"kind": "systolic", "rows": 8, "cols": 4, "dataflow": "ws"}
    assert (accel["sram"]["ifmap_kb"], accel["sram"]["filter_kb"],
            accel["sram"]["ofmap_kb"]) == (16, 8, 4)
    base = _json_report(capsys, tmp_path, name="base.json")
    assert report["totals"]["total_cycles"] != base["totals"]["total_cycles"]
    assert report["totals"]["macs"] == base["totals"]["macs"]


def test_override_shows_in_the_printed_header(capsys):
    out = _simulate(capsys, "--topology", TINY, "-q", "--rows", "16", "--dataflow", "IS")
    assert ": 16x32 IS," in out.splitlines()[0]


def test_preset(capsys, tmp_path):
    report = _json_report(capsys, tmp_path, "--preset", "eyeriss")
    accel = report["config"]["accelerator"]
    assert accel["name"] == "eyeriss"
    assert accel["array"] == {"kind": "systolic", "rows": 12, "cols": 14, "dataflow": "ws"}


SCALESIM_CFG = """\
[general]
run_name = my_array

[architecture_presets]
ArrayHeight:    16
ArrayWidth:     8
IfmapSramSzkB:  32
FilterSramSzkB: 16
OfmapSramSzkB:  8
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Dataflow:       ws
"""


def test_scalesim_cfg(capsys, tmp_path):
    cfg = tmp_path / "mine.cfg"
    cfg.write_text(SCALESIM_CFG)
    report = _json_report(capsys, tmp_path, "--config", str(cfg))
    accel = report["config"]["accelerator"]
    assert accel["name"] == "my_array"
    assert accel["array"] == {"kind": "systolic", "rows": 16, "cols": 8, "dataflow": "ws"}
    assert (accel["sram"]["ifmap_kb"], accel["sram"]["filter_kb"],
            accel["sram"]["ofmap_kb"]) == (32, 16, 8)
    assert Path(report["config"]["workload"]["config"]) == cfg.resolve()


def test_scalesim_cfg_warns_about_ignored_keys_on_success(capsys, tmp_path):
    cfg = tmp_path / "mine.cfg"
    cfg.write_text(SCALESIM_CFG)
    status = main(["simulate", "--topology", TINY, "-q", "--config", str(cfg)])
    out, err = capsys.readouterr()
    assert status == 0 and out.startswith("tiny on my_array")
    warnings = [line for line in err.splitlines() if line.startswith("hwloop: warning:")]
    assert len(warnings) == 1 and "ifmapoffset" in warnings[0].lower()


def test_hwloop_toml(capsys, tmp_path):
    toml = tmp_path / "mine.toml"
    toml.write_text('name = "toml_array"\npreset = "eyeriss"\nclock_ghz = 0.5\n\n'
                    '[array]\nrows = 16\ndataflow = "is"\n\n[sram]\nifmap_kb = 24\n')
    report = _json_report(capsys, tmp_path, "--config", str(toml))
    accel = report["config"]["accelerator"]
    assert accel["name"] == "toml_array"
    # cols from eyeriss
    assert accel["array"] == {"kind": "systolic", "rows": 16, "cols": 14, "dataflow": "is"}
    assert accel["sram"]["ifmap_kb"] == 24 and accel["sram"]["filter_kb"] == 36
    assert accel["clock_ghz"] == 0.5
    assert report["totals"]["time_s"] == pytest.approx(report["totals"]["total_cycles"] / 0.5e9)


def test_overrides_apply_on_top_of_a_config(capsys, tmp_path):
    cfg = tmp_path / "mine.cfg"
    cfg.write_text(SCALESIM_CFG)
    report = _json_report(capsys, tmp_path, "--config", str(cfg), "--cols", "12",
                          "--dataflow", "os", "--ofmap-kb", "64")
    accel = report["config"]["accelerator"]
    assert accel["array"] == {"kind": "systolic", "rows": 16, "cols": 12, "dataflow": "os"}
    assert accel["sram"]["ofmap_kb"] == 64 and accel["sram"]["ifmap_kb"] == 32


# ---------------------------------------------------------------- SCALE-Sim compatibility


def test_scalesim_compat_adds_rows_plus_cols_ofmap_writes_per_fold(capsys, tmp_path):
    exact = _json_report(capsys, tmp_path, name="exact.json")
    compat = _json_report(capsys, tmp_path, "--scalesim-compat", name="compat.json")
    assert compat["config"]["scalesim_compat"] is True
    rows = cols = 32
    for ours, theirs in zip(exact["layers"], compat["layers"]):
        folds = ours["row_folds"] * ours["col_folds"]
        assert theirs["ofmap_sram_writes"] - ours["ofmap_sram_writes"] == folds * (rows + cols)
        assert theirs["macs"] == ours["macs"]
        assert theirs["ifmap_sram_reads"] == ours["ifmap_sram_reads"]
    assert compat["totals"]["ofmap_sram_writes"] > exact["totals"]["ofmap_sram_writes"]


def test_scalesim_compat_is_marked_in_the_header(capsys):
    out = _simulate(capsys, "--topology", TINY, "-q", "--scalesim-compat")
    assert "(SCALE-Sim compatible numbers)" in out.splitlines()[0]
