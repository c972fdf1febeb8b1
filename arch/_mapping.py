"""Explicit per-layer mappings: the dataflow, DRAM-level tiles and tile-loop order of a layer.

A mapping file pins what a mapper would otherwise choose, so that a schedule can be
reproduced, compared with another tool's or searched around. Like hwloop's accelerator TOML,
it rejects unknown keys, and every error names file, line and field.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from numbers import Integral
from typing import Any

from hwloop.traces import InputError

from ._loaders import _key_parts, _line_of, _parse_toml, _read_text
from ._systolic import Dataflow, parse_dataflow

#: Orders of the DRAM-level tile loops, outermost first: the permutations of ``"mnk"``.
MAPPING_ORDERS = ("mnk", "mkn", "nmk", "nkm", "kmn", "knm")
_TILES = ("tile_m", "tile_p", "tile_q", "tile_c", "tile_n", "tile_k")  # as describe() lists them
_MAX_TILE = 2**40  # past any real layer, and small enough for int64 arithmetic


def _shown(value: object) -> str:
    """``repr(value)``, cut short: the message must stay one readable line."""
    if isinstance(value, int) and value.bit_length() > 128:  # repr() refuses 4300+ digits
        return f"a {value.bit_length()}-bit integer"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:36]}..."


@dataclass(frozen=True)
class Mapping:
    """One layer's explicit mapping: the array dataflow, DRAM-level tile sizes and the order
    of the DRAM-level tile loops (outermost first). A tile left None spans its whole dimension.

    GEMM layers use ``tile_m`` (ifmap/ofmap rows), ``tile_n`` (filters) and ``tile_k``
    (reduction); convolutions use ``tile_p``/``tile_q`` (ofmap rows/columns per tile),
    ``tile_c`` (input channels per tile, within one channel group) and ``tile_n``. A dataflow
    of None keeps the accelerator's.
    """

    dataflow: Dataflow | None = None
    order: str = "mnk"
    tile_m: int | None = None
    tile_n: int | None = None
    tile_k: int | None = None
    tile_p: int | None = None
    tile_q: int | None = None
    tile_c: int | None = None

    def __post_init__(self) -> None:
        if self.dataflow is not None:
            if not isinstance(self.dataflow, str):  # Dataflow is a str too
                raise InputError(f"must be os, ws or is, got {_shown(self.dataflow)}",
                                 field="dataflow")
            object.__setattr__(self, "dataflow", parse_dataflow(self.dataflow))
        order = self.order.strip().lower() if isinstance(self.order, str) else None
        if order not in MAPPING_ORDERS:
            raise InputError(f"must be one of {', '.join(MAPPING_ORDERS)} (outermost loop "
                             f"first), got {_shown(self.order)}", field="order")
        object.__setattr__(self, "order", order)
        for name in _TILES:
            object.__setattr__(self, name, _tile(name, getattr(self, name)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Mapping:
        """A mapping from a table of its fields; an unknown key is an error naming that key.

        Keys are checked one by one in the table's order, so the first bad one is reported."""
        names = [f.name for f in fields(cls)]
        for key, value in d.items():
            if key not in names:
                raise InputError(f"unknown key; expected one of {', '.join(names)}",
                                 field=str(key))
            cls(**{key: value})
        return cls(**d)

    def describe(self) -> str:
        """A short readable form, e.g. ``ws m64 n32 k576 nkm``, for logs and reports."""
        words = [self.dataflow.value] if self.dataflow is not None else []
        words += [f"{name[-1]}{getattr(self, name)}" for name in _TILES
                  if getattr(self, name) is not None]
        return " ".join([*words, self.order])

    def to_dict(self) -> dict[str, str | int]:
        """The fields a mapping file's table sets (``from_dict`` reads it back)."""
        out: dict[str, str | int] = {}
        if self.dataflow is not None:
            out["dataflow"] = self.dataflow.value
        out.update({name: getattr(self, name) for name in _TILES
                    if getattr(self, name) is not None})
        out["order"] = self.order
        return out


