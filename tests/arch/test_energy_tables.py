"""Energy tables: validation naming the field, scaling rules, cited presets, TOML ``[energy]``."""
from __future__ import annotations

import ast
import dataclasses
import io
import json
import math
import pathlib
import tokenize

import pytest

from hwloop.arch import (
    DEFAULT_ENERGY,
    ENERGY_TABLES,
    HOROWITZ_45NM,
    ZIGZAG_TPU_LIKE,
    Accelerator,
    EnergyTable,
    get_energy_table,
    get_preset,
    load_config,
)
from hwloop.arch._energy import ENERGY_FIELDS
from hwloop.traces import InputError

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "arch" / "_energy.py"
CACTI = json.loads((ROOT / "tests" / "data" / "zigzag" / "cacti_45nm.json").read_text())


def _complete(**changes) -> dict:
    return {**{k: v for k, v in HOROWITZ_45NM.to_dict().items() if k != "name"}, **changes}


# ---------------------------------------------------------------- validation names the field


@pytest.mark.parametrize("field", ENERGY_FIELDS)
def test_a_missing_component_is_an_error_naming_it(field):
    values = _complete()
    del values[field]
    with pytest.raises(InputError) as err:
        EnergyTable(**values)
    assert err.value.field == field and "missing" in str(err.value)


@pytest.mark.parametrize("field, value", [
    ("mac_pj_8x8", -0.1), ("dram_read_pj_per_bit", -1), ("sram_leakage_uw_per_kib", -5),
    ("rf_psum_pj_per_bit", True), ("sram_read_pj_per_bit", "0.3"), ("mac_pj_8x8", math.nan),
    ("dram_write_pj_per_bit", math.inf), ("mac_mult_share", 1.5), ("mac_mult_area_share", 2),
    ("sram_ref_kib", 0),
])
def test_bad_numbers_are_errors_naming_the_field(field, value):
    with pytest.raises(InputError) as err:
        EnergyTable(**_complete(**{field: value}))
    assert err.value.field == field
    assert "\n" not in str(err.value)


def test_accelerator_refuses_a_non_table():
    with pytest.raises(InputError) as err:
        Accelerator(energy="horowitz_45nm")
    assert err.value.field == "energy"


def test_zero_is_a_valid_energy():
    assert EnergyTable(**_complete(pe_leakage_uw=0, fixed_area_mm2=0)).pe_leakage_uw == 0


# ---------------------------------------------------------------- presets


def test_registry_and_default():
    assert set(ENERGY_TABLES) == {"horowitz_45nm", "zigzag_tpu_like"}
    assert all(ENERGY_TABLES[name].name == name for name in ENERGY_TABLES)
    assert DEFAULT_ENERGY == "horowitz_45nm"
    assert Accelerator().energy is HOROWITZ_45NM
    assert get_preset("scalesim_default").energy is HOROWITZ_45NM
    assert get_energy_table("zigzag_tpu_like") is ZIGZAG_TPU_LIKE


def test_unknown_table_lists_the_names():
    with pytest.raises(InputError) as err:
        get_energy_table("45nm")
    assert err.value.field == "energy"
    assert "horowitz_45nm" in str(err.value) and "zigzag_tpu_like" in str(err.value)


@pytest.mark.parametrize("table", ENERGY_TABLES.values(), ids=ENERGY_TABLES)
def test_presets_are_frozen(table):
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.mac_pj_8x8 = 1.0


def _preset_calls() -> dict[str, ast.Call]:
    tree = ast.parse(SOURCE.read_text())
    calls = {}
    for index, node in enumerate(tree.body):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and getattr(node.value.func, "id", "") == "EnergyTable":
            docstring = tree.body[index + 1]
            assert isinstance(docstring, ast.Expr) and isinstance(docstring.value.value, str), \
                f"{node.targets[0].id} has no docstring naming its source"
            calls[node.targets[0].id] = node.value
    return calls


def test_every_preset_number_has_its_source_beside_it():
    """Each number of a preset has a comment on its line, or one right above it."""
    text = SOURCE.read_text()
    lines = text.splitlines()
    commented = {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                 if tok.type == tokenize.COMMENT}
    calls = _preset_calls()
    assert {"HOROWITZ_45NM", "ZIGZAG_TPU_LIKE"} <= set(calls)
    for name, call in calls.items():
        assert {kw.arg for kw in call.keywords} == {"name", *ENERGY_FIELDS}, name
        for kw in call.keywords:
            if kw.arg != "name":
                line = kw.value.lineno  # 1-based
                above = lines[line - 2].strip()
                assert line in commented or above.startswith("#"), f"{name}.{kw.arg} uncited"


def test_horowitz_numbers():
    t = HOROWITZ_45NM
    assert t.mac_pj(8, 8) == pytest.approx(0.2 + 0.03)  # 8b mult + 8b add
    for kib, pj in ((32, 20), (1024, 100)):  # 64-bit reads
        assert 64 * t.sram_pj_per_bit(kib) == pytest.approx(pj)
    assert 64 * t.sram_pj_per_bit(8) == pytest.approx(10, rel=0.06)
    assert 64 * t.dram_read_pj_per_bit == pytest.approx(1300)
    assert t.pe_area_um2() == pytest.approx(282 + 36)


