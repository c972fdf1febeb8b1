"""Explicit per-layer mappings: validation, describe(), and the TOML file loader's errors."""
from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwloop.arch import MAPPING_ORDERS, Dataflow, Mapping, MappingFile, load_mapping
from hwloop.traces import InputError

VALID = """\
# explicit mappings
[default]
dataflow = "WS"
tile_m = 64
tile_n = 32
tile_k = 576
order = "NKM"

[layers.conv1]
tile_p = 7
tile_q = 14
tile_c = 3
tile_n = 64
order = "kmn"

[layers."block1.conv"]
dataflow = "os"
"""


def _write(tmp_path: Path, text: str | bytes, name: str = "m.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str | bytes) -> InputError:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_mapping(path)
    error = info.value
    assert error.source == str(path)
    assert "\n" not in str(error)
    return error


# ---------------------------------------------------------------- the file


def test_round_trip_of_a_valid_file(tmp_path):
    path = _write(tmp_path, VALID)
    mappings = load_mapping(path)
    assert isinstance(mappings, MappingFile)
    assert mappings.source == str(path)
    assert mappings.default == Mapping(dataflow=Dataflow.WS, order="nkm", tile_m=64, tile_n=32,
                                       tile_k=576)
    assert mappings.layers == (
        ("conv1", Mapping(order="kmn", tile_p=7, tile_q=14, tile_c=3, tile_n=64)),
        ("block1.conv", Mapping(dataflow=Dataflow.OS)),
    )
    assert mappings.layer_names() == ("conv1", "block1.conv")
    assert load_mapping(str(path)) == mappings
    assert "text" not in repr(mappings)


def test_a_layer_table_inherits_nothing_from_default(tmp_path):
    _, conv1 = load_mapping(_write(tmp_path, VALID)).for_layer("conv1")
    assert conv1.dataflow is None and conv1.tile_m is None and conv1.tile_k is None


def test_for_layer_default_versus_layer(tmp_path):
    mappings = load_mapping(_write(tmp_path, VALID))
    assert mappings.for_layer("conv1") == ("layers.conv1", mappings.layers[0][1])
    assert mappings.for_layer("fc9") == ("default", mappings.default)
    assert mappings.for_layer("Conv1") == ("default", mappings.default)  # names are exact


def test_dotted_layer_names(tmp_path):
    mappings = load_mapping(_write(tmp_path, VALID))
    table, mapping = mappings.for_layer("block1.conv")
    assert (table, mapping) == ("layers.block1.conv", Mapping(dataflow="os"))
    assert mappings.for_layer("block1") == ("default", mappings.default)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "[layers]\n"])
def test_an_empty_file_maps_everything_by_default(tmp_path, text):
    mappings = load_mapping(_write(tmp_path, text))
    assert mappings.default == Mapping() and mappings.layers == ()
    assert mappings.for_layer("conv1") == ("default", Mapping())


def test_dotted_keys_and_inline_tables_are_tables_too(tmp_path):
    text = 'default = { tile_m = 8 }\n[layers]\nconv1.tile_n = 4\nfc = { order = "kmn" }\n'
    mappings = load_mapping(_write(tmp_path, text))
    assert mappings.default == Mapping(tile_m=8)
    assert mappings.layers == (("conv1", Mapping(tile_n=4)), ("fc", Mapping(order="kmn")))


# ---------------------------------------------------------------- errors name file, line, field