def _tile(name: str, value: object) -> int | None:
    """``value`` as a tile size: None, or a positive integer small enough to multiply safely."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < 1:
        raise InputError(f"must be a positive integer, got {_shown(value)}", field=name)
    if int(value) > _MAX_TILE:
        raise InputError(f"overflows: must be at most 2**40, got {_shown(value)}", field=name)
    return int(value)


@dataclass(frozen=True)
class MappingFile:
    """The mappings of a mapping file: a ``[default]`` and ``[layers.NAME]`` tables.

    A layer's table is complete by itself and inherits nothing from ``[default]``: a field
    it leaves out is None (the whole dimension; the accelerator's dataflow) and its order
    is ``"mnk"``. ``[default]`` is for the layers without a table of their own.
    """

    source: str
    default: Mapping
    layers: tuple[tuple[str, Mapping], ...]
    text: str = field(repr=False, compare=False, default="")

    def for_layer(self, name: str) -> tuple[str, Mapping]:
        """(table name, mapping) for layer ``name``: its own table, else the default one."""
        for layer, mapping in self.layers:
            if layer == name:
                return f"layers.{name}", mapping
        return "default", self.default

    def layer_names(self) -> tuple[str, ...]:
        """The names of the ``[layers.NAME]`` tables, in file order."""
        return tuple(name for name, _ in self.layers)

    def locate(self, exc: InputError, table: str) -> InputError:
        """``exc`` (raised using a mapping of ``table``) as an error of this file: field
        ``table.field``, source the file, line where that key is set in that table, else the
        table header's line, else 1. Lets the user fix the file, not guess."""
        layer = table[len("layers."):] if table.startswith("layers.") else None
        parts = ("layers", layer) if layer in self.layer_names() else _key_parts(table)
        return _locate(exc, self.source, self.text, table, parts)


def _locate(exc: InputError, source: str, text: str, table: str,
            parts: tuple[str, ...]) -> InputError:
    """``exc`` placed in ``text`` at the key ``exc.field`` of the table with ``parts``."""
    if exc.field is None:
        line = _line_of(text, parts[-1], parts[:-1]) if parts else None
    else:
        line = _line_of(text, exc.field, parts)
    field_name = f"{table}.{exc.field}" if exc.field is not None else table
    return InputError(exc.reason, source=source, line=line or 1, field=field_name)


def load_mapping(path: str | os.PathLike[str]) -> MappingFile:
    """The :class:`MappingFile` in the TOML file ``path``. An empty file maps every layer
    with ``Mapping()``; anything wrong is one :class:`InputError` naming file, line and field."""
    source = os.fspath(path)
    text = _read_text(source, "mapping file")
    data = _parse_toml(text, source)
    default = Mapping()
    layers: tuple[tuple[str, Mapping], ...] = ()
    for key, value in data.items():
        if key == "default":
            default = _table(value, source, text, "default", ("default",))
        elif key == "layers":
            layers = _layers(value, source, text)
        else:
            raise _locate(InputError("unknown key; expected default or layers"), source, text,
                          key, (key,))
    return MappingFile(source=source, default=default, layers=layers, text=text)


def _layers(value: object, source: str, text: str) -> tuple[tuple[str, Mapping], ...]:
    """The ``[layers.NAME]`` tables, in file order."""
    if not isinstance(value, dict):
        raise _locate(InputError("must be a table of [layers.NAME] tables, got "
                                 f"{_shown(value)}"), source, text, "layers", ("layers",))
    return tuple((name, _table(table, source, text, f"layers.{name}", ("layers", name)))
                 for name, table in value.items())


def _table(value: object, source: str, text: str, table: str,
           parts: tuple[str, ...]) -> Mapping:
    """The mapping in one table; its errors point into the file."""
    if not isinstance(value, dict):
        raise _locate(InputError(f"must be a table of mapping fields, got {_shown(value)}"),
                      source, text, table, parts)
    try:
        return Mapping.from_dict(value)
    except InputError as exc:
        raise _locate(exc, source, text, table, parts) from None


def mapping_toml(layers: Sequence[tuple[str, Mapping]], default: Mapping | None = None) -> str:
    """A mapping file's text: ``[default]`` (if given), then one ``[layers.NAME]`` table per
    layer, in order (``load_mapping`` reads it back to the same mappings)."""
    import tomli_w

    data: dict = {}
    if default is not None:
        data["default"] = default.to_dict()
    if layers:
        data["layers"] = {name: mapping.to_dict() for name, mapping in layers}
    return tomli_w.dumps(data)
