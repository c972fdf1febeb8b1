"""The per-layer table ``hwloop simulate`` prints: headers with units, as many columns as
fit the terminal (a run has up to a dozen, 200+ characters), and what was left out.

Fitting needs a width: ``COLUMNS`` if set, else the terminal's; output into a file or a
pipe has no width and gets every column (``--csv``/``--json`` are the files to parse).
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from hwloop.sim.report import COLUMNS

#: Header of a column: its name and, on the second line, its unit.
HEADERS: dict[str, tuple[str, str]] = {
    "name": ("layer", ""), "kind": ("kind", ""), "array_kind": ("array", ""),
    "dataflow": ("data", "flow"), "tiling": ("tiling", ""),
    "total_cycles": ("total", "cycles"), "stall_cycles": ("stall", "cycles"),
    "overall_util": ("util", "%"), "compute_util": ("compute", "util %"),
    "mapping_eff": ("mapping", "eff %"), "macs": ("MACs", ""),
    "ifmap_sram_reads": ("SRAM ifmap", "rd words"), "filter_sram_reads": ("SRAM filter", "rd words"),
    "ofmap_sram_writes": ("SRAM ofmap", "wr words"), "ofmap_sram_reads": ("SRAM ofmap", "rd words"),
    "dram_ifmap_reads": ("DRAM ifmap", "rd words"), "dram_filter_reads": ("DRAM filter", "rd words"),
    "dram_ofmap_writes": ("DRAM ofmap", "wr words"), "dram_ofmap_reads": ("DRAM ofmap", "rd words"),
    "mapping": ("mapping", ""), "energy_pj": ("energy", "pJ"),
    "tiles_used": ("tiles", "used"), "tile_util": ("tile util", "fraction"),
    "tile_replication": ("tile", "copies"), "tile_passes": ("tile", "passes"),
    "adc_conversions": ("ADC", "conversions"),
}
#: Short units of the other columns, from the first word of their unit in ``COLUMNS``.
_UNITS = {"cycles": "cycles", "cycle": "cycle", "words": "words", "bits": "bits",
          "percent": "%", "folds": "folds", "bytes": "bytes", "seconds": "s",
          "picojoules": "pJ", "multiply-accumulates": "MACs",
          "words per cycle": "words/cycle", "picojoules x cycles": "pJ x cycles"}
#: What a shown column means, for the legend under the table.
LEGEND = {
    "stall_cycles": "stall = cycles waiting for DRAM (part of total)",
    "overall_util": "util = overall util: MACs / peak MACs in the layer's cycles",
    "compute_util": "compute util = SCALE-Sim's per-fold util (counts each fold's fill and "
                    "drain, not stalls; can be below util)",
    "mapping_eff": "mapping eff = PEs a fold maps",
    "tiling": "tiling = a PE's MACs along the reduction x along the columns",
}
#: Columns of text, aligned left.
_TEXT = ("name", "kind", "array_kind", "dataflow", "tiling", "mapping")
#: A cell that holds no dict: ``energy_breakdown`` is spread into columns by ``--csv``.
_UNPRINTABLE = ("energy_breakdown",)
_GAP = "  "


def printable_columns() -> list[str]:
    """The report columns ``--columns`` can name (array kinds' own included)."""
    return [name for name in COLUMNS if name not in _UNPRINTABLE]


def column_list(text: str) -> list[str]:
    """``--columns a,b,c``: known report columns, else one argparse error line."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = printable_columns()
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        shown = f"unknown column {unknown[0]!r}" if unknown else "no column named"
        raise argparse.ArgumentTypeError(
            f"{shown}; name report columns as in --csv, e.g. name,total_cycles,stall_cycles "
            f"(all listed in hwloop simulate --help)")
    return names


def terminal_width() -> int | None:
    """``COLUMNS`` if set, the terminal's width if stdout is one, else None (no fitting)."""
    text = os.environ.get("COLUMNS", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    isatty = getattr(sys.stdout, "isatty", None)
    return shutil.get_terminal_size().columns if isatty is not None and isatty() else None


@dataclass(frozen=True)
class Table:
    """The table's lines and the columns left out to fit the width (in order)."""

    lines: list[str]
    hidden: list[str]


def render(frame: pd.DataFrame, columns: Sequence[str], counted: Sequence[str],
           width: int | None) -> Table:
    """``columns`` of ``frame`` as aligned text; with a ``width``, the leading columns that
    fit it (the first always; layer names cut to a fifth of it)."""
    cells = {c: [_cell(v, c, c in counted) for v in frame[c].tolist()] for c in columns}
    if width is not None and "name" in cells:
        cut = max(10, width // 5)
        cells["name"] = [n if len(n) <= cut else n[:cut - 2] + ".." for n in cells["name"]]
    sizes = {c: max([len(s) for s in (*_header(c), *cells[c])]) for c in columns}
    shown: list[str] = []
    used = -len(_GAP)
    for c in columns:
        if shown and width is not None and used + len(_GAP) + sizes[c] > width:
            break
        shown.append(c)
        used += len(_GAP) + sizes[c]
    rows = [list(_header(c)) for c in shown]
    lines = [_line([(rows[i][k], c) for i, c in enumerate(shown)], sizes) for k in (0, 1)]
    lines += [_line([(cells[c][r], c) for c in shown], sizes) for r in range(len(frame))]
    return Table(lines=lines, hidden=[c for c in columns if c not in shown])


def hidden_note(hidden: Sequence[str], width: int | None) -> str:
    """One line on the columns left out and how to get them."""
    full = f"not shown: {', '.join(hidden)} (--columns picks; --csv/--json have all)"
    if width is None or len(full) <= width:
        return full
    return f"{len(hidden)} more columns not shown (--columns a,b,c picks; --csv/--json have all)"


def legend(shown: Sequence[str], width: int | None) -> list[str]:
    """What the shown columns that need it mean, wrapped to ``width``."""
    text = "; ".join(LEGEND[c] for c in shown if c in LEGEND)
    return wrap(text, width) if text else []


def wrap(text: str, width: int | None) -> list[str]:
    """``text`` in lines of at most ``width`` (continued lines indented), words kept whole."""
    if width is None or len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, subsequent_indent="  ", break_long_words=False,
                         break_on_hyphens=False)


def _header(column: str) -> tuple[str, str]:
    found = HEADERS.get(column)
    if found is not None:
        return found
    unit = COLUMNS.get(column, "").split(" (")[0]
    return column, _UNITS.get(unit) or _UNITS.get(unit.split(" ")[0], "")


def _cell(value: object, column: str, counted: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, str):
        return value.upper() if column == "dataflow" else value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if counted else str(value)
    if counted and value.is_integer():
        return f"{int(value):,}"
    return f"{value:.3g}" if 0 < abs(value) < 0.005 else f"{value:,.2f}"


def _line(cells: list[tuple[str, str]], sizes: dict[str, int]) -> str:
    parts = [text.ljust(sizes[c]) if c in _TEXT else text.rjust(sizes[c]) for text, c in cells]
    return _GAP.join(parts).rstrip()
