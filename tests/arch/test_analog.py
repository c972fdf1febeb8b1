"""Analog tiles in ``arch``: device presets, validation, the kind registry, presets."""
from __future__ import annotations

from dataclasses import replace

import pytest

from hwloop.arch import (
    ANALOG_DEVICES,
    ARRAY_KINDS,
    PCM,
    PRESETS,
    RRAM,
    Accelerator,
    AnalogArray,
    AnalogDevice,
    Dataflow,
    get_preset,
)
from hwloop.traces import InputError


def test_device_read_energy_is_g_v2_t():
    # PCM: 3 uS x (0.2 V)^2 x 100 ns = 3e-6 x 0.04 x 1e-7 J = 1.2e-14 J = 0.012 pJ
    assert PCM.read_energy_pj == pytest.approx(0.012)
    # RRAM: 6 uS x (0.1 V)^2 x 100 ns = 6e-15 J = 0.006 pJ
    assert RRAM.read_energy_pj == pytest.approx(0.006)
    assert set(ANALOG_DEVICES) == {"pcm", "rram"}
    assert PCM.g_max_us == 25.0  # aihwkit's PCMLikeNoiseModel


def test_array_defaults_and_derived_numbers():
    array = AnalogArray()
    assert (array.dac_bits, array.adc_bits, array.devices_per_weight) == (7, 9, 2)
    assert array.weights_per_tile == 256 * 512 // 2
    assert array.num_pes == 64 * array.weights_per_tile
    assert array.adcs_per_tile == 512 // 8
    # Walden: 10 fJ/step x 2**9 steps = 5120 fJ = 5.12 pJ per conversion
    assert array.adc_conversion_pj == pytest.approx(5.12)
    assert replace(array, adc_energy_pj=2.0).adc_conversion_pj == 2.0
    assert array.device_read_pj == PCM.read_energy_pj
    assert replace(array, device="rram").device_read_pj == RRAM.read_energy_pj
    assert array.input_slices(8) == 2 and array.input_slices(7) == 1 and array.input_slices(4) == 1
    # tile area: 256*512 devices x 0.2 um^2 + 64 ADCs x 1500 + 256 DACs x 50
    assert array.tile_area_um2() == pytest.approx(26214.4 + 96000 + 12800)


def test_dataflow_is_always_weight_stationary():
    assert AnalogArray(dataflow="os").dataflow is Dataflow.WS


@pytest.mark.parametrize("changes, field", [
    ({"cols": 4, "columns_per_adc": 8}, "cols"),  # a tile smaller than one column group
    ({"adc_bits": 0}, "adc_bits"), ({"dac_bits": 0}, "dac_bits"), ({"tiles": 0}, "tiles"),
    ({"tiles": -3}, "tiles"), ({"columns_per_adc": 0}, "columns_per_adc"),
    ({"devices_per_weight": 0}, "devices_per_weight"),
    ({"cols": 33}, "cols"),  # not a whole number of differential pairs
    ({"adc_conversion_ns": 0}, "adc_conversion_ns"), ({"dac_energy_pj": -1}, "dac_energy_pj"),
    ({"adc_energy_pj": float("nan")}, "adc_energy_pj"), ({"device": "flash"}, "device"),
    ({"adc_bits": 2.5}, "adc_bits"), ({"rows": 0}, "rows"),
])
def test_bad_arrays_name_the_field(changes, field):
    with pytest.raises(InputError) as info:
        AnalogArray(**changes)
    assert info.value.field == field


def test_bad_device_names_the_field():
    with pytest.raises(InputError) as info:
        replace(PCM, g_mean_us=30.0)
    assert info.value.field == "g_mean_us"
    with pytest.raises(InputError) as info:
        AnalogDevice(name="x", g_min_us=0, g_max_us=0, g_mean_us=0, read_voltage_v=0.1,
                     read_time_ns=1, cell_area_um2=1)
    assert info.value.field == "g_max_us"


def test_registered_kind_round_trips_and_switches():
    assert ARRAY_KINDS["analog"] is AnalogArray
    for name in ("pcm_chip", "rram_chip"):
        accel = PRESETS[name]
        assert accel.array.kind == "analog"
        assert accel.to_dict()["array"]["kind"] == "analog"
        assert Accelerator.from_dict(accel.to_dict()) == accel
    assert get_preset("rram_chip").array.device == "rram"
    switched = get_preset("scalesim_default").with_overrides(array_kind="analog")
    assert isinstance(switched.array, AnalogArray)
    assert (switched.array.rows, switched.array.cols) == (32, 32)
    with pytest.raises(InputError) as info:
        get_preset("scalesim_default").with_overrides(array_kind="analog", cols=4)
    assert info.value.field == "cols"
