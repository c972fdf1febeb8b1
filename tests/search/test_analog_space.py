"""Analog tile parameters are search parameters: they reach the accelerator of each point."""
from __future__ import annotations

import pytest

from hwloop.arch import PRESETS, AnalogArray
from hwloop.search import load_space
from hwloop.search._space import apply_point
from hwloop.traces import InputError, builtin_network

SPACE = """
[params.array_kind]
values = ["analog"]
[params.tiles]
values = [16, 64]
[params.adc_bits]
low = 6
high = 9
[params.analog_device]
values = ["pcm", "rram"]
"""


def test_analog_points_build_analog_chips(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(SPACE)
    space = load_space(path)
    assert space.size == 2 * 4 * 2
    for point in space.grid():
        accel, _ = apply_point(point, PRESETS["scalesim_default"], builtin_network("alexnet"))
        assert isinstance(accel.array, AnalogArray)
        assert (accel.array.tiles, accel.array.adc_bits, accel.array.device) == (
            point["tiles"], point["adc_bits"], point["analog_device"])


def test_a_tile_field_on_a_digital_array_is_refused():
    with pytest.raises(InputError, match="no tiles"):
        PRESETS["scalesim_default"].with_overrides(tiles=8)
