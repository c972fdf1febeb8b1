"""Networks that ship with hwloop, usable by name (``hwloop simulate --network NAME``)."""
from __future__ import annotations

from importlib import resources

from ._errors import InputError
from ._network import Network
from ._topology_csv import parse_topology

_PACKAGE = "hwloop.traces.networks"


def list_networks() -> list[str]:
    """Names of the built-in networks."""
    files = resources.files(_PACKAGE).iterdir()
    return sorted(f.name[:-4] for f in files if f.name.endswith(".csv"))


def builtin_network(name: str) -> Network:
    """A built-in network by name; see :func:`list_networks`."""
    if name not in list_networks():
        raise InputError(f"unknown network {name!r}; choose from {', '.join(list_networks())}",
                         field="network")
    text = resources.files(_PACKAGE).joinpath(f"{name}.csv").read_text()
    return Network(name=name, layers=parse_topology(text.splitlines()))
