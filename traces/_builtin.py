"""Networks that ship with hwloop, usable by name (``hwloop simulate --network NAME``)."""
from __future__ import annotations

from importlib import resources

from ._errors import InputError
from ._network import Network
from ._topology_csv import parse_topology
from ._vector_csv import parse_graph, parse_vector_ops

_PACKAGE = "hwloop.traces.networks"
#: A built-in network's vector operators sit beside its topology, in a file of this suffix.
VECTOR_SUFFIX = ".vector.csv"
#: ... and its producer -> consumer graph over layers and operators (``Network.inputs``).
GRAPH_SUFFIX = ".graph.csv"


def list_networks() -> list[str]:
    """Names of the built-in networks."""
    files = resources.files(_PACKAGE).iterdir()
    return sorted(f.name[:-4] for f in files if f.name.endswith(".csv")
                  and not f.name.endswith((VECTOR_SUFFIX, GRAPH_SUFFIX)))


def networks_with_vector_ops() -> list[str]:
    """Built-in networks that have their vector operators and graph (``vector_ops=True``)."""
    names = {f.name for f in resources.files(_PACKAGE).iterdir()}
    return sorted(n[:-len(VECTOR_SUFFIX)] for n in names if n.endswith(VECTOR_SUFFIX)
                  and n[:-len(VECTOR_SUFFIX)] + GRAPH_SUFFIX in names)


def builtin_network(name: str, *, vector_ops: bool = False) -> Network:
    """A built-in network by name; see :func:`list_networks`. ``vector_ops`` adds its
    operators without MACs (activations, norms, pooling, residual additions) for the vector
    unit; without them the network is exactly its SCALE-Sim topology."""
    if name not in list_networks():
        raise InputError(f"unknown network {name!r}; choose from {', '.join(list_networks())}",
                         field="network")
    folder = resources.files(_PACKAGE)
    layers = parse_topology(folder.joinpath(f"{name}.csv").read_text().splitlines())
    if name not in networks_with_vector_ops():
        if vector_ops:
            raise InputError(f"network {name!r} has no list of vector operators; built-in "
                             f"networks with one: {', '.join(networks_with_vector_ops())}",
                             field="vector_ops")
        return Network(name=name, layers=layers)
    ops_file, graph_file = f"{name}{VECTOR_SUFFIX}", f"{name}{GRAPH_SUFFIX}"
    full = Network(name=name, layers=layers,
                   vector_ops=parse_vector_ops(folder.joinpath(ops_file).read_text(), ops_file),
                   inputs=parse_graph(folder.joinpath(graph_file).read_text(), graph_file))
    return full if vector_ops else full.layers_only()
