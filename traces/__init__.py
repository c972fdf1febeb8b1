"""Workloads and traces: layers, networks and the readers that build them; access traces
in HDF5 (loaded on first use, so that importing a layer does not import h5py and pandas);
networks from torch modules and ONNX files (torch and onnx are imported only when used).

Imports nothing else from hwloop.
"""
from importlib import import_module
from typing import TYPE_CHECKING

from ._builtin import builtin_network, list_networks, networks_with_vector_ops
from ._errors import InputError
from ._layer import Layer, LayerKind, check_ratio
from ._llm import LLMS, DecoderConfig, decoder_macs, decoder_step, get_llm
from ._network import Network
from ._topology_csv import load_topology, parse_topology
from ._vector_csv import format_vector_ops, parse_vector_ops
from ._vector_op import OPS_PER_ELEMENT, VectorKind, VectorOp

_LAZY = {
    "LayerTrace": "_hdf5", "LayerWriter": "_hdf5", "TraceFile": "_hdf5", "TraceWriter": "_hdf5",
    "open_trace": "_hdf5", "export_scalesim_csv": "_trace_csv",
    "import_scalesim_csv": "_trace_csv", "plot_bandwidth": "_trace_plot",
    "STREAM_NAMES": "_trace_summary", "bandwidth_over_time": "_trace_summary",
    "summarize_trace": "_trace_summary", "network_from_torch": "_torch_import",
    "network_from_onnx": "_onnx_import", "torch_model": "_torch_networks",
    "torch_decoder": "_torch_networks",
}

if TYPE_CHECKING:
    from ._hdf5 import LayerTrace, LayerWriter, TraceFile, TraceWriter, open_trace
    from ._onnx_import import network_from_onnx
    from ._torch_import import network_from_torch
    from ._torch_networks import torch_decoder, torch_model
    from ._trace_csv import export_scalesim_csv, import_scalesim_csv
    from ._trace_plot import plot_bandwidth
    from ._trace_summary import STREAM_NAMES, bandwidth_over_time, summarize_trace


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DecoderConfig",
    "LLMS",
    "decoder_macs",
    "decoder_step",
    "get_llm",
    "InputError",
    "Layer",
    "LayerKind",
    "LayerTrace",
    "LayerWriter",
    "Network",
    "OPS_PER_ELEMENT",
    "STREAM_NAMES",
    "TraceFile",
    "TraceWriter",
    "VectorKind",
    "VectorOp",
    "bandwidth_over_time",
    "builtin_network",
    "check_ratio",
    "export_scalesim_csv",
    "format_vector_ops",
    "import_scalesim_csv",
    "list_networks",
    "load_topology",
    "network_from_onnx",
    "network_from_torch",
    "networks_with_vector_ops",
    "open_trace",
    "parse_topology",
    "parse_vector_ops",
    "plot_bandwidth",
    "summarize_trace",
    "torch_decoder",
    "torch_model",
]
