"""A network's vector operators as CSV: one row per operator, in model order.

The built-in CNNs keep theirs beside their topology (``networks/NAME.vector.csv``, written
from their torch definitions by ``tests/traces/regenerate_vector_ops.py``), so that
``builtin_network(name, vector_ops=True)`` needs no torch, and the plain topology, without
them, stays SCALE-Sim's. Columns: ``position`` (layers before the operator), then
:class:`VectorOp`'s fields; an empty ``ops_per_element`` is the kind's own count.
"""
from __future__ import annotations

import csv
import io

from ._errors import InputError
from ._vector_op import VectorOp

FIELDS = ("position", "name", "kind", "elements", "operands", "window", "row",
          "ops_per_element", "params")
_INTEGERS = ("position", "elements", "operands", "window", "row", "ops_per_element", "params")


def parse_vector_ops(text: str, source: str) -> tuple[tuple[int, VectorOp], ...]:
    """The ``(position, op)`` pairs of a vector-operator CSV; a bad cell is an
    :class:`InputError` at its line and column."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(cell.strip() for cell in rows[0]) != FIELDS:
        raise InputError(f"the header must be {','.join(FIELDS)}", source=source, line=1)
    ops = []
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(FIELDS):
            raise InputError(f"expected {len(FIELDS)} fields, got {len(cells)}", source=source,
                             line=line)
        values: dict = dict(zip(FIELDS, (cell.strip() for cell in cells)))
        for field in _INTEGERS:
            if field == "ops_per_element" and values[field] == "":
                values[field] = None
                continue
            try:
                values[field] = int(values[field])
            except ValueError:
                raise InputError(f"must be an integer, got {values[field]!r}", source=source,
                                 line=line, field=field) from None
        position = values.pop("position")
        try:
            ops.append((position, VectorOp(**values)))
        except InputError as exc:
            raise exc.located(source=source, line=line) from None
    return tuple(ops)


def parse_graph(text: str, source: str) -> tuple[tuple[int, ...], ...]:
    """``Network.inputs`` from a graph CSV: ``node,inputs`` rows, the inputs space-separated
    (empty: the network's input)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [cell.strip() for cell in rows[0]] != ["node", "inputs"]:
        raise InputError("the header must be node,inputs", source=source, line=1)
    graph: list[tuple[int, ...]] = []
    for line, cells in enumerate(rows[1:], start=2):
        try:
            node, reads = int(cells[0]), tuple(int(i) for i in cells[1].split())
        except (ValueError, IndexError):
            raise InputError("expected a node number and its inputs", source=source,
                             line=line) from None
        if node != len(graph):
            raise InputError(f"expected node {len(graph)}, got {node}", source=source,
                             line=line, field="node")
        graph.append(reads)
    return tuple(graph)


def format_graph(graph: tuple[tuple[int, ...], ...]) -> str:
    """The CSV :func:`parse_graph` reads back."""
    return "node,inputs\n" + "".join(f"{j},{' '.join(map(str, reads))}\n"
                                     for j, reads in enumerate(graph))


def format_vector_ops(ops: tuple[tuple[int, VectorOp], ...]) -> str:
    """The CSV :func:`parse_vector_ops` reads back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for position, op in ops:
        writer.writerow([position, op.name, op.kind.value, op.elements, op.operands, op.window,
                         op.row, "" if op.ops_per_element is None else op.ops_per_element,
                         op.params])
    return out.getvalue()
