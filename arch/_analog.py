"""Analog in-memory-compute (AIMC) tiles: device presets and a chip of crossbar tiles.

A weight is stored as the conductance of ``devices_per_weight`` memory devices (2: a
differential pair ``G+ - G-``, so signed weights need no offset column). An input vector is
applied to the crossbar's rows by DACs, the crossbar sums currents along its columns (one
analog multiply-accumulate per device), and ADCs shared by column groups digitise the column
currents. ``hwloop.sim`` turns this into cycles and energy (``sim/arrays/_analog.py``,
``docs/analog.md``); this module only holds numbers and checks them.

Like every kind, :class:`AnalogArray` is a :class:`PEArray` (one registry, ``ARRAY_KINDS``;
one ``--array-kind`` switch that keeps ``rows`` and ``cols``; one ``to_dict``/``from_dict``
round trip), not a systolic array. Here ``rows x cols`` is the crossbar of one tile, in
*devices*. A crossbar is weight-stationary by construction, so ``dataflow`` is always WS
(whatever was given: an analog tile has no other schedule).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from hwloop.traces import InputError

from ._limits import (
    MAX_ADC_CONVERSION_NS,
    MAX_ARRAY_DIM,
    MAX_CONVERTER_BITS,
    MAX_DEVICES_PER_WEIGHT,
    MAX_PHYSICAL,
    MAX_READ_VOLTAGE_V,
    check_number,
)
from ._precision import ARRAY_KINDS
from ._systolic import Dataflow, PEArray, _check_positive_int


def _check_positive_number(value: object, field: str, *, allow_zero: bool = False,
                           high: float = MAX_PHYSICAL) -> None:
    check_number(value, field, high=high, low_open=not allow_zero)


@dataclass(frozen=True, kw_only=True)
class AnalogDevice:
    """One memory device technology: conductance range, read conditions, cell area.

    ``read_energy_pj`` (one device, one read) follows from Ohm's law: the average device
    conductance during inference times the read voltage squared times the read (integration)
    time. ``g_mean_us`` is below ``g_max_us / 2`` because trained weights cluster near zero and
    one device of a differential pair sits near ``g_min_us``.
    """

    name: str
    g_min_us: float  #: lowest programmed conductance (µS)
    g_max_us: float  #: highest programmed conductance (µS); weights map to [-g_max, g_max]
    g_mean_us: float  #: average device conductance while reading a trained network (µS)
    read_voltage_v: float  #: read voltage across a device
    read_time_ns: float  #: current integration time of one crossbar read
    cell_area_um2: float  #: one device with its access transistor (1T1R), in µm²

    def __post_init__(self) -> None:
        for field in ("g_max_us", "g_mean_us", "read_time_ns", "cell_area_um2"):
            _check_positive_number(getattr(self, field), field)
        _check_positive_number(self.read_voltage_v, "read_voltage_v", high=MAX_READ_VOLTAGE_V)
        _check_positive_number(self.g_min_us, "g_min_us", allow_zero=True)
        if not self.g_min_us <= self.g_mean_us <= self.g_max_us:
            raise InputError(f"must lie in [g_min_us, g_max_us] = [{self.g_min_us}, "
                             f"{self.g_max_us}], got {self.g_mean_us}", field="g_mean_us")

    @property
    def read_energy_pj(self) -> float:
        """Energy of one device read: ``G * V^2 * t`` (µS x V² x ns = 1e-3 pJ)."""
        return self.g_mean_us * self.read_voltage_v ** 2 * self.read_time_ns * 1e-3


PCM = AnalogDevice(
    name="pcm",
    g_min_us=0.1, g_max_us=25.0, g_mean_us=3.0,
    read_voltage_v=0.2, read_time_ns=100.0, cell_area_um2=0.2,
)
"""Phase-change memory (Ge2Sb2Te5 mushroom cells, 1T1R).

* ``g_max_us = 25``: the PCM statistical model of IBM's aihwkit (``PCMLikeNoiseModel``,
  ``g_max = 25 µS``), fitted on a million-device PCM array (Nandakumar et al., IEDM 2019;
  Joshi et al., Nature Communications 2020). ``g_min`` 0.1 µS: the RESET state, effectively 0.