@pytest.mark.parametrize("text, line, field, says", [
    (VALID.replace("tile_p = 7", "tile_p = 0"), 10, "layers.conv1.tile_p",
     "must be a positive integer, got 0"),
    (VALID.replace("tile_q = 14", "tile_q = -2"), 11, "layers.conv1.tile_q", "got -2"),
    (VALID.replace("tile_k = 576", "tile_k = 5.5"), 6, "default.tile_k", "got 5.5"),
    (VALID.replace("tile_k = 576", 'tile_k = "576"'), 6, "default.tile_k", "got '576'"),
    (VALID.replace("tile_k = 576", "tile_k = true"), 6, "default.tile_k", "got True"),
    (VALID.replace("tile_m = 64", "tile_m = 2_000_000_000_000"), 4, "default.tile_m",
     "overflows"),
    (VALID.replace('order = "kmn"', 'order = "mmk"'), 14, "layers.conv1.order", "'mmk'"),
    (VALID.replace('order = "kmn"', "order = 3"), 14, "layers.conv1.order", "got 3"),
    (VALID.replace('dataflow = "WS"', 'dataflow = "rs"'), 3, "default.dataflow",
     "unknown dataflow"),
    (VALID.replace('dataflow = "os"', "dataflow = 1"), 17, "layers.block1.conv.dataflow",
     "must be os, ws or is"),
    (VALID + "tile_x = 3\n", 18, "layers.block1.conv.tile_x", "unknown key"),
    (VALID.replace("tile_c = 3", "c = 3"), 12, "layers.conv1.c", "unknown key"),
    ("name = 'x'\n" + VALID, 1, "name", "expected default or layers"),
    (VALID + "[extra]\nx = 1\n", 18, "extra", "unknown key"),
    ("layers = 3\n", 1, "layers", "must be a table of [layers.NAME] tables"),
    ("[[layers]]\ntile_m = 1\n", 1, "layers", "must be a table of [layers.NAME] tables"),
    ("[layers]\nconv1 = 4\n", 2, "layers.conv1", "must be a table"),
    ("default = 4\n", 1, "default", "must be a table"),
    ("[layers]\nconv1 = { tile_p = 0 }\n", 2, "layers.conv1.tile_p", "positive integer"),
    ("[layers]\nconv1.tile_n = 4\nconv1.tile_p = 0\n", 3, "layers.conv1.tile_p",
     "positive integer"),
    ('[layers."a.b"]\n"tile_p" = 0\n', 2, "layers.a.b.tile_p", "positive integer"),
])
def test_bad_values_are_located(tmp_path, text, line, field, says):
    error = _error(tmp_path, text)
    assert (error.line, error.field) == (line, field), str(error)
    assert says in str(error)
    assert str(error).startswith(f"{error.source}:{line}: field '{field}': ")


def test_the_first_bad_key_of_a_table_in_file_order_is_reported(tmp_path):
    error = _error(tmp_path, "[default]\ntile_k = 0\norder = 'x'\ntile_m = -1\n")
    assert (error.line, error.field) == (2, "default.tile_k")


@pytest.mark.parametrize("text, line", [
    ("[default]\ntile_m = \n", 2),
    ("[default]\ntile_m = 1\n[default]\n", 3),        # a table declared twice
    ("[default]\ntile_m = 1\ntile_m = 2\n", 3),
    ("[layers.a]\n[layers.a]\n", 2),
    ("[default\n", 1),
    ("x = {", 1),                                       # "at end of document": the last line
])
def test_toml_syntax_errors_are_located(tmp_path, text, line):
    error = _error(tmp_path, text)
    assert error.line == line and error.field is None
    assert "not valid TOML" in str(error)


def test_more_digits_than_int_reads_is_an_error_not_a_crash(tmp_path):
    error = _error(tmp_path, "[default]\ntile_m = " + "9" * 5000 + "\n")
    assert "not valid TOML" in str(error) and error.line is not None


def test_an_unreadable_or_missing_file(tmp_path):
    with pytest.raises(InputError) as info:
        load_mapping(tmp_path / "missing.toml")
    assert info.value.source == str(tmp_path / "missing.toml")
    assert "cannot read mapping file" in str(info.value)
    with pytest.raises(InputError) as info:
        load_mapping(tmp_path)  # a directory
    assert "cannot read mapping file" in str(info.value)


@pytest.mark.parametrize("data, says", [
    (b"[default]\ntile_m = \xff\n", "not a UTF-8 text mapping file"),
    (b"\x00\x01\x02", "binary data"),
])
def test_not_a_text_file(tmp_path, data, says):
    error = _error(tmp_path, data)
    assert error.line == 1 and says in str(error)


def test_a_byte_order_mark_is_fine(tmp_path):
    mappings = load_mapping(_write(tmp_path, "\ufeff[default]\ntile_m = 8\n"))
    assert mappings.default == Mapping(tile_m=8)


def test_deep_nesting_is_an_error_not_a_crash(tmp_path):
    error = _error(tmp_path, "a = " + "[" * 5000 + "]" * 5000)
    assert "not valid TOML" in str(error)


# ---------------------------------------------------------------- locate()


def test_locate_points_at_the_key_then_the_table_then_line_one(tmp_path):
    path = _write(tmp_path, VALID)
    mappings = load_mapping(path)
    problem = InputError("larger than the layer", field="tile_n")
    at_key = mappings.locate(problem, "layers.conv1")
    assert (at_key.source, at_key.line, at_key.field) == (str(path), 13, "layers.conv1.tile_n")
    assert str(at_key) == f"{path}:13: field 'layers.conv1.tile_n': larger than the layer"
    at_table = mappings.locate(InputError("no", field="tile_k"), "layers.conv1")
    assert at_table.line == 9
    dotted = mappings.locate(InputError("no", field="tile_p"), "layers.block1.conv")
    assert (dotted.line, dotted.field) == (16, "layers.block1.conv.tile_p")
    whole = mappings.locate(InputError("no"), "default")
    assert (whole.line, whole.field) == (2, "default")
    assert mappings.locate(InputError("no"), *mappings.for_layer("conv1")[:1]).line == 9


