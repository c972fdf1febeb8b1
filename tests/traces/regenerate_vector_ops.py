#!/usr/bin/env python3
"""Write the built-in networks' vector operators (``traces/networks/NAME.vector.csv``) from
their torch definitions, imported with ``network_from_torch``.

The torch definitions list the same layers as the topology CSVs, in the same order
(``tests/traces/test_torch_import.py``, ``tests/traces/test_builtin_vector_ops.py``), so
the imported operators' positions hold for the CSV's layers. The second test file also
checks that this script would write the files as they are. Run:
``python tests/traces/regenerate_vector_ops.py`` (needs torch).
"""
from __future__ import annotations

import pathlib
import sys

NETWORKS = ("alexnet", "dqn", "mlp", "mobilenet_v2", "resnet18", "transformer_block")
FOLDER = pathlib.Path(__file__).resolve().parents[2] / "traces" / "networks"


def files(name: str) -> dict[str, str]:
    """The files' names and texts for built-in network ``name``: its vector operators and
    its graph over layers and operators."""
    from hwloop.traces import builtin_network, network_from_torch, torch_model
    from hwloop.traces._vector_csv import format_graph, format_vector_ops

    module, example = torch_model(name)
    imported = network_from_torch(module, example)
    if len(imported.layers) != len(builtin_network(name).layers) or imported.inputs is None:
        raise SystemExit(f"{name}: the torch definition's layers no longer match its topology")
    return {f"{name}.vector.csv": format_vector_ops(imported.vector_ops),
            f"{name}.graph.csv": format_graph(imported.inputs)}


def main() -> int:
    for name in NETWORKS:
        for file, text in files(name).items():
            (FOLDER / file).write_text(text)
            print(f"wrote {FOLDER / file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