* ``read_voltage_v = 0.2``, ``read_time_ns = 100``: PCM is read well below its ~0.5 V
  threshold-switching voltage; the IBM HERMES chip (Le Gallo et al., Nature Electronics 2023;
  Khaddam-Aljameh et al., JSSC 2022: 64 cores of 256x256 unit cells, 14 nm) completes a
  full 8-bit matrix-vector multiply in about 130 ns, of which ~100 ns is integration.
* ``g_mean_us = 3``: assumed (weights of trained CNNs concentrate near 0; |w| ~ 0.25 of
  max on average, and one device of each pair is at ``g_min``): ~ 0.125 x 25 µS.
* ``cell_area_um2 = 0.2``: assumed 1T1R cell at a 14 nm node (order of magnitude; HERMES
  packs 256x256 four-device unit cells with their periphery into about 0.6 mm² per core).

Read energy: 3 µS x (0.2 V)² x 100 ns = 0.012 pJ per device per read.
"""

RRAM = AnalogDevice(
    name="rram",
    g_min_us=1.0, g_max_us=40.0, g_mean_us=6.0,
    read_voltage_v=0.1, read_time_ns=100.0, cell_area_um2=0.5,
)
"""Resistive RAM (HfOx/TaOx 1T1R), after NeuRRAM (Wan et al., Nature 2022: 48 cores of
256x256 1T1R RRAM cells, 130 nm CMOS).

* ``g_min_us = 1``, ``g_max_us = 40``: the conductance window NeuRRAM programs weights into
  (about 1 to 40 µS, with a differential pair per signed weight).
* ``read_voltage_v = 0.1``: RRAM is read at ~0.1 V to avoid read disturb (NeuRRAM drives
  input pulses of about this amplitude on the bit lines); ``read_time_ns = 100``: assumed.
* ``g_mean_us = 6``: assumed, as for PCM (~0.125 of the window above ``g_min``, plus ``g_min``).
* ``cell_area_um2 = 0.5``: assumed for a 1T1R cell in a mature (40-130 nm) node.