def test_locate_without_the_table_in_the_file_says_line_one(tmp_path):
    mappings = load_mapping(_write(tmp_path, "[layers.conv1]\ntile_m = 2\n"))
    table, _ = mappings.for_layer("fc")
    error = mappings.locate(InputError("too big", field="tile_m"), table)
    assert (error.line, error.field) == (1, "default.tile_m")


# ---------------------------------------------------------------- Mapping itself


@pytest.mark.parametrize("mapping, text", [
    (Mapping(dataflow="ws", tile_m=64, tile_n=32, tile_k=576, order="nkm"), "ws m64 n32 k576 nkm"),
    (Mapping(dataflow=Dataflow.OS, tile_p=7, tile_q=14, tile_c=64, tile_n=32),
     "os p7 q14 c64 n32 mnk"),
    (Mapping(), "mnk"),
    (Mapping(tile_k=8, order="KMN"), "k8 kmn"),
])
def test_describe(mapping, text):
    assert mapping.describe() == text


@pytest.mark.parametrize("kwargs, field", [
    ({"order": "abc"}, "order"),
    ({"order": "mnkk"}, "order"),
    ({"order": None}, "order"),
    ({"dataflow": "rs"}, "dataflow"),
    ({"dataflow": 3}, "dataflow"),
    ({"tile_m": 0}, "tile_m"),
    ({"tile_n": -1}, "tile_n"),
    ({"tile_k": True}, "tile_k"),
    ({"tile_p": 2.0}, "tile_p"),
    ({"tile_q": "4"}, "tile_q"),
    ({"tile_c": 2**40 + 1}, "tile_c"),
    ({"tile_c": 10**5000}, "tile_c"),
])
def test_mapping_validation_names_the_field(kwargs, field):
    with pytest.raises(InputError) as info:
        Mapping(**kwargs)
    assert info.value.field == field
    assert "\n" not in str(info.value) and len(str(info.value)) < 200


def test_mapping_normalises_and_is_frozen():
    mapping = Mapping(dataflow=" IS ", order="KNM", tile_c=2**40)
    assert mapping.dataflow is Dataflow.IS and mapping.order == "knm"
    assert mapping.tile_c == 2**40
    with pytest.raises(dataclasses.FrozenInstanceError):
        mapping.order = "mnk"  # type: ignore[misc]
    assert hash(mapping) == hash(Mapping(dataflow="is", order="knm", tile_c=2**40))


def test_from_dict():
    assert Mapping.from_dict({"tile_m": 4, "order": "nmk"}) == Mapping(tile_m=4, order="nmk")
    assert Mapping.from_dict({}) == Mapping()
    with pytest.raises(InputError) as info:
        Mapping.from_dict({"tile_m": 4, "tile_z": 1})
    assert info.value.field == "tile_z" and "unknown key" in str(info.value)


@given(order=st.sampled_from(MAPPING_ORDERS),
       dataflow=st.sampled_from([None, *Dataflow]),
       tiles=st.fixed_dictionaries({}, optional={
           name: st.integers(1, 2**40)
           for name in ("tile_m", "tile_n", "tile_k", "tile_p", "tile_q", "tile_c")}))
def test_every_valid_mapping_round_trips_through_a_file(tmp_path_factory, order, dataflow, tiles):
    mapping = Mapping(dataflow=dataflow, order=order, **tiles)
    lines = [f'order = "{order.upper()}"'] + [f"{k} = {v}" for k, v in tiles.items()]
    if dataflow is not None:
        lines.append(f'dataflow = "{dataflow.value}"')
    path = tmp_path_factory.mktemp("m") / "m.toml"
    path.write_text('[layers."a.b"]\n' + "\n".join(lines) + "\n", encoding="utf-8")
    assert load_mapping(path).for_layer("a.b") == ("layers.a.b", mapping)
    assert mapping.describe().split()[-1] == order


def test_orders_are_the_permutations_of_mnk():
    assert sorted(MAPPING_ORDERS) == sorted("".join(p) for p in itertools.permutations("mnk"))
    assert MAPPING_ORDERS[0] == Mapping().order
