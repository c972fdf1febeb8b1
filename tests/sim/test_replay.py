"""What-if replay of recorded traces: recorded settings give the recorded numbers back, other
settings give exactly what ``simulate`` gives; bad traces and options are refused cleanly."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.sim.cli import main
from hwloop.sim.engine import replay
from hwloop.traces import InputError, Layer, Network
from hwloop.traces._hdf5 import seal_trace

NET = Network(name="pair", layers=(
    Layer(name="conv", ifmap_h=12, ifmap_w=12, filter_h=3, filter_w=3, channels=6,
          num_filters=20, stride_h=1, stride_w=1),
    Layer.gemm("fc", 30, 17, 40),
))
BASE = get_preset("scalesim_default").with_overrides(rows=8, cols=8, dataflow="ws", ifmap_kb=1,
                                                     filter_kb=1, ofmap_kb=1)


def same_rows(a, b):
    left = a.layers.drop(columns=["time_s"]).to_dict(orient="records")
    right = b.layers.drop(columns=["time_s"]).to_dict(orient="records")
    assert len(left) == len(right)
    for x, y in zip(left, right):
        for key in x:
            if isinstance(x[key], float) and np.isnan(x[key]):
                assert isinstance(y[key], float) and np.isnan(y[key]), key
            else:
                assert x[key] == y[key], key


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    path = tmp_path_factory.mktemp("trace") / "run.h5"
    report = simulate(NET, BASE.with_overrides(bandwidth=4, dram_latency=3), trace=path)
    return path, report


def test_recorded_settings_give_the_recorded_numbers(recorded):
    path, report = recorded
    assert report.totals["stall_cycles"] > 0
    same_rows(replay(path), report)


@pytest.mark.parametrize("overrides", [{"bandwidth": 1}, {"bandwidth": 64},
                                       {"ifmap_bandwidth": 2, "dram_latency": 0},
                                       {"ofmap_kb": 2, "ifmap_kb": 4}, {"ofmap_bandwidth": 1}])
def test_other_settings_give_what_simulate_gives(recorded, overrides):
    path, _ = recorded
    accel = BASE.with_overrides(bandwidth=4, dram_latency=3).with_overrides(**overrides)
    same_rows(replay(path, overrides=overrides), simulate(NET, accel))


def test_stall_free_trace_replays_at_a_bandwidth(tmp_path):
    path = tmp_path / "free.h5"
    free = simulate(NET, BASE, trace=path)
    assert free.totals["stall_cycles"] == 0
    same_rows(replay(path), free)
    same_rows(replay(path, overrides={"bandwidth": 2}), simulate(NET, BASE.with_overrides(bandwidth=2)))


def test_cli_replay_writes_the_same_report_format(recorded, tmp_path, capsys):
    path, report = recorded
    out = tmp_path / "r.json"
    assert main(["replay", str(path), "--bandwidth", "2", "--json", str(out), "-q"]) == 0
    data = json.loads(out.read_text())
    want = simulate(NET, BASE.with_overrides(bandwidth=2, dram_latency=3))
    assert data["totals"]["total_cycles"] == want.totals["total_cycles"]
    assert data["totals"]["stall_cycles"] == want.totals["stall_cycles"]
    assert set(data["layers"][0]) == set(want.layers.columns)


def test_cli_simulate_trace_then_replay(tmp_path, capsys):
    trace = tmp_path / "t.h5"
    assert main(["simulate", "--network", "alexnet", "--rows", "16", "--cols", "16",
                 "--bandwidth", "8", "--ofmap-bw", "4", "--trace", str(trace), "-q"]) == 0
    first = capsys.readouterr().out
    assert "stall cycles" in first and trace.exists()
    assert main(["replay", str(trace), "-q"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == first.splitlines()[-1]


@pytest.mark.parametrize("argv, says", [
    (["--bandwidth", "0"], "--bandwidth: must be a positive integer"),
    (["--bandwidth", "-3"], "--bandwidth: must be a positive integer"),
    (["--dram-latency", "-1"], "--dram-latency: must be a non-negative integer"),
    (["--ifmap-bw", "1.5"], "--ifmap-bw: must be a positive integer"),
])
def test_bad_memory_options_exit_2_in_one_line(argv, says, capsys):
    assert _exit_code(["simulate", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def _exit_code(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_corrupt_and_truncated_traces_exit_2(recorded, tmp_path, capsys):
    path, _ = recorded
    truncated = tmp_path / "cut.h5"
    data = path.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "junk.h5"
    garbage.write_bytes(b"not an hdf5 file\n" * 100)
    for bad in (truncated, garbage, tmp_path / "missing.h5"):
        assert main(["replay", str(bad), "--bandwidth", "2"]) == 2
        err = capsys.readouterr().err.strip()
        assert str(bad) in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_trace_from_another_array_is_refused(recorded, tmp_path, capsys):
    path, _ = recorded
    config = tmp_path / "other.toml"
    config.write_text("[array]\nrows = 16\ncols = 8\ndataflow = \"ws\"\n")
    assert main(["replay", str(path), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "8x8 WS" in err and "16x8 WS" in err and len(err.strip().splitlines()) == 1


def test_trace_whose_data_does_not_match_its_layer_is_refused(recorded, tmp_path):
    import h5py

    path, _ = recorded
    bad = tmp_path / "edited.h5"
    shutil.copy(path, bad)
    with h5py.File(bad, "r+") as f:
        f["layers/layer_0000/sram/ifmap_read"][5, 0] = 10**6
    seal_trace(bad)  # checksums that match the edit: replay itself must see the bad address
    with pytest.raises(InputError, match="outside the operand"):
        replay(bad)


def test_a_run_killed_while_tracing_leaves_no_file(tmp_path, monkeypatch):
    from hwloop.sim.memory import _trace_record as record

    calls = {"n": 0}
    original = record.LayerRecorder.sram_chunk

    def interrupted(self, chunk):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        original(self, chunk)

    monkeypatch.setattr(record.LayerRecorder, "sram_chunk", interrupted)
    path = tmp_path / "killed.h5"
    with pytest.raises(KeyboardInterrupt):
        simulate(NET, BASE.with_overrides(bandwidth=4), trace=path)
    assert list(tmp_path.iterdir()) == []


def test_unknown_dram_device_is_one_line(capsys):
    assert main(["simulate", "--network", "alexnet", "--dram", "ddr9", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--dram" in err and "ddr4-3200" in err and len(err.splitlines()) == 1


def test_replay_with_a_dram_device(recorded):
    path, _ = recorded
    report = replay(path, overrides={"dram_model": "lpddr4-3200"})
    assert report.config["accelerator"]["dram"]["model"] == "lpddr4-3200"
    assert report.totals["stall_cycles"] >= 0
    same_rows(report, simulate(NET, BASE.with_overrides(bandwidth=4, dram_latency=3,
                                                        dram_model="lpddr4-3200")))
