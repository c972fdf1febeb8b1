"""Accelerator configs: validation naming the field, presets, replace/overrides, loaders."""
from __future__ import annotations

import dataclasses
import logging
import re

import pytest

from hwloop.arch import (
    DEFAULT_PRESET,
    PRESETS,
    Accelerator,
    Dataflow,
    Dram,
    Sram,
    SystolicArray,
    get_preset,
    load_config,
    parse_dataflow,
)
from hwloop.traces import InputError

# ---------------------------------------------------------------- validation names the field


@pytest.mark.parametrize("make, field", [
    (lambda: SystolicArray(rows=0), "rows"),
    (lambda: SystolicArray(rows=-3), "rows"),
    (lambda: SystolicArray(cols=0), "cols"),
    (lambda: SystolicArray(cols=8.0), "cols"),
    (lambda: SystolicArray(rows="32"), "rows"),
    (lambda: SystolicArray(rows=True), "rows"),
    (lambda: SystolicArray(dataflow="xy"), "dataflow"),
    (lambda: SystolicArray(dataflow="rs"), "dataflow"),
    (lambda: Sram(ifmap_kb=0), "ifmap_kb"),
    (lambda: Sram(filter_kb=-1), "filter_kb"),
    (lambda: Sram(ofmap_kb=1.5), "ofmap_kb"),
    (lambda: Sram(word_bytes=0), "word_bytes"),
    (lambda: Sram(active_fraction=0.25), "active_fraction"),
    (lambda: Sram(active_fraction=1.0), "active_fraction"),
    (lambda: Dram(bandwidth=0), "bandwidth"),
    (lambda: Dram(bandwidth=-4), "bandwidth"),
    (lambda: Dram(bandwidth=True), "bandwidth"),
    (lambda: Dram(bandwidth=2.5), "bandwidth"),
    (lambda: Dram(ofmap_bandwidth=0), "ofmap_bandwidth"),
    (lambda: Dram(latency_cycles=-1), "latency_cycles"),
    (lambda: Accelerator(clock_ghz=0), "clock_ghz"),
    (lambda: Accelerator(clock_ghz="1"), "clock_ghz"),
    (lambda: Accelerator(operand_bits=0), "operand_bits"),
    (lambda: Accelerator(operand_bits=8.5), "operand_bits"),
])
def test_invalid_values_name_the_field(make, field):
    with pytest.raises(InputError) as info:
        make()
    assert info.value.field == field
    assert f"field '{field}'" in str(info.value)
    assert "\n" not in str(info.value)


def test_input_error_is_a_value_error():
    with pytest.raises(ValueError):
        SystolicArray(rows=0)


def test_defaults_are_scalesims_example():
    accel = Accelerator()
    assert (accel.array.rows, accel.array.cols, accel.array.dataflow) == (32, 32, Dataflow.OS)
    assert (accel.sram.ifmap_kb, accel.sram.filter_kb, accel.sram.ofmap_kb) == (64, 64, 64)
    assert accel.sram.word_bytes == 1 and accel.sram.active_fraction == 0.5
    assert not accel.dram.finite
    assert accel.array.num_pes == 1024
    assert accel.sram.words("ifmap") == 64 * 1024


@pytest.mark.parametrize("text, expected", [("os", Dataflow.OS), (" WS ", Dataflow.WS),
                                            ("Is", Dataflow.IS), (Dataflow.OS, Dataflow.OS)])
def test_dataflow_names(text, expected):
    assert parse_dataflow(text) is expected
    assert SystolicArray(dataflow=text).dataflow is expected


def test_sram_words_follow_word_size():
    assert Sram(ifmap_kb=3, word_bytes=2).words("ifmap") == 1536


# ---------------------------------------------------------------- presets


def test_presets_exist():
    assert {"scalesim_default", "google_tpu_v1", "eyeriss"} <= set(PRESETS)
    assert DEFAULT_PRESET in PRESETS
    for name, preset in PRESETS.items():
        assert isinstance(preset, Accelerator)
        assert preset.name == name
        assert get_preset(name) is preset
    tpu = get_preset("google_tpu_v1")
    assert (tpu.array.rows, tpu.array.cols, tpu.array.dataflow) == (256, 256, Dataflow.WS)
    eyeriss = get_preset("eyeriss")
    assert (eyeriss.array.rows, eyeriss.array.cols) == (12, 14)


