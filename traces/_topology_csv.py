"""Read SCALE-Sim topology CSVs (conv and ``Layer, M, N, K`` GEMM formats).

SCALE-Sim does ``row.split(',')[:-1]``, so a row without its trailing comma silently loses
its last field (usually the stride). hwloop reads every field whether or not the trailing
comma is there. Optional ``WeightBits`` and ``ActBits`` columns, matched by header name after
the layer fields, give per-layer operand widths. SCALE-Sim's optional N:M column (``2:4``)
is each layer's ``sparsity``. A layer whose name contains ``DP`` is depthwise, as in
SCALE-Sim; hwloop keeps it as one layer instead of expanding it into one layer per channel.

Numbers are plain ASCII digits with an optional sign (a negative size is then refused as not
positive): ``int()`` would also take ``1_6`` and full-width ``１６``, which no CSV tool writes.
A file without a header is a conv topology; a GEMM topology needs its ``Layer, M, N, K``
header, since a headerless 4-field row may as well be a conv row missing its last fields.
"""
from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from ._errors import InputError
from ._layer import Layer, LayerKind, check_ratio
from ._network import Network

CONV_FIELDS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
               "Channels", "Num Filter", "Strides")
GEMM_FIELDS = ("Layer", "M", "N", "K")
_LAYER_FIELD_TO_COLUMN = {
    "ifmap_h": "IFMAP Height", "ifmap_w": "IFMAP Width", "filter_h": "Filter Height",
    "filter_w": "Filter Width", "channels": "Channels", "num_filters": "Num Filter",
    "stride_h": "Strides", "stride_w": "Strides",
}
_SPARSITY = re.compile(r"^[0-9]+\s*:\s*[0-9]+$")
_INTEGER = re.compile(r"[+-]?[0-9]+")
#: Optional columns after the layer fields, by normalised header name -> Layer field.
_BIT_COLUMNS = {"weightbits": "weight_bits", "actbits": "act_bits"}


def _bit_columns(header: list[str], first: int) -> dict[int, tuple[str, str]]:
    """Index of each optional bit-width column in the header -> (header text, Layer field)."""
    found = {}
    for index, cell in enumerate(header[first:], start=first):
        key = re.sub(r"[\s_-]", "", cell).lower()
        if key in _BIT_COLUMNS:
            found[index] = (cell.strip(), _BIT_COLUMNS[key])
    return found


