"""HDF5 trace files: round trips, attrs, atomic writes, and refusing bad or partial files."""
from __future__ import annotations

import gc
import shutil

import h5py
import numpy as np
import pytest

from hwloop.traces import InputError, LayerTrace, TraceWriter, open_trace
from hwloop.traces._hdf5 import seal_trace


def _write_two_layers(path):
    """A small two-layer trace; layer 1 is added first and gets its attrs at the end."""
    rng = np.random.default_rng(0)
    ifmap = rng.integers(-1, 1000, size=(50, 4), dtype=np.int32)
    cycles = np.arange(50, dtype=np.int64) * 2
    with TraceWriter(path, attrs={"architecture": {"rows": 4, "cols": 4}, "units": ["w", "c"],
                                  "hwloop_version": "0.1.0", "clock_ghz": 1.5,
                                  "note": None}) as writer:
        late = writer.add_layer(index=1, name="block/conv 2", attrs={"kind": "conv"})
        late.append("dram/ifmap_read/address", np.arange(5), attrs={"address_offset": 7})
        first = writer.add_layer(index=0, name="conv1")
        for start, stop in ((0, 13), (13, 13), (13, 40), (40, 50)):  # uneven, one empty
            first.append("sram/ifmap_read", ifmap[start:stop], attrs={"units": "word"})
        first.append("sram/cycle", cycles[:20])
        first.append("sram/cycle", cycles[20:])
        late.append("dram/ifmap_read/address", np.arange(5, 9))  # earlier layer, again
        late.set_attrs({"report": {"total_cycles": 99}, "groups": 1})
    return ifmap, cycles


def test_round_trip_values_attrs_and_layer_order(tmp_path):
    path = tmp_path / "run.h5"
    ifmap, cycles = _write_two_layers(path)
    with open_trace(path) as trace:
        assert trace.attrs == {"architecture": {"rows": 4, "cols": 4}, "units": ["w", "c"],
                               "hwloop_version": "0.1.0", "clock_ghz": 1.5, "note": None}
        assert trace.format_version == 2
        assert [(layer.index, layer.name) for layer in trace.layers] == [(0, "conv1"),
                                                                          (1, "block/conv 2")]
        first, late = trace.layers
        assert isinstance(first, LayerTrace)
        assert first.attrs == {}
        assert late.attrs == {"kind": "conv", "report": {"total_cycles": 99}, "groups": 1}
        got = first.read("sram/ifmap_read")
        assert got.dtype == np.int32 and np.array_equal(got, ifmap)
        assert np.array_equal(first.read("sram/cycle"), cycles)
        assert first.length("sram/ifmap_read") == 50 and first.shape("sram/ifmap_read") == (50, 4)
        assert first.dataset_attrs("sram/ifmap_read") == {"units": "word"}
        assert first.has("sram/cycle") and not first.has("sram") and not first.has("dram/x")
        chunks = list(first.iter_chunks("sram/ifmap_read", rows=16))
        assert [len(chunk) for chunk in chunks] == [16, 16, 16, 2]
        assert np.array_equal(np.concatenate(chunks), ifmap)
        assert np.array_equal(late.read("dram/ifmap_read/address"), np.arange(9))
        assert late.dataset_attrs("dram/ifmap_read/address") == {"address_offset": 7}
        assert trace.layer(1) is late


def test_datasets_are_chunked_about_1mib_and_compressed(tmp_path):
    path = tmp_path / "run.h5"
    with TraceWriter(path) as writer:
        layer = writer.add_layer(0, "l")
        layer.append("sram/ifmap_read", np.full((10, 32), -1, dtype=np.int32))
        layer.append("sram/cycle", np.arange(10))
    with h5py.File(path, "r") as file:
        rows = file["layers/layer_0000/sram/ifmap_read"]
        assert rows.chunks == (8192, 32) and rows.maxshape == (None, 32)
        assert rows.compression == "gzip" and rows.shuffle
        assert file["layers/layer_0000/sram/cycle"].chunks == (131072,)
        assert file.attrs["format"] == "hwloop-trace" and file.attrs["complete"]


def test_appends_must_match_the_dataset(tmp_path):
    with TraceWriter(tmp_path / "run.h5") as writer:
        layer = writer.add_layer(0, "l")
        layer.append("sram/ifmap_read", np.zeros((2, 4), dtype=np.int32))
        layer.append("sram/ifmap_read", np.zeros((2, 4), dtype=np.int16))  # safe cast is fine
        with pytest.raises(ValueError, match="shape"):
            layer.append("sram/ifmap_read", np.zeros((2, 5), dtype=np.int32))
        with pytest.raises(ValueError, match="int64"):
            layer.append("sram/ifmap_read", np.zeros((2, 4), dtype=np.int64))
        for bad in ("", "/abs", "a//b", "a/../b"):
            with pytest.raises(ValueError, match="slash path"):
                layer.append(bad, np.zeros(2))
        with pytest.raises(ValueError, match="group"):
            layer.append("sram", np.zeros(2))
        with pytest.raises(ValueError, match="numeric"):
            layer.append("names", np.array(["a", "b"]))
        with pytest.raises(ValueError, match="already"):
            writer.add_layer(0, "again")
        with pytest.raises(ValueError, match="reserved"):
            layer.set_attrs({"index": 3})
        with pytest.raises(ValueError, match="reserved"):
            writer.set_attrs({"complete": True})
    assert (tmp_path / "run.h5").is_file()


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_error_inside_the_block_leaves_no_file(tmp_path, error):
    target = tmp_path / "run.h5"
    with pytest.raises(error):
        with TraceWriter(target) as writer:
            writer.add_layer(0, "l").append("sram/cycle", np.arange(100))
            assert [p.name.startswith(".run.h5.partial-") for p in tmp_path.iterdir()] == [True]
            assert not target.exists()
            raise error("stop")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rewrite_keeps_the_old_file(tmp_path):
    target = tmp_path / "run.h5"
    _write_two_layers(target)
    before = target.read_bytes()
    with pytest.raises(ValueError):
        with TraceWriter(target, attrs={"architecture": "new"}) as writer:
            writer.add_layer(0, "l").append("x", np.zeros(3))
            writer.add_layer(0, "duplicate")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]