def test_unknown_preset_names_the_field():
    with pytest.raises(InputError) as info:
        get_preset("tpu_v9")
    assert info.value.field == "preset"
    assert "eyeriss" in str(info.value)  # lists the choices


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_frozen(name):
    preset = get_preset(name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.name = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.array.rows = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.sram.ifmap_kb = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.dram.bandwidth = 1  # type: ignore[misc]
    assert hash(preset) == hash(get_preset(name))


# ---------------------------------------------------------------- replace and overrides


def test_dataclasses_replace_makes_variants():
    base = get_preset("scalesim_default")
    bigger = dataclasses.replace(base, array=dataclasses.replace(base.array, rows=128),
                                 clock_ghz=2.0)
    assert bigger.array.rows == 128 and bigger.array.cols == base.array.cols
    assert bigger.clock_ghz == 2.0
    assert base.array.rows == 32 and base.clock_ghz == 1.0  # the preset is untouched
    assert bigger != base
    assert dataclasses.replace(base) == base


def test_dataclasses_replace_validates():
    with pytest.raises(InputError) as info:
        dataclasses.replace(get_preset("eyeriss").sram, filter_kb=0)
    assert info.value.field == "filter_kb"
    converted = dataclasses.replace(SystolicArray(), dataflow="ws")
    assert converted.dataflow is Dataflow.WS


def test_with_overrides():
    base = get_preset("eyeriss")
    changed = base.with_overrides(rows=64, cols=None, dataflow="is", ifmap_kb=128,
                                  filter_kb=None, ofmap_kb=16, word_bytes=2)
    assert (changed.array.rows, changed.array.cols, changed.array.dataflow) == (64, 14, Dataflow.IS)
    assert (changed.sram.ifmap_kb, changed.sram.filter_kb, changed.sram.ofmap_kb) == (128, 36, 16)
    assert changed.sram.word_bytes == 2
    assert changed.name == base.name and changed.clock_ghz == base.clock_ghz
    assert base.array.rows == 12  # untouched
    assert base.with_overrides() == base
    assert base.with_overrides(rows=None, dataflow=None) == base


def test_with_overrides_validates_and_rejects_unknown_names():
    with pytest.raises(InputError) as info:
        Accelerator().with_overrides(cols=0)
    assert info.value.field == "cols"
    with pytest.raises(InputError) as info:
        Accelerator().with_overrides(dataflow="diagonal")
    assert info.value.field == "dataflow"
    with pytest.raises(TypeError):
        Accelerator().with_overrides(depth=3)


def test_to_dict_is_plain():
    data = get_preset("google_tpu_v1").to_dict()
    assert data["array"] == {"kind": "systolic", "rows": 256, "cols": 256, "dataflow": "ws"}
    assert data["sram"]["ifmap_kb"] == 6144 and data["clock_ghz"] == 0.7
    assert data["dram"] == {"bandwidth": None, "ifmap_bandwidth": None, "filter_bandwidth": None,
                            "ofmap_bandwidth": None, "latency_cycles": 0, "model": None}


# ---------------------------------------------------------------- SCALE-Sim .cfg

SCALESIM_CFG = """\
[general]
run_name = google_like

[architecture_presets]
ArrayHeight:    128
ArrayWidth:     64
IfmapSramSzkB:  512
FilterSramSzkB: 256
OfmapSramSzkB:  128
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Dataflow:       ws
MemoryBanks:    1

[run_presets]
InterfaceBandwidth: CALC

[sparsity]
SparsitySupport : false
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_scalesim_cfg(tmp_path, caplog):
    path = _write(tmp_path, "google_like.cfg", SCALESIM_CFG)
    with caplog.at_level(logging.WARNING):
        accel = load_config(path)
    assert accel.name == "google_like"
    assert (accel.array.rows, accel.array.cols, accel.array.dataflow) == (128, 64, Dataflow.WS)
    assert (accel.sram.ifmap_kb, accel.sram.filter_kb, accel.sram.ofmap_kb) == (512, 256, 128)
    assert not accel.dram.finite  # CALC: unlimited
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # one warning lists everything ignored
    message = warnings[0].getMessage().lower()
    for ignored in ("ifmapoffset", "filteroffset", "ofmapoffset", "memorybanks"):
        assert ignored in message
    assert "sparsity" not in message and not accel.sparsity.enabled  # read: support off
    assert "google_like.cfg" in message


def test_load_scalesim_cfg_without_extras_is_silent(tmp_path, caplog):
    text = ("[architecture_presets]\narrayheight: 8\nARRAYWIDTH = 4\nIfmapSramSzkB: 2\n"
            "FilterSramSzkB: 2\nOfmapSramSzkB: 2\nDataflow: IS  # inline comment\n")
    path = _write(tmp_path, "plain.cfg", text)
    with caplog.at_level(logging.WARNING):
        accel = load_config(path)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert accel.name == "plain"  # no run_name: the file's stem
    assert (accel.array.rows, accel.array.cols, accel.array.dataflow) == (8, 4, Dataflow.IS)


def test_load_scalesim_cfg_user_bandwidth(tmp_path):
    text = SCALESIM_CFG.replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER") \
        .replace("MemoryBanks:    1", "Bandwidth:      10")
    accel = load_config(_write(tmp_path, "bw.cfg", text))
    assert accel.dram.port_bandwidths() == (10, 10, 10)


def test_load_scalesim_cfg_port_bandwidths_and_latency(tmp_path):
    text = SCALESIM_CFG.replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER") \
        .replace("MemoryBanks:    1", "Bandwidth:      10\nFilterBandwidth: 4\nDramLatency: 7")
    accel = load_config(_write(tmp_path, "bw.cfg", text))
    assert accel.dram.port_bandwidths() == (10, 4, 10)
    assert accel.dram.latency_cycles == 7


@pytest.mark.parametrize("change, line, field", [
    (("ArrayWidth:     64", "ArrayWidth:     wide"), 6, "ArrayWidth"),
    (("Dataflow:       ws", "Dataflow:       rs"), 13, "Dataflow"),
    (("OfmapSramSzkB:  128", "OfmapSramSzkB:  0"), 9, "OfmapSramSzkB"),
    (("FilterSramSzkB: 256\n", ""), 4, "FilterSramSzkB"),
])
def test_cfg_errors_are_located(tmp_path, change, line, field):
    path = _write(tmp_path, "bad.cfg", SCALESIM_CFG.replace(*change))
    with pytest.raises(InputError) as info:
        load_config(path)
    assert (info.value.line, info.value.field) == (line, field)
    assert str(info.value).startswith(f"{path}:{line}: field '{field}'")


# ---------------------------------------------------------------- hwloop .toml

HWLOOP_TOML = """\
name = "edge"
clock_ghz = 0.8
operand_bits = 16

[array]
rows = 16
cols = 24
dataflow = "is"

[sram]
ifmap_kb = 32
filter_kb = 16
ofmap_kb = 8
word_bytes = 2
active_fraction = 0.75

[dram]
bandwidth = 12
ofmap_bandwidth = 6
latency_cycles = 40
"""


def test_load_toml(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        accel = load_config(_write(tmp_path, "edge.toml", HWLOOP_TOML))
    assert not caplog.records
    assert accel == Accelerator(
        name="edge", clock_ghz=0.8, operand_bits=16,
        array=SystolicArray(rows=16, cols=24, dataflow=Dataflow.IS),
        sram=Sram(ifmap_kb=32, filter_kb=16, ofmap_kb=8, word_bytes=2, active_fraction=0.75),
        dram=Dram(bandwidth=12, ofmap_bandwidth=6, latency_cycles=40))


def test_load_toml_defaults_and_preset(tmp_path):
    assert load_config(_write(tmp_path, "empty.toml", "")).array == SystolicArray()
    accel = load_config(_write(tmp_path, "p.toml", 'preset = "google_tpu_v1"\n[array]\nrows = 128\n'))
    tpu = get_preset("google_tpu_v1")
    assert accel.array.rows == 128 and accel.array.cols == 256
    assert accel.sram == tpu.sram and accel.clock_ghz == tpu.clock_ghz


@pytest.mark.parametrize("text, line, field", [
    ('[array]\nrows = 8\nheight = 3\n', 3, "array.height"),          # unknown key
    ('speed = 1\n', 1, "speed"),                                       # unknown top-level key
    ('[array]\nrows = "8"\n', 2, "array.rows"),                        # wrong type
    ('[sram]\nactive_fraction = true\n', 2, "sram.active_fraction"),   # bool is not a number
    ('[array]\ncols = 0\n', 2, "cols"),                                # invalid value
    ('clock_ghz = -1\n', 1, "clock_ghz"),
    ('name = "x"\npreset = "nope"\n', 2, "preset"),
])
def test_toml_errors_are_located(tmp_path, text, line, field):
    path = _write(tmp_path, "bad.toml", text)
    with pytest.raises(InputError) as info:
        load_config(path)
    assert (info.value.source, info.value.line, info.value.field) == (str(path), line, field)


def test_toml_syntax_error_has_a_line(tmp_path):
    path = _write(tmp_path, "bad.toml", 'name = "x"\n[array\nrows = 1\n')
    with pytest.raises(InputError) as info:
        load_config(path)
    assert info.value.line == 2
    assert "not valid TOML" in str(info.value)


@pytest.mark.parametrize("name, content", [("missing.toml", None), ("arch.yaml", "rows: 8\n"),
                                           ("junk.cfg", b"\x00\x01\x02"), ("nul\x00.toml", None),
                                           ("a" * 300 + ".cfg", None)])
def test_unreadable_configs_name_the_file(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as info:
        load_config(path)
    assert str(info.value).startswith(str(path))


# ---------------------------------------------------------------- .cfg: first problem in file order

ORDER_CFG = """\
[architecture_presets]
ArrayHeight:    8
ArrayWidth:     8
IfmapSramSzkB:  64
FilterSramSzkB: 64
OfmapSramSzkB:  64
Dataflow:       os
DramLatency:    5

[run_presets]
InterfaceBandwidth: CALC

[layout]
IfmapSRAMBankBandwidth: 4
"""


@pytest.mark.parametrize("changes, line, field", [
    # a bad value above a missing key: the bad value (the missing key is at the section's end)
    ((("ArrayHeight:    8", "ArrayHeight:    abc"), ("IfmapSramSzkB:  64\n", "")), 2,
     "ArrayHeight"),
    # a bad value below a missing key: still the bad value
    ((("ArrayHeight:    8\n", ""), ("DramLatency:    5", "DramLatency:    x")), 7, "DramLatency"),
    # an out-of-range value above a non-integer one
    ((("ArrayWidth:     8", "ArrayWidth:     0"), ("OfmapSramSzkB:  64", "OfmapSramSzkB:  x")),
     3, "ArrayWidth"),
    ((("ArrayWidth:     8", "ArrayWidth:     x"), ("Dataflow:       os", "Dataflow:       rs")),
     3, "ArrayWidth"),
    # a missing key comes before a problem in a later section
    ((("Dataflow:       os\n", ""), ("CALC", "USER\nBandwidth: 4"),
      ("IfmapSRAMBankBandwidth: 4", "IfmapSRAMBankBandwidth: -4")), 1, "Dataflow"),
    ((("CALC", "USER"), ("IfmapSRAMBankBandwidth: 4", "IfmapSRAMBankBandwidth: x")), 11,
     "Bandwidth"),
    ((("CALC", "USER"), ("DramLatency:    5", "Bandwidth: 4"),
      ("IfmapSRAMBankBandwidth: 4", "IfmapSRAMBankBandwidth: x")), 14, "IfmapSRAMBankBandwidth"),
])
def test_cfg_reports_the_first_problem_in_file_order(tmp_path, changes, line, field):
    text = ORDER_CFG
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    with pytest.raises(InputError) as info:
        load_config(_write(tmp_path, "order.cfg", text))
    assert (info.value.line, info.value.field) == (line, field), str(info.value)


def test_cfg_syntax_error_above_a_duplicate_key_comes_first(tmp_path):
    # configparser raises a duplicate at once but keeps other syntax errors for the end.
    text = ORDER_CFG.replace("ArrayWidth:     8", "ArrayWidth 8\nArrayHeight: 9")
    with pytest.raises(InputError) as info:
        load_config(_write(tmp_path, "dup.cfg", text))
    assert info.value.line == 3 and "ArrayWidth 8" in str(info.value)
    with pytest.raises(InputError) as info:  # the duplicate alone is reported where it is
        load_config(_write(tmp_path, "dup.cfg", ORDER_CFG + "[layout]\n"))
    assert info.value.line == 15
    assert str(info.value).endswith("section [layout] is set twice")


# ---------------------------------------------------------------- .cfg numbers: ASCII digits only


@pytest.mark.parametrize("key, value", [
    ("ArrayHeight", "1_6"), ("ArrayHeight", "\uff11\uff16"), ("ArrayHeight", "\u0661\u0666"),
    ("IfmapSramSzkB", "6_4"), ("DramLatency", "\uff15"), ("ArrayWidth", "16.0"),
    ("ArrayWidth", "9" * 5000),
])
def test_cfg_integers_are_ascii_digits(tmp_path, key, value):
    text = re.sub(rf"(?m)^{key}:.*$", f"{key}: {value}", ORDER_CFG)
    with pytest.raises(InputError) as info:
        load_config(_write(tmp_path, "digits.cfg", text))
    assert info.value.field == key
    assert "not an integer" in str(info.value) and len(str(info.value)) < 300


@pytest.mark.parametrize("value", ["1_6", "\uff11\uff16"])
def test_cfg_bandwidths_are_ascii_digits(tmp_path, value):
    text = ORDER_CFG.replace("CALC", "USER").replace("DramLatency:    5", f"Bandwidth: {value}")
    with pytest.raises(InputError) as info:
        load_config(_write(tmp_path, "bw.cfg", text))
    assert (info.value.line, info.value.field) == (8, "Bandwidth")
    assert "not a whole number" in str(info.value)


def test_cfg_signed_integers_are_read(tmp_path):
    accel = load_config(_write(tmp_path, "plus.cfg", ORDER_CFG.replace("ArrayHeight:    8",
                                                                      "ArrayHeight:    +16")))
    assert accel.array.rows == 16
    with pytest.raises(InputError) as info:  # a sign is read; the range check refuses it
        load_config(_write(tmp_path, "minus.cfg", ORDER_CFG.replace("ArrayHeight:    8",
                                                                    "ArrayHeight:    -16")))
    assert (info.value.line, info.value.field) == (2, "ArrayHeight")
    assert "positive" in str(info.value)


def test_toml_integers_follow_toml(tmp_path):
    # TOML itself allows 1_6 (an integer with a separator) and refuses full-width digits.
    accel = load_config(_write(tmp_path, "sep.toml", "[array]\nrows = 1_6\n"))
    assert accel.array.rows == 16
    with pytest.raises(InputError) as info:
        load_config(_write(tmp_path, "wide.toml", "[array]\nrows = \uff11\uff16\n"))
    assert info.value.line == 2 and "not valid TOML" in str(info.value)


@pytest.mark.parametrize("text, line, field", [
    ('preset = "eyeriss"\n[[array]]\nrows = 1\n', 2, "array"),      # an array of tables
    ('clock_ghz = 1.5\n"Rows" = 4\n', 2, "Rows"),                  # a quoted key
    ('name = "x"\n[ layout ]\nrows = 3\n', 2, "layout"),           # an unknown table
    ('name = "x"\narray.height = 4\n', 2, "array.height"),         # a dotted key
    ('name = "x"\narray = {rows = 0}\n', 2, "rows"),               # an inline table
    ('name = "x"\n[array.sub]\nx = 1\n', 2, "array.sub"),          # a sub-table
    ('name = "x"\noperand_bits = 8\noperand_bits = 7', 3, None),   # tomllib: "end of document"
])
def test_toml_errors_are_located_in_every_toml_form(tmp_path, text, line, field):
    path = _write(tmp_path, "forms.toml", text)
    with pytest.raises(InputError) as info:
        load_config(path)
    assert (info.value.line, info.value.field) == (line, field), str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")
