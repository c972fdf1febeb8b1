"""Workloads and traces: layers, networks and the readers that build them.

Imports nothing else from hwloop.
"""
from ._builtin import builtin_network, list_networks
from ._errors import InputError
from ._layer import Layer, LayerKind
from ._network import Network
from ._topology_csv import load_topology, parse_topology

__all__ = [
    "InputError",
    "Layer",
    "LayerKind",
    "Network",
    "builtin_network",
    "list_networks",
    "load_topology",
    "parse_topology",
]
