"""Ceilings on hardware settings (docs/limits.md): every entry point refuses the same values.

A value over its ceiling, a non-finite float or an absurd one is an InputError naming the
field, built in ``__post_init__``; the command line refuses it with one line naming the
option, exit status 2 and nothing written; the values at the ceilings still build.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import pytest

from hwloop.arch import (
    CLOCK_GHZ,
    DDR4_3200,
    HOROWITZ_45NM,
    MAX_ARRAY_DIM,
    MAX_BANDWIDTH,
    MAX_BUFFER_KIB,
    MAX_CONVERTER_BITS,
    MAX_LATENCY_CYCLES,
    MAX_OPERAND_BITS,
    PCM,
    Accelerator,
    AnalogArray,
    BitFusionArray,
    BitSerialArray,
    Dram,
    EnergyTable,
    Sram,
    SystolicArray,
    TwoInOneArray,
    load_config,
)
from hwloop.arch._limits import (
    MAX_ADC_CONVERSION_NS,
    MAX_DEVICES_PER_WEIGHT,
    MAX_DRAM_DEVICE_INT,
    MAX_FUSION_ROWS,
    MAX_PHYSICAL,
    MAX_READ_VOLTAGE_V,
    MAX_WORD_BITS,
    MAX_WORD_BYTES,
)
from hwloop.sim.arrays._analog import _integer
from hwloop.sim.cli import main
from hwloop.sim.cli._options import _bits, _non_negative_int, _positive_int
from hwloop.traces import InputError

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "topologies" / "tiny.csv"

# (make(value), field, ceiling): every integer setting of every config
INTEGERS = [
    (lambda v: SystolicArray(rows=v), "rows", MAX_ARRAY_DIM),
    (lambda v: SystolicArray(cols=v), "cols", MAX_ARRAY_DIM),
    (lambda v: Sram(ifmap_kb=v), "ifmap_kb", MAX_BUFFER_KIB),
    (lambda v: Sram(filter_kb=v), "filter_kb", MAX_BUFFER_KIB),
    (lambda v: Sram(ofmap_kb=v), "ofmap_kb", MAX_BUFFER_KIB),
    (lambda v: Sram(word_bytes=v), "word_bytes", MAX_WORD_BYTES),
    (lambda v: Sram(ifmap_word_bits=v), "ifmap_word_bits", MAX_WORD_BITS),
    (lambda v: Sram(filter_word_bits=v), "filter_word_bits", MAX_WORD_BITS),
    (lambda v: Sram(ofmap_word_bits=v), "ofmap_word_bits", MAX_WORD_BITS),
    (lambda v: Dram(bandwidth=v), "bandwidth", MAX_BANDWIDTH),
    (lambda v: Dram(ifmap_bandwidth=v), "ifmap_bandwidth", MAX_BANDWIDTH),
    (lambda v: Dram(filter_bandwidth=v), "filter_bandwidth", MAX_BANDWIDTH),
    (lambda v: Dram(ofmap_bandwidth=v), "ofmap_bandwidth", MAX_BANDWIDTH),
    (lambda v: Dram(latency_cycles=v), "latency_cycles", MAX_LATENCY_CYCLES),
    (lambda v: Accelerator(operand_bits=v), "operand_bits", MAX_OPERAND_BITS),
    (lambda v: BitSerialArray(bits_per_cycle=v), "bits_per_cycle", MAX_OPERAND_BITS),
    (lambda v: BitSerialArray(max_bits=v), "max_bits", MAX_OPERAND_BITS),
    (lambda v: BitFusionArray(fusion_rows=v), "fusion_rows", MAX_FUSION_ROWS),
    (lambda v: TwoInOneArray(fusion_rows=v), "fusion_rows", MAX_FUSION_ROWS),
    (lambda v: AnalogArray(rows=v), "rows", MAX_ARRAY_DIM),
    (lambda v: AnalogArray(cols=v, columns_per_adc=8), "cols", MAX_ARRAY_DIM),
    (lambda v: AnalogArray(tiles=v), "tiles", MAX_ARRAY_DIM),
    (lambda v: AnalogArray(cols=MAX_ARRAY_DIM, columns_per_adc=v), "columns_per_adc",
     MAX_ARRAY_DIM),
    (lambda v: AnalogArray(cols=MAX_ARRAY_DIM, devices_per_weight=v), "devices_per_weight",
     MAX_DEVICES_PER_WEIGHT),
    (lambda v: AnalogArray(dac_bits=v), "dac_bits", MAX_CONVERTER_BITS),
    (lambda v: AnalogArray(adc_bits=v), "adc_bits", MAX_CONVERTER_BITS),
    *[(lambda v, f=f: dataclasses.replace(DDR4_3200, **{f: v}), f, MAX_DRAM_DEVICE_INT)
      for f in ("channels", "banks", "data_rate_mts")],
]
_IDS = [f"{field}-{i}" for i, (_, field, _) in enumerate(INTEGERS)]


def _field_of(make, value) -> str | None:
    with pytest.raises(InputError) as info:
        make(value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 200
    return info.value.field


@pytest.mark.parametrize("make, field, ceiling", INTEGERS, ids=_IDS)
def test_integer_over_its_ceiling_names_the_field(make, field, ceiling):
    for value in (ceiling + 1, 2**63, 10**21, 10**400):
        assert _field_of(make, value) == field
    assert "at most" in str(pytest.raises(InputError, make, ceiling + 1).value)


@pytest.mark.parametrize("make, field, ceiling", INTEGERS, ids=_IDS)
def test_integer_at_its_ceiling_builds(make, field, ceiling):
    assert make(ceiling) is not None


def test_two_in_one_bits_per_cycle_must_be_an_integer():
    for value in (4.0, True):
        assert _field_of(lambda v: TwoInOneArray(bits_per_cycle=v), value) == "bits_per_cycle"


# (make(value), field, bad values, good values): floats with a range
_TABLE = HOROWITZ_45NM.to_dict()
FLOATS = [
    (lambda v: Accelerator(clock_ghz=v), "clock_ghz",
     (math.nan, math.inf, -math.inf, 1e300, 1e-300, 0.0, 100.5, 0.0009), (1e-3, 100, 0.7)),
    (lambda v: Sram(active_fraction=v), "active_fraction", (math.nan, math.inf, "0.5"), (0.5,)),
    (lambda v: AnalogArray(adc_conversion_ns=v), "adc_conversion_ns",
     (math.nan, 0.0, MAX_ADC_CONVERSION_NS * 1.01, 1e300), (MAX_ADC_CONVERSION_NS, 1e-3)),
    (lambda v: AnalogArray(adc_energy_pj=v), "adc_energy_pj",
     (math.inf, -1.0, MAX_PHYSICAL * 2), (0.0, MAX_PHYSICAL)),
    (lambda v: AnalogArray(adc_fom_fj_per_step=v), "adc_fom_fj_per_step",
     (0.0, math.nan, MAX_PHYSICAL * 2), (MAX_PHYSICAL,)),
    (lambda v: AnalogArray(dac_area_um2=v), "dac_area_um2", (1e300, math.nan), (0.0,)),
    (lambda v: dataclasses.replace(PCM, read_voltage_v=v), "read_voltage_v",
     (0.0, MAX_READ_VOLTAGE_V + 1, math.nan), (MAX_READ_VOLTAGE_V,)),
    (lambda v: dataclasses.replace(PCM, cell_area_um2=v), "cell_area_um2",
     (MAX_PHYSICAL * 2, math.inf), (MAX_PHYSICAL,)),
    (lambda v: dataclasses.replace(DDR4_3200, t_cas_ns=v), "t_cas_ns",
     (MAX_PHYSICAL * 2, math.nan, -1.0), (0.0, MAX_PHYSICAL)),
    (lambda v: EnergyTable(**{**_TABLE, "mac_pj_8x8": v}), "mac_pj_8x8",
     (MAX_PHYSICAL * 2, 1e300, math.nan), (0.0, MAX_PHYSICAL)),
    (lambda v: EnergyTable(**{**_TABLE, "sram_ref_kib": v}), "sram_ref_kib",
     (0.0, 1e-300, MAX_BUFFER_KIB * 2), (2**-10, MAX_BUFFER_KIB)),
    (lambda v: EnergyTable(**{**_TABLE, "sram_size_exponent": v}), "sram_size_exponent",
     (2.5, -0.1, math.inf), (0.0, 2.0)),
]


@pytest.mark.parametrize("make, field, bad, good", FLOATS, ids=[f[1] for f in FLOATS])
def test_float_ranges(make, field, bad, good):
    for value in bad:
        assert _field_of(make, value) == field, value
    for value in good:
        make(value)


def test_clock_range_is_documented_one():
    assert CLOCK_GHZ == (1e-3, 100.0)


# ---------------------------------------------------------------- the argparse types


@pytest.mark.parametrize("parse, ok, bad", [
    (_positive_int, (1, MAX_BANDWIDTH), (0, MAX_BANDWIDTH + 1, 10**20)),
    (_non_negative_int, (0, MAX_LATENCY_CYCLES), (-1, MAX_LATENCY_CYCLES + 1, 10**19)),
    (_bits, (1, MAX_OPERAND_BITS), (0, MAX_OPERAND_BITS + 1, 64)),
    (_integer, (0, MAX_ARRAY_DIM), (MAX_ARRAY_DIM + 1, 10**23)),
])
def test_argument_types_refuse_values_over_the_ceiling(parse, ok, bad):
    for value in ok:
        assert parse(str(value)) == value
    for value in bad:
        with pytest.raises(argparse.ArgumentTypeError) as info:
            parse(str(value))
        assert len(str(info.value)) < 120
    with pytest.raises(argparse.ArgumentTypeError) as info:  # more digits than int() takes
        parse("9" * 5000)
    assert len(str(info.value)) < 120


# ---------------------------------------------------------------- the command line

HUGE = "100000000000000000000"  # beyond int64
BAD_OPTIONS = [
    (["--bandwidth", HUGE], "--bandwidth"),
    (["--ofmap-bw", HUGE], "--ofmap-bw"),
    (["--ifmap-bw", str(MAX_BANDWIDTH + 1)], "--ifmap-bw"),
    (["--dram-latency", HUGE], "--dram-latency"),
    (["--dram-latency", "10000000000000000000", "--bandwidth", "4"], "--dram-latency"),
    (["--dram-latency", str(MAX_LATENCY_CYCLES + 1)], "--dram-latency"),
    (["--rows", str(MAX_ARRAY_DIM + 1)], "--rows"),
    (["--cols", HUGE], "--cols"),
    (["--filter-kb", str(MAX_BUFFER_KIB + 1)], "--filter-kb"),
    (["--cols", str(MAX_ARRAY_DIM + 1), "--ofmap-kb", str(MAX_BANDWIDTH)], "--cols"),
    (["--array-kind", "bitserial", "--bits-per-cycle", "33"], "--bits-per-cycle"),
    (["--weight-bits", "64"], "--weight-bits"),
    (["--preset", "pcm_chip", "--adc-bits", "64"], "--adc-bits"),
    (["--preset", "pcm_chip", "--dac-bits", "17"], "--dac-bits"),
    (["--preset", "pcm_chip", "--tiles", HUGE], "--tiles"),
    (["--preset", "pcm_chip", "--columns-per-adc", str(MAX_ARRAY_DIM + 1)], "--columns-per-adc"),
]


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def _one_line_naming(status, out, err, option):
    assert status == 2, err
    assert out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and option in lines[0] and len(lines[0]) < 300, err


@pytest.mark.parametrize("argv, option", BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_simulate_option_over_its_ceiling(argv, option, tmp_path, capsys):
    json = tmp_path / "out.json"
    status, out, err = _run(["simulate", "--topology", str(TINY), *argv, "--json", str(json)],
                            capsys)
    _one_line_naming(status, out, err, option)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def trace(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("trace") / "run.h5"
    assert main(["simulate", "--topology", str(TINY), "--bandwidth", "4", "-q",
                 "--trace", str(path)]) == 0
    return path


@pytest.mark.parametrize("argv, option", [(["--bandwidth", HUGE], "--bandwidth"),
                                          (["--dram-latency", HUGE], "--dram-latency"),
                                          (["--ofmap-kb", HUGE], "--ofmap-kb"),
                                          (["--ofmap-kb", str(MAX_BUFFER_KIB + 1)],
                                           "--ofmap-kb")])
def test_replay_option_over_its_ceiling(argv, option, trace, tmp_path, capsys):
    capsys.readouterr()
    status, out, err = _run(["replay", str(trace), *argv, "--json", str(tmp_path / "out.json")],
                            capsys)
    _one_line_naming(status, out, err, option)
    assert list(tmp_path.iterdir()) == []


def test_values_at_the_ceilings_still_simulate(capsys):
    status, out, err = _run(["simulate", "--topology", str(TINY), "-q",
                             "--bandwidth", str(MAX_BANDWIDTH),
                             "--dram-latency", str(MAX_LATENCY_CYCLES)], capsys)
    assert status == 0, err
    assert "528 cycles" in out  # the latency is prefetched: the same cycles as unlimited


# ---------------------------------------------------------------- files and docs


def test_config_files_refuse_the_same_values(tmp_path):
    toml = tmp_path / "a.toml"
    toml.write_text("[dram]\nbandwidth = 4\nlatency_cycles = 9223372036854775807\n")
    with pytest.raises(InputError) as info:
        load_config(toml)
    assert (info.value.line, info.value.field) == (3, "latency_cycles")
    cfg = tmp_path / "a.cfg"
    cfg.write_text("[architecture_presets]\nArrayHeight: 32\nArrayWidth: 65537\n"
                   "IfmapSramSzkB: 64\nFilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: os\n")
    with pytest.raises(InputError) as info:
        load_config(cfg)
    assert (info.value.line, info.value.field) == (3, "ArrayWidth")


def test_every_numeric_setting_is_in_the_limits_table():
    """docs/limits.md has one table row naming each numeric field of every config."""
    from hwloop.arch import DramDevice
    from hwloop.arch._analog import AnalogDevice

    doc = (ROOT / "docs" / "limits.md").read_text()
    classes = (Accelerator, SystolicArray, BitFusionArray, BitSerialArray, TwoInOneArray,
               AnalogArray, Sram, Dram, DramDevice, AnalogDevice)
    numeric = {f.name for cls in classes for f in dataclasses.fields(cls)
               if any(t in str(f.type) for t in ("int", "float"))}
    numeric -= {"name", "dataflow", "model", "mapping", "device", "energy"}
    missing = sorted(n for n in numeric if f"`{n}`" not in doc)
    assert not missing, missing
    assert "energy table numbers" in doc  # EnergyTable's fields share one row