Read energy: 6 µS x (0.1 V)² x 100 ns = 0.006 pJ per device per read.
"""

#: Device presets by name (``AnalogArray.device``).
ANALOG_DEVICES: dict[str, AnalogDevice] = {device.name: device for device in (PCM, RRAM)}


def get_analog_device(name: str) -> AnalogDevice:
    try:
        return ANALOG_DEVICES[name]
    except KeyError:
        raise InputError(f"unknown analog device {name!r}; choose "
                         f"{', '.join(sorted(ANALOG_DEVICES))}", field="device") from None


@dataclass(frozen=True, kw_only=True)
class AnalogArray(PEArray):
    """A chip of ``tiles`` analog crossbar tiles of ``rows x cols`` devices each.

    * A weight occupies ``devices_per_weight`` devices on adjacent *columns* (``G+``, ``G-``),
      so a tile holds ``rows x cols / devices_per_weight`` weights; ``cols`` must be a
      multiple of ``devices_per_weight``.
    * Inputs enter as ``dac_bits``-bit slices (aihwkit's default input resolution is 7 bits);
      every physical column is digitised by an ``adc_bits``-bit ADC (aihwkit: 9 bits) and
      the pair is subtracted digitally. One ADC serves ``columns_per_adc`` columns, one after
      the other, each conversion taking ``adc_conversion_ns``.
    * ``adc_energy_pj`` is the energy of one conversion; None derives it from the Walden
      figure of merit, ``adc_fom_fj_per_step x 2**adc_bits`` (so it doubles per bit).
    * ``dac_energy_pj``: one row driven for one input slice. ``cell_read_pj``: one device
      read (None: the device preset's ``read_energy_pj``). ``digital_pj_per_accumulation``:
      the periphery's shift-and-add of one ADC result into its output's partial sum.
    * Areas (µm²) price the tile: devices (the preset's cell area), ADCs and DACs.

    Defaults not taken from a device preset are assumptions of the right order: a 100 MS/s
    SAR ADC (10 ns) with a Walden FoM of 10 fJ/step (Murmann's ADC survey: state-of-the-art
    SAR ADCs reach 1-10 fJ/step), a 16-bit add in 45 nm for the accumulation (Horowitz,
    ISSCC 2014: 8-bit add 0.03 pJ, 32-bit add 0.1 pJ).
    """

    rows: int = 256
    cols: int = 512
    dataflow: Dataflow = Dataflow.WS
    tiles: int = 64
    devices_per_weight: int = 2
    dac_bits: int = 7
    adc_bits: int = 9
    columns_per_adc: int = 8
    adc_conversion_ns: float = 10.0
    adc_energy_pj: float | None = None
    adc_fom_fj_per_step: float = 10.0
    dac_energy_pj: float = 0.05
    cell_read_pj: float | None = None
    digital_pj_per_accumulation: float = 0.05
    adc_area_um2: float = 1500.0
    dac_area_um2: float = 50.0
    device: str = "pcm"
    kind = "analog"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "dataflow", Dataflow.WS)  # a crossbar holds its weights
        ceilings = {"tiles": MAX_ARRAY_DIM, "devices_per_weight": MAX_DEVICES_PER_WEIGHT,
                    "dac_bits": MAX_CONVERTER_BITS, "adc_bits": MAX_CONVERTER_BITS,
                    "columns_per_adc": MAX_ARRAY_DIM}
        for field, high in ceilings.items():
            _check_positive_int(getattr(self, field), field, high)
        _check_positive_number(self.adc_conversion_ns, "adc_conversion_ns",
                               high=MAX_ADC_CONVERSION_NS)
        _check_positive_number(self.adc_fom_fj_per_step, "adc_fom_fj_per_step")
        for field in ("dac_energy_pj", "digital_pj_per_accumulation", "adc_area_um2",
                      "dac_area_um2"):
            _check_positive_number(getattr(self, field), field, allow_zero=True)
        for field in ("adc_energy_pj", "cell_read_pj"):
            if getattr(self, field) is not None:
                _check_positive_number(getattr(self, field), field, allow_zero=True)
        if self.cols < self.columns_per_adc:
            raise InputError(f"a tile of {self.cols} columns is smaller than one ADC's column "
                             f"group of {self.columns_per_adc}", field="cols")
        if self.cols % self.devices_per_weight:
            raise InputError(f"{self.cols} columns do not hold whole weights of "
                             f"{self.devices_per_weight} devices", field="cols")
        get_analog_device(self.device)

    @property
    def device_model(self) -> AnalogDevice:
        return get_analog_device(self.device)

    @property
    def weights_per_tile(self) -> int:
        return self.rows * self.cols // self.devices_per_weight

    @property
    def num_pes(self) -> int:
        """Weight cells on the chip: an analog "PE" is one stored weight (one MAC per read)."""
        return self.tiles * self.weights_per_tile

    @property
    def adcs_per_tile(self) -> int:
        return math.ceil(self.cols / self.columns_per_adc)

    @property
    def adc_conversion_pj(self) -> float:
        """Energy of one ADC conversion: given, or Walden FoM x 2**bits."""
        if self.adc_energy_pj is not None:
            return self.adc_energy_pj
        return self.adc_fom_fj_per_step * 2 ** self.adc_bits * 1e-3

    @property
    def device_read_pj(self) -> float:
        return self.device_model.read_energy_pj if self.cell_read_pj is None \
            else self.cell_read_pj

    def input_slices(self, act_bits: int) -> int:
        """DAC slices an ``act_bits``-bit input takes: ``ceil(act_bits / dac_bits)``."""
        return math.ceil(act_bits / self.dac_bits)

    def macs_per_pe_cycle(self, weight_bits: int, act_bits: int) -> Fraction:
        """A weight cell does at most one MAC per clock cycle (utilisation counts occupancy
        per clock cycle; a conversion spans many, see ``docs/analog.md``)."""
        return Fraction(1)

    def tile_area_um2(self) -> float:
        """Devices, ADCs and one DAC per row of one tile."""
        return (self.rows * self.cols * self.device_model.cell_area_um2
                + self.adcs_per_tile * self.adc_area_um2 + self.rows * self.dac_area_um2)


ARRAY_KINDS["analog"] = AnalogArray