def test_cacti_figures_behind_leakage_and_area():
    mib = next(row for row in CACTI["sizes"] if row["kib"] == 1024)
    assert HOROWITZ_45NM.sram_leakage_uw_per_kib == pytest.approx(mib["leakage_mw"] * 1e3 / 1024)
    assert HOROWITZ_45NM.sram_area_mm2_per_kib == pytest.approx(mib["area_mm2"] / 1024)
    small, large = CACTI["sizes"][0], CACTI["sizes"][-1]  # 8 KiB .. 2 MiB
    slope = math.log(large["read_pj"] / small["read_pj"]) / math.log(large["kib"] / small["kib"])
    assert abs(slope - ZIGZAG_TPU_LIKE.sram_size_exponent) < 0.05


# ---------------------------------------------------------------- scaling rules


def test_mac_energy_scales_with_widths():
    t = HOROWITZ_45NM
    assert t.mac_pj(8, 8) == t.mac_pj_8x8
    assert t.mac_pj(2, 2) < t.mac_pj(4, 4) < t.mac_pj(8, 4) < t.mac_pj(8, 8) < t.mac_pj(16, 16)
    assert t.mac_pj(8, 4) == t.mac_pj(4, 8)
    # multiplier share ~ w*a: 4x4 pays a quarter of it, the adder half of its share
    share = t.mac_mult_share
    assert t.mac_pj(4, 4) == pytest.approx(t.mac_pj_8x8 * (share / 4 + (1 - share) / 2))


def test_sram_energy_grows_with_size():
    t = ZIGZAG_TPU_LIKE
    assert t.sram_pj_per_bit(2048) == t.sram_read_pj_per_bit
    assert t.sram_pj_per_bit(512) == pytest.approx(t.sram_read_pj_per_bit / 2)  # sqrt(1/4)
    assert t.sram_pj_per_bit(2048, write=True) == t.sram_write_pj_per_bit


def test_pe_area_grows_with_bit_products():
    t = HOROWITZ_45NM
    assert t.pe_area_um2(16) < t.pe_area_um2(64) < t.pe_area_um2(256)


# ---------------------------------------------------------------- accelerator and TOML


def test_accelerator_round_trip_and_overrides():
    accel = Accelerator().with_overrides(energy="zigzag_tpu_like")
    assert accel.energy is ZIGZAG_TPU_LIKE
    assert Accelerator.from_dict(accel.to_dict()) == accel
    custom = dataclasses.replace(HOROWITZ_45NM, name="mine", dram_read_pj_per_bit=5.0)
    accel = Accelerator(energy=custom)
    assert Accelerator.from_dict(json.loads(json.dumps(accel.to_dict()))).energy == custom
    old = accel.to_dict()
    del old["energy"]  # reports and traces written before energy existed
    assert Accelerator.from_dict(old).energy is HOROWITZ_45NM
    assert Accelerator().with_overrides(rows=8).energy is HOROWITZ_45NM
    with pytest.raises(InputError) as err:
        Accelerator().with_overrides(energy="nope")
    assert err.value.field == "energy"


def _toml(tmp_path, text: str) -> pathlib.Path:
    path = tmp_path / "accel.toml"
    path.write_text(text)
    return path


def test_toml_energy_preset_with_overrides(tmp_path):
    accel = load_config(_toml(tmp_path, '[array]\nrows = 16\n[energy]\npreset = "zigzag_tpu_like"\n'
                                        "dram_read_pj_per_bit = 5\n"))
    assert accel.energy.dram_read_pj_per_bit == 5
    assert accel.energy.mac_pj_8x8 == ZIGZAG_TPU_LIKE.mac_pj_8x8
    assert accel.energy.name == "zigzag_tpu_like (modified)"
    plain = load_config(_toml(tmp_path, '[energy]\npreset = "zigzag_tpu_like"\n'))
    assert plain.energy == ZIGZAG_TPU_LIKE
    assert load_config(_toml(tmp_path, "[array]\nrows = 16\n")).energy is HOROWITZ_45NM


def test_toml_complete_energy_table(tmp_path):
    body = "".join(f"{key} = {value!r}\n" for key, value in _complete().items())
    accel = load_config(_toml(tmp_path, f'[energy]\nname = "mine"\n{body}'))
    assert accel.energy == dataclasses.replace(HOROWITZ_45NM, name="mine")


@pytest.mark.parametrize("text, field, line", [
    ("[energy]\nmac_pj_8x8 = 0.2\n", "energy.mac_mult_share", 1),  # no preset: all needed
    ('[energy]\npreset = "tpu"\n', "energy.preset", 2),
    ('[energy]\npreset = "horowitz_45nm"\nmac_pj_8x8 = -1\n', "energy.mac_pj_8x8", 3),
    ('[energy]\npreset = "horowitz_45nm"\nmac_share = 1\n', "energy.mac_share", 3),
    ('[energy]\npreset = "horowitz_45nm"\nmac_pj_8x8 = "low"\n', "energy.mac_pj_8x8", 3),
    ('[energy]\npreset = "horowitz_45nm"\nmac_mult_share = 3\n', "energy.mac_mult_share", 3),
    ('energy = "horowitz_45nm"\n', "energy", 1),
])
def test_toml_energy_errors_name_file_line_and_field(tmp_path, text, field, line):
    path = _toml(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message
    assert err.value.field == field
    assert message.startswith(f"{path}:{line}: field '{field}'")
