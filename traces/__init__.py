"""Workloads and traces: layers, networks and the readers that build them.

Imports nothing else from hwloop.
"""
from ._builtin import builtin_network, list_networks
from ._errors import InputError
from ._hdf5 import LayerTrace, LayerWriter, TraceFile, TraceWriter, open_trace
from ._layer import Layer, LayerKind
from ._network import Network
from ._topology_csv import load_topology, parse_topology
from ._trace_csv import export_scalesim_csv, import_scalesim_csv
from ._trace_plot import plot_bandwidth
from ._trace_summary import STREAM_NAMES, bandwidth_over_time, summarize_trace

__all__ = [
    "InputError",
    "Layer",
    "LayerKind",
    "LayerTrace",
    "LayerWriter",
    "Network",
    "STREAM_NAMES",
    "TraceFile",
    "TraceWriter",
    "bandwidth_over_time",
    "builtin_network",
    "export_scalesim_csv",
    "import_scalesim_csv",
    "list_networks",
    "load_topology",
    "open_trace",
    "parse_topology",
    "plot_bandwidth",
    "summarize_trace",
]
