"""``[array] kind = ...`` in hwloop TOML picks an array kind, with that kind's own fields."""
from __future__ import annotations

import pytest

from hwloop.arch import AnalogArray, BitFusionArray, load_config
from hwloop.traces import InputError


def _write(tmp_path, text):
    path = tmp_path / "accel.toml"
    path.write_text(text)
    return path


def test_kind_and_its_fields(tmp_path):
    accel = load_config(_write(tmp_path, '[array]\nkind = "analog"\nrows = 256\ncols = 512\n'
                                         'tiles = 32\nadc_bits = 8\n'))
    assert isinstance(accel.array, AnalogArray)
    assert (accel.array.rows, accel.array.cols, accel.array.tiles, accel.array.adc_bits) == (
        256, 512, 32, 8)


def test_kind_keeps_the_base_geometry(tmp_path):
    accel = load_config(_write(tmp_path, '[array]\nkind = "bitfusion"\n'))
    assert isinstance(accel.array, BitFusionArray)
    assert (accel.array.rows, accel.array.cols) == (32, 32)


@pytest.mark.parametrize("text, line, field", [
    ('[array]\nkind = "bitfusion"\ntiles = 3\n', 3, "tiles"),
    ('[array]\nrows = 8\n\nkind = "nope"\n', 4, "kind"),
])
def test_a_wrong_kind_or_field_is_located(tmp_path, text, line, field):
    with pytest.raises(InputError) as caught:
        load_config(_write(tmp_path, text))
    assert caught.value.line == line and caught.value.field == field