def test_an_abandoned_writer_removes_its_partial_file(tmp_path):
    writer = TraceWriter(tmp_path / "run.h5")
    writer.add_layer(0, "l").append("sram/cycle", np.arange(10))
    del writer
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_an_incomplete_file_is_refused(tmp_path):
    # What a killed writer leaves behind: a well-formed file whose complete flag is False.
    writer = TraceWriter(tmp_path / "run.h5")
    writer.add_layer(0, "l").append("sram/cycle", np.arange(10))
    writer._file.flush()
    partial = next(tmp_path.iterdir())
    shutil.copy(partial, tmp_path / "left.h5")
    writer.abort()
    for name, complete in (("left.h5", None), ("no_flag.h5", "delete"), ("false.h5", False)):
        path = tmp_path / name
        if name != "left.h5":
            _write_two_layers(path)
            with h5py.File(path, "r+") as file:
                if complete == "delete":
                    del file.attrs["complete"]
                else:
                    file.attrs["complete"] = complete
        with pytest.raises(InputError) as info:
            open_trace(path)
        message = str(info.value)
        assert name in message and "field 'complete'" in message
        assert "incomplete trace: the run that wrote it did not finish" in message
        assert "\n" not in message


@pytest.mark.parametrize("attr, value, field", [("format", "other-tool", "format"),
                                                 ("format_version", 3, "format_version")])
def test_wrong_format_or_version_is_refused(tmp_path, attr, value, field):
    path = tmp_path / "run.h5"
    _write_two_layers(path)
    with h5py.File(path, "r+") as file:
        file.attrs[attr] = value
    with pytest.raises(InputError, match=f"run.h5: field '{field}': .*{value}"):
        open_trace(path)


def test_missing_garbage_and_truncated_files_are_refused(tmp_path):
    with pytest.raises(InputError, match=r"nope\.h5: no such trace file"):
        open_trace(tmp_path / "nope.h5")
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"cycle,addr\n1,2\n" * 100)
    good = tmp_path / "good.h5"
    _write_two_layers(good)
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as file:
        file["x"] = np.arange(3)
    for path, reason in ((garbage, "not a readable HDF5 file"),
                         (truncated, "not a readable HDF5 file"),
                         (plain, "not an hwloop trace")):
        with pytest.raises(InputError) as info:
            open_trace(path)
        message = str(info.value)
        assert message.startswith(str(path)) and reason in message and "\n" not in message


def test_a_missing_dataset_names_file_layer_and_field(tmp_path):
    path = tmp_path / "run.h5"
    _write_two_layers(path)
    with open_trace(path) as trace:
        with pytest.raises(InputError) as info:
            trace.layers[0].read("dram/filter_read/cycle")
        with pytest.raises(InputError, match="no layer with index 5"):
            trace.layer(5)
    message = str(info.value)
    assert message == (f"{path}: field 'dram/filter_read/cycle': layer 0 ('conv1') has no "
                       "dataset 'dram/filter_read/cycle'")


def test_a_corrupt_data_chunk_is_reported_on_reading(tmp_path):
    path = tmp_path / "run.h5"
    with TraceWriter(path) as writer:
        writer.add_layer(0, "l").append("sram/cycle", np.arange(200_000))
    with h5py.File(path, "r") as file:
        info = file["layers/layer_0000/sram/cycle"].id.get_chunk_info(0)
    with open(path, "r+b") as handle:
        handle.seek(info.byte_offset + 16)
        handle.write(b"\xff" * 64)
    with pytest.raises(InputError, match=r"run\.h5: field '/layers/layer_0000/sram/cycle': "
                       "the dataset does not match its checksum"):
        open_trace(path)
    seal_trace(path)  # the checksum now agrees with the damage: reading still finds it
    with open_trace(path) as trace:
        with pytest.raises(InputError, match=r"run\.h5: field '/layers/layer_0000/sram/cycle'"):
            trace.layers[0].read("sram/cycle")


def test_bad_run_attrs_leave_no_file(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        TraceWriter(tmp_path / "run.h5", attrs={"format": "mine"})
    assert list(tmp_path.iterdir()) == []


def test_writing_into_a_missing_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        TraceWriter(tmp_path / "no" / "run.h5")