def load_topology(path: str | os.PathLike[str], name: str | None = None) -> Network:
    """Load a SCALE-Sim topology CSV into a :class:`Network`.

    Raises :class:`InputError` naming the file, line and field of the first problem.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputError(f"cannot read topology file ({reason})", source=str(path)) from None
    if b"\x00" in raw:
        raise InputError("not a text CSV file (binary data)", source=str(path), line=1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = len(re.split(rb"\r\n|\r|\n", raw[: exc.start]))
        raise InputError("not a UTF-8 text CSV file", source=str(path), line=line)
    try:
        numbered = _parse_numbered(_lines(text))
    except InputError as exc:
        raise exc.located(source=str(path))
    return Network(name=name or path.stem, layers=tuple(layer for _, layer in numbered),
                   source=str(path), lines=tuple(number for number, _ in numbered),
                   inputs=Network.chain(len(numbered)))  # each row reads the one before


def _lines(text: str) -> list[str]:
    """Lines as a text editor counts them (``\\n``, ``\\r\\n`` or ``\\r``), not
    ``str.splitlines``, which also breaks at form feeds and Unicode separators."""
    return re.split(r"\r\n|\r|\n", text)


def parse_topology(lines: list[str]) -> tuple[Layer, ...]:
    """Parse topology rows (header first) into layers; errors carry line and field."""
    return tuple(layer for _, layer in _parse_numbered(lines))


def _parse_numbered(lines: list[str]) -> list[tuple[int, Layer]]:
    """(line number, layer) for every data row."""
    rows = [(number, _split(line)) for number, line in enumerate(lines, start=1) if line.strip()]
    if not rows:
        raise InputError("empty topology: no header and no layers", line=1)
    header_line, header = rows[0]
    bits: dict[int, tuple[str, str]] = {}
    if _looks_like_header(header):
        is_gemm = {"m", "n", "k"} <= {cell.strip().lower() for cell in header}
        bits = _bit_columns(header, len(GEMM_FIELDS if is_gemm else CONV_FIELDS))
        rows = rows[1:]
    else:
        is_gemm = False  # a GEMM file names its columns: see the module docstring
    if not rows:
        raise InputError("topology has a header but no layers", line=header_line)
    fields = GEMM_FIELDS if is_gemm else CONV_FIELDS
    layers = []
    for number, cells in rows:
        layer_cells = [c for i, c in enumerate(cells) if i not in bits]
        extra = layer_cells[len(fields):]
        ratio = None
        if extra:
            if len(extra) == 1 and _SPARSITY.match(extra[0]):
                try:
                    ratio = check_ratio(extra[0].replace(" ", ""))
                except InputError as exc:
                    raise InputError(exc.reason, line=number, field="Sparsity") from None
            else:
                raise InputError(f"{len(layer_cells)} fields, expected {len(fields)}",
                                 line=number, field=fields[-1])
        layer = _parse_row(layer_cells[:len(fields)], fields, number, is_gemm)
        if ratio is not None and ratio[0] != ratio[1]:  # M:M is dense
            layer = replace(layer, sparsity=ratio)
        widths = _widths(cells, bits, number)  # after the layer fields, as in the row
        if widths:
            try:
                layer = replace(layer, **widths)
            except InputError as exc:
                column = next(c for c, f in bits.values() if f == exc.field)
                raise InputError(exc.reason, line=number, field=column) from None
        layers.append((number, layer))
    return layers


def _widths(cells: list[str], bits: dict[int, tuple[str, str]], number: int) -> dict[str, Any]:
    """weight_bits/act_bits of a row's bit-width columns (an empty cell: the accelerator's)."""
    widths = {}
    for index, (column, field) in bits.items():
        cell = cells[index] if index < len(cells) else ""
        if cell != "":
            widths[field] = _integer(cell, number, column)
    return widths


def _split(line: str) -> list[str]:
    cells = [cell.strip() for cell in line.split(",")]
    if cells and cells[-1] == "":
        cells.pop()  # the trailing comma SCALE-Sim requires
    return cells


def _looks_like_header(cells: list[str]) -> bool:
    """A header names its second column; a data row has a number there (even a malformed
    one such as ``1.5`` or ``１６``, which is then reported where it is)."""
    return len(cells) > 1 and not re.search(r"\d", cells[1])


def _integer(cell: str, number: int, field: str) -> int:
    """``cell`` as an integer: ASCII digits with an optional sign, nothing else."""
    if _INTEGER.fullmatch(cell):
        try:
            return int(cell)
        except ValueError:  # more digits than int() converts
            pass
    shown = cell if len(cell) <= 24 else f"{cell[:20]}..."
    raise InputError(f"not an integer: {shown!r}", line=number, field=field)


def _parse_row(cells: list[str], fields: tuple[str, ...], number: int, is_gemm: bool) -> Layer:
    if len(cells) < len(fields):
        missing = fields[len(cells)]
        hint = "; a GEMM topology needs the header 'Layer, M, N, K'" \
            if not is_gemm and len(cells) == len(GEMM_FIELDS) else ""
        raise InputError(f"missing (row has {len(cells)} of {len(fields)} fields){hint}",
                         line=number, field=missing)
    name = cells[0]
    if not name:
        raise InputError("empty layer name", line=number, field=fields[0])
    values = [_integer(cell, number, field)
              for field, cell in zip(fields[1:], cells[1 : len(fields)])]
    try:
        if is_gemm:
            return Layer.gemm(name, *values)
        ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride = values
        kind = LayerKind.DEPTHWISE if "DP" in name else LayerKind.CONV
        return Layer(name=name, ifmap_h=ifmap_h, ifmap_w=ifmap_w, filter_h=filter_h,
                     filter_w=filter_w, channels=channels, num_filters=num_filters,
                     stride_h=stride, stride_w=stride, kind=kind)
    except InputError as exc:
        column = exc.field if is_gemm else _LAYER_FIELD_TO_COLUMN.get(exc.field or "", exc.field)
        raise InputError(exc.reason, line=number, field=column) from None
