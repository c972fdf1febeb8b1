"""Hardware descriptions: frozen configs for arrays, buffers, DRAM; presets; loaders.

``arch`` never names a simulator class; ``hwloop.sim`` maps configs to models.
"""
from ._accelerator import Accelerator
from ._analog import ANALOG_DEVICES, PCM, RRAM, AnalogArray, AnalogDevice, get_analog_device
from ._chip import PARTITIONS, Chip
from ._dram_device import DDR4_3200, DRAM_DEVICES, LPDDR4_3200, DramDevice, get_dram_device
from ._energy import (
                      DEFAULT_ENERGY,
                      ENERGY_TABLES,
                      HOROWITZ_45NM,
                      ZIGZAG_TPU_LIKE,
                      EnergyTable,
                      get_energy_table,
)
from ._limits import (
                      CLOCK_GHZ,
                      MAX_ARRAY_DIM,
                      MAX_BANDWIDTH,
                      MAX_BUFFER_KIB,
                      MAX_CONVERTER_BITS,
                      MAX_LATENCY_CYCLES,
                      MAX_OPERAND_BITS,
)
from ._loaders import field_line, load_config
from ._mapping import MAPPING_ORDERS, Mapping, MappingFile, load_mapping, mapping_toml
from ._memory import Dram, Sram
from ._precision import ARRAY_KINDS, BitFusionArray, BitSerialArray, TwoInOneArray
from ._sparsity import REPRESENTATIONS as SPARSE_REPRESENTATIONS
from ._sparsity import Sparsity
from ._systolic import Dataflow, PEArray, SystolicArray, parse_dataflow
from ._vector import VECTOR_UNITS, VectorUnit, get_vector_unit
from .presets import DEFAULT_PRESET, PRESETS, get_preset

__all__ = [
    "PARTITIONS",
    "Chip",
    "SPARSE_REPRESENTATIONS",
    "Sparsity",
    "VECTOR_UNITS",
    "VectorUnit",
    "get_vector_unit",
    "ANALOG_DEVICES",
    "AnalogArray",
    "AnalogDevice",
    "PCM",
    "RRAM",
    "get_analog_device",
    "ARRAY_KINDS",
    "Accelerator",
    "BitFusionArray",
    "BitSerialArray",
    "TwoInOneArray",
    "DDR4_3200",
    "DEFAULT_ENERGY",
    "ENERGY_TABLES",
    "EnergyTable",
    "HOROWITZ_45NM",
    "ZIGZAG_TPU_LIKE",
    "DRAM_DEVICES",
    "DEFAULT_PRESET",
    "Dataflow",
    "Dram",
    "DramDevice",
    "LPDDR4_3200",
    "PEArray",
    "PRESETS",
    "Sram",
    "SystolicArray",
    "get_dram_device",
    "get_energy_table",
    "get_preset",
    "field_line",
    "load_config",
    "load_mapping",
    "mapping_toml",
    "Mapping",
    "MappingFile",
    "MAPPING_ORDERS",
    "parse_dataflow",
    "CLOCK_GHZ",
    "MAX_ARRAY_DIM",
    "MAX_BANDWIDTH",
    "MAX_BUFFER_KIB",
    "MAX_CONVERTER_BITS",
    "MAX_LATENCY_CYCLES",
    "MAX_OPERAND_BITS",
]
