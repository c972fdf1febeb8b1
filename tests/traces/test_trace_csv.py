"""SCALE-Sim trace CSVs: byte-exact round trips, exact export of hand-built traces, errors."""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from hwloop.traces import (
    InputError,
    TraceWriter,
    _trace_csv,
    export_scalesim_csv,
    import_scalesim_csv,
    open_trace,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "scalesim_traces"
#: tiny_os: SCALE-Sim v3 CALC mode; small_os_stalls: USER mode, whose stalls give the ifmap and
#: filter SRAM rows cycles of their own (see the README.md in each case folder).
CASES = ("tiny_os", "small_os_stalls")
FILES = ("IFMAP_SRAM_TRACE.csv", "FILTER_SRAM_TRACE.csv", "OFMAP_SRAM_TRACE.csv",
         "IFMAP_DRAM_TRACE.csv", "FILTER_DRAM_TRACE.csv", "OFMAP_DRAM_TRACE.csv")


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("rows", [65536, 7])  # 7: every chunk boundary case is crossed
def test_export_of_import_gives_scalesims_bytes(tmp_path, monkeypatch, case, rows):
    monkeypatch.setattr(_trace_csv, "_ROWS", rows)
    trace = import_scalesim_csv(DATA / case, tmp_path / "t.h5", attrs={"source": case})
    written = export_scalesim_csv(trace, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == sorted(
        f"layer0/{name}" for name in FILES)
    for name in FILES:
        want = (DATA / case / "layer0" / name).read_bytes()
        assert (tmp_path / "out" / "layer0" / name).read_bytes() == want, name
    assert sorted(p.name for p in (tmp_path / "out" / "layer0").iterdir()) == sorted(FILES)


def test_import_strips_offsets_and_keeps_one_record_per_word(tmp_path):
    trace = import_scalesim_csv(DATA / "tiny_os", tmp_path / "t.h5", attrs={"arch": {"r": 4}})
    ofmap = np.loadtxt(DATA / "tiny_os" / "layer0" / "OFMAP_SRAM_TRACE.csv", delimiter=",",
                       dtype=np.int64)
    with open_trace(trace) as opened:
        assert opened.attrs == {"arch": {"r": 4}}
        (layer,) = opened.layers
        assert (layer.index, layer.name) == (0, "layer0")
        assert np.array_equal(layer.read("sram/cycle"), ofmap[:, 0])
        assert not layer.has("sram/ifmap_read_cycle")  # CALC mode: no stalls
        filt = layer.read("sram/filter_read")
        assert filt.dtype == np.int32 and filt.shape == (192, 4)
        assert filt[1].tolist() == [1, 18, -1, -1]  # "2,10000001,10000018,-1,-1"
        assert layer.dataset_attrs("sram/filter_read")["address_offset"] == 10_000_000
        assert layer.read("sram/ofmap_write")[17].tolist() == [15, -1, -1, -1]
        # IFMAP DRAM: 72 words in cycles -66..-59, then 58 rows of only -1 kept as one -1 each
        cycles = layer.read("dram/ifmap_read/cycle")
        addresses = layer.read("dram/ifmap_read/address")
        assert len(addresses) == 72 + 58 and np.count_nonzero(addresses != -1) == 72
        assert cycles[:11].tolist() == [-66] * 10 + [-65]
        assert addresses[70:74].tolist() == [70, 71, -1, -1] and cycles[72] == -58
        assert layer.dataset_attrs("dram/ifmap_read/address")["row_width"] == 10


def test_stalled_rows_keep_their_own_cycles(tmp_path):
    trace = import_scalesim_csv(DATA / "small_os_stalls", tmp_path / "t.h5")
    ifmap = np.loadtxt(DATA / "small_os_stalls" / "layer0" / "IFMAP_SRAM_TRACE.csv",
                       delimiter=",", dtype=np.int64)
    with open_trace(trace) as opened:
        layer = opened.layers[0]
        assert np.array_equal(layer.read("sram/ifmap_read_cycle"), ifmap[:, 0])
        assert not np.array_equal(layer.read("sram/cycle") + 1, ifmap[:, 0])


def _hand_built(path, *, dram_offset=None, short_cycles=False):
    with TraceWriter(path) as writer:
        layer = writer.add_layer(0, "a")
        layer.append("sram/cycle", np.array([0, 1, 2] if not short_cycles else [0, 1]))
        layer.append("sram/ifmap_read", np.array([[0, -1], [1, 2], [-1, -1]], dtype=np.int32))
        layer.append("sram/ofmap_write", np.array([[-1, 3], [4, -1], [5, 6]], dtype=np.int32),
                     attrs={"address_offset": 100})
        attrs = {} if dram_offset is None else {"address_offset": dram_offset}
        layer.append("dram/filter_read/address", np.array([5, 6, 7, 8, 9, 10]), attrs=attrs)
        layer.append("dram/filter_read/cycle", np.array([-3, -3, -2, 7, 7, 7]))
        other = writer.add_layer(2, "b")
        other.append("dram/ofmap_write/address", np.array([], dtype=np.int64))
        other.append("dram/ofmap_write/cycle", np.array([], dtype=np.int64))
    return path


@pytest.mark.parametrize("rows", [65536, 1, 2, 4])
def test_export_of_a_hand_built_trace(tmp_path, monkeypatch, rows):
    monkeypatch.setattr(_trace_csv, "_ROWS", rows)
    trace = _hand_built(tmp_path / "t.h5")
    export_scalesim_csv(trace, tmp_path / "out")
    layer0 = tmp_path / "out" / "layer0"
    assert sorted(p.name for p in layer0.iterdir()) == ["FILTER_DRAM_TRACE.csv",
                                                         "IFMAP_SRAM_TRACE.csv",
                                                         "OFMAP_SRAM_TRACE.csv"]
    # ifmap reads one cycle after the row, default offset 0; ofmap at the row, offset attr 100
    assert (layer0 / "IFMAP_SRAM_TRACE.csv").read_text() == "1,0,-1\n2,1,2\n3,-1,-1\n"
    assert (layer0 / "OFMAP_SRAM_TRACE.csv").read_text() == "0,-1,103\n1,104,-1\n2,105,106\n"
    # DRAM: one row per cycle, padded to the busiest cycle, default filter offset, floats
    assert (layer0 / "FILTER_DRAM_TRACE.csv").read_text() == (
        "-3.0,10000005.0,10000006.0,-1.0\n-2.0,10000007.0,-1.0,-1.0\n"
        "7.0,10000008.0,10000009.0,10000010.0\n")
    assert (tmp_path / "out" / "layer2" / "OFMAP_DRAM_TRACE.csv").read_text() == ""


def test_export_takes_the_dram_offset_attr(tmp_path):
    export_scalesim_csv(_hand_built(tmp_path / "t.h5", dram_offset=1000), tmp_path / "out")
    text = (tmp_path / "out" / "layer0" / "FILTER_DRAM_TRACE.csv").read_text()
    assert text.splitlines()[0] == "-3.0,1005.0,1006.0,-1.0"


def test_a_failed_export_leaves_no_file_behind(tmp_path):
    trace = _hand_built(tmp_path / "t.h5", short_cycles=True)
    with pytest.raises(InputError, match="3 rows of 'sram/ifmap_read' but 2 of 'sram/cycle'"):
        export_scalesim_csv(trace, tmp_path / "out")
    out = tmp_path / "out"  # the damage is found while sizing the export, before any folder
    assert not out.exists() or [p for p in out.rglob("*") if not p.is_dir()] == []


def _bad_copy(tmp_path, name, edit):
    folder = tmp_path / "in"
    shutil.copytree(DATA / "tiny_os", folder)
    path = folder / "layer0" / name
    lines = path.read_text().splitlines(keepends=True)
    edit(lines)
    path.write_text("".join(lines))
    return folder


@pytest.mark.parametrize("name, edit, line, field, reason", [
    ("IFMAP_SRAM_TRACE.csv", lambda ls: ls.__setitem__(4, "5,4,x5,6,7\n"), 5, "column 3",
     "not an integer: 'x5'"),
    ("FILTER_SRAM_TRACE.csv", lambda ls: ls.__setitem__(9, "10,1,2,3,4,5\n"), 10, "column 6",
     "ragged row: 6 fields, but the first row has 5"),
    ("OFMAP_SRAM_TRACE.csv", lambda ls: ls.__setitem__(2, "2,-1,-1\n"), 3, "column 4",
     "empty or missing field"),
    ("OFMAP_SRAM_TRACE.csv", lambda ls: ls.__setitem__(2, "\n"), 3, "column 1",
     "empty or missing field"),
    ("IFMAP_DRAM_TRACE.csv", lambda ls: ls.__setitem__(1, "-65.0,10.5,-1.0" + ",-1.0" * 8 + "\n"),
     2, "column 2", "not an integer: '10.5'"),
    ("FILTER_SRAM_TRACE.csv", lambda ls: ls.__setitem__(1, "2,17,-1,-1,-1\n"), 2, "column 2",
     "address 17 is not in [10000000,"),
])
def test_malformed_csvs_name_file_line_and_column(tmp_path, name, edit, line, field, reason):
    folder = _bad_copy(tmp_path, name, edit)
    target = tmp_path / "t.h5"
    with pytest.raises(InputError) as info:
        import_scalesim_csv(folder, target)
    message = str(info.value)
    assert message.startswith(f"{folder / 'layer0' / name}:{line}: field '{field}': "), message
    assert reason in message and "\n" not in message
    assert not target.exists() and [p.name for p in tmp_path.iterdir()] == ["in"]


def test_sram_traces_of_different_lengths_are_refused(tmp_path):
    folder = _bad_copy(tmp_path, "FILTER_SRAM_TRACE.csv", lambda ls: ls.pop())
    with pytest.raises(InputError, match=r"IFMAP_SRAM_TRACE\.csv:192: more rows than the 191 "
                                         r"of FILTER_SRAM_TRACE\.csv"):
        import_scalesim_csv(folder, tmp_path / "t.h5")


def test_a_folder_without_layers_is_refused(tmp_path):
    with pytest.raises(InputError, match="no such directory"):
        import_scalesim_csv(tmp_path / "none", tmp_path / "t.h5")
    with pytest.raises(InputError, match=r"no layer<N> folders"):
        import_scalesim_csv(tmp_path, tmp_path / "t.h5")
    assert list(tmp_path.iterdir()) == []


def test_other_offsets_and_missing_files(tmp_path):
    folder = tmp_path / "in" / "layer3"
    folder.mkdir(parents=True)
    (folder / "FILTER_SRAM_TRACE.csv").write_text("1,500,-1\n2,501,502\n")
    (folder / "OFMAP_DRAM_TRACE.csv").write_text("")
    # rows padded wider than the busiest cycle, a leading -1 and a row without a word
    (folder / "IFMAP_DRAM_TRACE.csv").write_text("5.0,1.0,-1.0,-1.0\n6.0,-1.0,2.0,-1.0\n"
                                                 "7.0,-1.0,-1.0,-1.0\n")
    trace = import_scalesim_csv(tmp_path / "in", tmp_path / "t.h5", offsets={"filter": 500})
    with open_trace(trace) as opened:
        layer = opened.layers[0]
        assert layer.index == 3 and not layer.has("sram/ifmap_read")
        assert layer.read("sram/cycle").tolist() == [0, 1]  # filter rows are one cycle late
        assert layer.read("sram/filter_read").tolist() == [[0, -1], [1, 2]]
        assert layer.length("dram/ofmap_write/address") == 0
        assert layer.read("dram/ifmap_read/address").tolist() == [1, -1, 2, -1]
        assert layer.read("dram/ifmap_read/cycle").tolist() == [5, 6, 6, 7]
    export_scalesim_csv(trace, tmp_path / "out")
    for name in ("FILTER_SRAM_TRACE.csv", "OFMAP_DRAM_TRACE.csv", "IFMAP_DRAM_TRACE.csv"):
        assert (tmp_path / "out" / "layer3" / name).read_bytes() == (folder / name).read_bytes()


class _Bar:
    """Stands in for the progress bar: records its total and what was counted."""

    made: list["_Bar"] = []

    def __init__(self, show, total, unit, desc, *, scale=False):
        self.show, self.total, self.unit, self.desc, self.n = show, total, unit, desc, 0
        _Bar.made.append(self)

    def update(self, n=1):
        self.n += n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def _written_bytes(paths):
    return sum(Path(p).stat().st_size for p in paths)


@pytest.mark.parametrize("case", CASES)
def test_export_announces_its_size_and_counts_every_byte(tmp_path, monkeypatch, case):
    """Traces shorter than the estimate's sample are sized exactly, DRAM padding included."""
    trace = import_scalesim_csv(DATA / case, tmp_path / "t.h5")
    monkeypatch.setattr(_trace_csv, "progress_bar", _Bar)
    _Bar.made.clear()
    told = []
    written = export_scalesim_csv(trace, tmp_path / "out", progress=True,
                                  announce=lambda files, size: told.append((files, size)))
    assert told == [(6, _written_bytes(written))]
    (bar,) = _Bar.made
    assert bar.show and bar.unit == "B" and bar.n == bar.total == _written_bytes(written)


def test_export_estimate_from_a_sample_is_close(tmp_path, monkeypatch):
    trace = import_scalesim_csv(DATA / "small_os_stalls", tmp_path / "t.h5")
    monkeypatch.setattr(_trace_csv, "_SAMPLE", 16)  # a sample of a few rows, then scaled
    told = []
    written = export_scalesim_csv(trace, tmp_path / "out", announce=lambda *a: told.append(a))
    assert told[0][1] == pytest.approx(_written_bytes(written), rel=0.25)


def test_import_counts_every_byte_it_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(_trace_csv, "progress_bar", _Bar)
    monkeypatch.setattr(_trace_csv, "_ROWS", 50)  # several chunks per file
    _Bar.made.clear()
    import_scalesim_csv(DATA / "small_os_stalls", tmp_path / "t.h5", progress=True)
    (bar,) = _Bar.made
    size = _written_bytes((DATA / "small_os_stalls" / "layer0").glob("*_TRACE.csv"))
    assert bar.show and bar.n == bar.total == size


def test_trace_commands_show_progress_on_a_terminal(tmp_path, monkeypatch, capsys):
    from hwloop.sim.cli import main

    trace = import_scalesim_csv(DATA / "tiny_os", tmp_path / "t.h5")
    assert main(["trace", "export", str(trace), str(tmp_path / "quiet")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("hwloop: writing about ") and err.count("\n") == 1  # no bar
    assert re.fullmatch(r"hwloop: writing about [\d.]+ kB in 6 files under \S+quiet\n", err)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["trace", "export", str(trace), str(tmp_path / "shown")]) == 0
    assert main(["trace", "import", str(tmp_path / "shown"), str(tmp_path / "back.h5")]) == 0
    assert main(["trace", "summary", str(trace)]) == 0
    err = capsys.readouterr().err
    for name in ("export", "import", "summary"):
        assert re.search(rf"{name}: 100%", err), err
