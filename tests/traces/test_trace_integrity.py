"""Whole-file integrity of HDF5 traces: bad attrs and damaged or unchecked datasets are one-line
errors before any use (whatever a command reads), and partial files of killed runs are removed
by the next run to the same path, but never those of a live writer."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.sim.cli import main
from hwloop.traces import InputError, Layer, TraceWriter, export_scalesim_csv, open_trace
from hwloop.traces._hdf5 import STALE_AFTER_S, _host, seal_trace

LAYER = Layer(name="conv", ifmap_h=8, ifmap_w=8, filter_h=3, filter_w=3, channels=4,
              num_filters=8)
ACCEL = get_preset("scalesim_default").with_overrides(rows=4, cols=4, ifmap_kb=1, filter_kb=1,
                                                      ofmap_kb=1, bandwidth=2)
#: A dataset that neither `replay` nor the first stream of `trace summary` reads first.
UNREAD = "layers/layer_0000/dram/ofmap_write/cycle"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "run.h5"
    simulate(LAYER, ACCEL, trace=path)
    return path


@pytest.fixture
def trace(recorded, tmp_path):
    """A fresh copy of the recorded trace to damage."""
    path = tmp_path / "copy.h5"
    shutil.copy(recorded, path)
    return path


def _one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("command", [["replay"], ["trace", "summary"]])
@pytest.mark.parametrize("attr, text", [("config", "{not json"),
                                        ("json_attrs", "[config")])
def test_an_attr_that_is_not_json_is_one_line(trace, capsys, command, attr, text):
    with h5py.File(trace, "r+") as file:
        assert "config" in file.attrs
        file.attrs[attr] = text
    err = _one_line_error(capsys, [*command, str(trace)])
    assert str(trace) in err and f"field '{attr}'" in err and "not valid JSON" in err


def test_a_config_that_is_no_object_is_one_line(trace, capsys):
    with h5py.File(trace, "r+") as file:
        file.attrs["config"] = "[1, 2]"
    err = _one_line_error(capsys, ["replay", str(trace)])
    assert str(trace) in err and "field 'config'" in err and "JSON object" in err


def _damage_chunk(path, name: str) -> None:
    """Overwrite bytes inside the first stored chunk of ``name``, as a disk error would."""
    with h5py.File(path, "r") as file:
        info = file[name].id.get_chunk_info(0)
    with open(path, "r+b") as handle:
        handle.seek(info.byte_offset + info.size // 2)
        handle.write(b"\x00\xff" * 4)


def _edit_values(path, name: str) -> None:
    with h5py.File(path, "r+") as file:
        file[name][0] += 1


@pytest.mark.parametrize("damage", [_damage_chunk, _edit_values])
@pytest.mark.parametrize("command", [["replay"], ["trace", "summary"]])
def test_damage_in_a_dataset_no_command_reads_is_refused(trace, capsys, damage, command):
    assert main(["replay", str(trace), "-q"]) == 0
    capsys.readouterr()
    damage(trace, UNREAD)
    err = _one_line_error(capsys, [*command, str(trace)])
    assert err.endswith(f"{trace}: field '/{UNREAD}': the dataset does not match its checksum: "
                        "the file is damaged or was edited")


def test_a_missing_checksum_or_an_unchecked_dataset_is_refused(trace, tmp_path):
    other = tmp_path / "other.h5"
    shutil.copy(trace, other)
    with h5py.File(trace, "r+") as file:
        del file[UNREAD].attrs["checksum"]
    with h5py.File(other, "r+") as file:
        file["layers/layer_0000/extra"] = np.arange(4)
    for path, field in ((trace, f"/{UNREAD}"), (other, "/layers/layer_0000/extra")):
        with pytest.raises(InputError) as info:
            open_trace(path)
        assert str(info.value) == (f"{path}: field '{field}': the dataset has no checksum: the "
                                   "file was not written by hwloop or was edited")


def test_a_trace_from_before_checksums_is_refused_saying_so(trace, capsys):
    with h5py.File(trace, "r+") as file:
        file.attrs["format_version"] = 1
        for name in ("layers/layer_0000/sram/cycle", UNREAD):
            del file[name].attrs["checksum"]
    err = _one_line_error(capsys, ["replay", str(trace)])
    assert "field 'format_version'" in err and "before traces carried checksums" in err


def test_sealing_an_edited_trace_makes_it_open_again(trace):
    _edit_values(trace, UNREAD)
    with pytest.raises(InputError, match="checksum"):
        open_trace(trace)
    seal_trace(trace)
    with open_trace(trace) as opened:
        assert opened.format_version == 2


def test_every_dataset_is_checked_once_when_linked(tmp_path):
    # Identical layers share their datasets (hard links): one checksum serves both names.
    with TraceWriter(tmp_path / "linked.h5") as writer:
        first = writer.add_layer(0, "a")
        first.append("sram/cycle", np.arange(10))
        writer.add_layer(1, "b").link_datasets(first)
    with open_trace(tmp_path / "linked.h5") as opened:
        assert np.array_equal(opened.layers[1].read("sram/cycle"), np.arange(10))


# ------------------------------------------------------------------------- partial files


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _partial(folder, name: str, age_s: float = 0.0):
    path = folder / name
    path.write_bytes(b"partial")
    if age_s:
        then = time.time() - age_s
        os.utime(path, (then, then))
    return path


def test_the_next_run_removes_stale_partials_only(tmp_path):
    host, old = _host(), STALE_AFTER_S + 60
    stale = [_partial(tmp_path, f".run.h5.partial-{_dead_pid()}@{host}-0123abcd.h5"),
             _partial(tmp_path, ".run.h5.partial-89abcdef.h5", age_s=old),  # no pid: old
             _partial(tmp_path, ".run.h5.partial-1@elsewhere.example-0000ffff.h5", age_s=old)]
    kept = [_partial(tmp_path, f".run.h5.partial-{os.getppid()}@{host}-11111111.h5"),  # live
            _partial(tmp_path, ".run.h5.partial-22222222.h5"),  # no pid, recent
            _partial(tmp_path, ".run.h5.partial-3@elsewhere.example-33333333.h5"),  # recent
            _partial(tmp_path, f".run.h5.partial-{_dead_pid()}@{host}-44444444"),  # CSV kind
            _partial(tmp_path, f".other.h5.partial-{_dead_pid()}@{host}-55555555.h5")]
    with TraceWriter(tmp_path / "run.h5") as writer:
        writer.add_layer(0, "l").append("sram/cycle", np.arange(3))
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in kept] + ["run.h5"])


WRITER = """
import sys, time
import numpy as np
from hwloop.traces import TraceWriter
writer = TraceWriter(sys.argv[1])
writer.add_layer(0, "l").append("sram/cycle", np.arange(1000))
writer._file.flush()
print("ready", flush=True)
time.sleep(60)
"""


def test_a_partial_left_by_a_killed_run_is_removed_by_the_next(tmp_path):
    target = tmp_path / "run.h5"
    live = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert live.stdout is not None and live.stdout.readline().strip() == "ready"
        (partial,) = tmp_path.iterdir()
        with TraceWriter(target):  # another run while the first is alive: its file stays
            pass
        assert partial.exists()
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait()
    assert partial.exists()
    with TraceWriter(target) as writer:
        writer.add_layer(0, "l").append("sram/cycle", np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]
    with open_trace(target) as opened:
        assert opened.layers[0].length("sram/cycle") == 3


def test_an_export_removes_stale_csv_partials(recorded, tmp_path):
    folder = tmp_path / "csv" / "layer0"
    folder.mkdir(parents=True)
    stale = _partial(folder, f".IFMAP_SRAM_TRACE.csv.partial-{_dead_pid()}@{_host()}-0123abcd")
    export_scalesim_csv(recorded, tmp_path / "csv")
    assert not stale.exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
