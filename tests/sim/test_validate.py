"""``hwloop validate``: the comparison numbers on hand-made cases, the CLI end to end on each
prediction source (analytical model, PRED.csv, stored ZigZag runs), and bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hwloop.sim.analytical import Prediction, compare, kendall_tau, read_zigzag_json
from hwloop.sim.cli import main
from hwloop.traces import LayerKind, load_topology

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = DATA / "topologies" / "tiny.csv"
ZIGZAG = sorted((DATA / "zigzag" / "latency").glob("*.json"))
JSON_KEYS = {"mape", "max_abs_pct_error", "kendall_tau", "layers"}


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def test_mape_worst_and_tau_on_a_hand_made_case():
    sim = {"a": Prediction(100), "b": Prediction(200), "c": Prediction(400)}
    pred = {"a": Prediction(110), "b": Prediction(180), "c": Prediction(400)}
    v = compare(pred, sim, source="hand")
    assert list(v.layers["error_pct"]) == pytest.approx([10.0, -10.0, 0.0])
    assert v.mape == pytest.approx(20 / 3)
    assert v.max_abs_pct_error == pytest.approx(10.0)
    assert v.kendall_tau == pytest.approx(1.0)  # same order
    assert v.mape_energy is None
    # swap the order of two layers: 2 concordant and 1 discordant pair of 3 -> tau = 1/3
    swapped = {"a": Prediction(250), "b": Prediction(180), "c": Prediction(400)}
    assert compare(swapped, sim, source="hand").kendall_tau == pytest.approx(1 / 3)
    assert kendall_tau([1.0], [2.0]) is None


def test_energy_mape_only_when_every_layer_has_energy():
    sim = {"a": Prediction(100, 1000.0), "b": Prediction(200, 2000.0)}
    v = compare({"a": Prediction(100, 1100.0), "b": Prediction(200, 1500.0)}, sim, source="e")
    assert v.mape_energy == pytest.approx((10 + 25) / 2)
    assert v.to_dict()["mape_energy"] == pytest.approx(17.5)
    assert "mape_energy" not in compare({"a": Prediction(1, 1.0), "b": Prediction(2)}, sim,
                                        source="e").to_dict()


def _check_json(path: Path, layers: int) -> dict:
    data = json.loads(path.read_text())
    assert JSON_KEYS <= set(data)
    assert len(data["layers"]) == layers
    for row in data["layers"]:
        assert {"layer", "predicted", "simulated", "error_pct"} <= set(row)
    return data


def test_cli_analytical_end_to_end(tmp_path, capsys):
    out = tmp_path / "v.json"
    status, stdout, err = _run(["validate", "--analytical", "--topology", str(TINY), "--rows", "8",
                                "--cols", "8", "--json", str(out), "--plot",
                                str(tmp_path / "v.png"), "--csv", str(tmp_path / "v.csv")], capsys)
    assert status == 0, err
    data = _check_json(out, 3)
    assert data["mape"] == 0.0 and data["max_abs_pct_error"] == 0.0  # stall-free: exact
    assert data["kendall_tau"] == pytest.approx(1.0)
    assert "mape_energy" in data
    assert (tmp_path / "v.png").stat().st_size > 0
    assert "MAPE" in stdout
    status, _, err = _run(["validate", "--analytical", "--topology", str(TINY), "--bandwidth", "2",
                           "--json", str(out), "-q"], capsys)
    assert status == 0, err
    assert json.loads(out.read_text())["mape"] >= 0


def test_cli_predictions_csv(tmp_path, capsys):
    names = [layer.name for layer in load_topology(TINY).layers]
    pred = tmp_path / "pred.csv"
    pred.write_text("layer,cycles,energy_pj\n" + "".join(f"{n},{1000 * (i + 1)},5e5\n"
                                                       for i, n in enumerate(names)))
    out = tmp_path / "v.json"
    status, _, err = _run(["validate", "--predictions", str(pred), "--topology", str(TINY),
                           "--json", str(out)], capsys)
    assert status == 0, err
    data = _check_json(out, 3)
    assert [row["predicted"] for row in data["layers"]] == [1000, 2000, 3000]
    assert data["mape_energy"] > 0


def test_cli_stored_zigzag_runs(tmp_path, capsys):
    assert len(ZIGZAG) == 8
    out = tmp_path / "z.json"
    status, _, err = _run(["validate", "--zigzag", *map(str, ZIGZAG), "--json", str(out),
                           "--plot", str(tmp_path / "z.png")], capsys)
    assert status == 0, err
    data = _check_json(out, 8)
    by_name = {row["layer"]: row for row in data["layers"]}
    assert by_name["r18_layer1_conv3x3_tpu_like"]["predicted"] == 139872
    assert "mape_energy" in data


def test_zigzag_layer_shapes():
    conv1 = read_zigzag_json(DATA / "zigzag" / "latency" / "r18_conv1_pad3_tpu_like.json")
    layer = conv1.layer
    assert (layer.ofmap_h, layer.ofmap_w, layer.channels, layer.num_filters) == (112, 112, 3, 64)
    assert layer.macs == 118013952  # ZigZag's total_mac_count
    assert conv1.dataflow == "ws" and conv1.array == (32, 32)
    dw = read_zigzag_json(DATA / "zigzag" / "latency" / "mbv2_dw3x3_generic32x32.json").layer
    assert dw.kind is LayerKind.DEPTHWISE and dw.groups == 32 and dw.ofmap_pixels == 112 * 112


BAD_CSV = {
    "unknown": ("layer,cycles\nc3x3,10\nnope,5\nzap,6\n",
                ":3: field 'layer': unknown layer name(s) 'nope', 'zap'"),
    "fields": ("layer,cycles\nc3x3,10,7\n", ":2: expected 2 fields"),
    "number": ("layer,cycles\nc3x3,ten\n", ":2: field 'cycles': not a number"),
    "header": ("name,cycles\nc3x3,10\n", ":1: field 'layer'"),
    "empty": ("", ":1: empty predictions file"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_bad_predictions_csv(tmp_path, capsys, case):
    text, expected = BAD_CSV[case]
    pred = tmp_path / f"{case}.csv"
    pred.write_text(text)
    out = tmp_path / "v.json"
    status, stdout, err = _run(["validate", "--predictions", str(pred), "--topology", str(TINY),
                                "--json", str(out)], capsys)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("hwloop: error: ")
    assert f"{pred}{expected}" in err
    assert "Traceback" not in err and not out.exists() and stdout == ""


@pytest.mark.parametrize("text, expected", [
    ('{"layer": {"K": 4,', "not valid JSON"),
    ('[1, 2]', "no 'layer' object"),
    ('{"layer": {"K": 4, "C": 4, "P": 4, "Q": 4, "R": 3, "S": 3}}', "field 'latency_cycles': missing"),
    ('{"layer": {"K": 4, "C": 4, "P": 0, "Q": 4, "R": 3, "S": 3}, "latency_cycles": 5}',
     "field 'P': must be a positive integer"),
])
def test_bad_zigzag_json(tmp_path, capsys, text, expected):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    status, _, err = _run(["validate", "--zigzag", str(bad)], capsys)
    assert status == 2
    assert err.count("\n") == 1 and str(bad) in err and expected in err, err


def test_usage_errors_are_one_line(capsys):
    status, _, err = _run(["validate", "--topology", str(TINY)], capsys)  # no prediction source
    assert status == 2 and err.count("\n") == 1
    status, _, err = _run(["validate", "--analytical"], capsys)  # no workload
    assert status == 2 and "--network" in err and err.count("\n") == 1


def test_bad_input_as_a_real_process(tmp_path):
    pred = tmp_path / "p.csv"
    pred.write_text("layer,cycles\nmissing_layer,5\n")
    done = subprocess.run([sys.executable, "-m", "hwloop.sim.cli", "validate", "--predictions",
                           str(pred), "--topology", str(TINY)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "missing_layer" in done.stderr
    assert f"{pred}:2:" in done.stderr and "Traceback" not in done.stderr
