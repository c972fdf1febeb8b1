"""Read accelerator descriptions: SCALE-Sim ``.cfg`` files and hwloop's own TOML.

Foreign formats are read for what hwloop understands, with one warning listing what it
ignores; hwloop's own TOML rejects unknown keys. Every error names file, line and field.
"""
from __future__ import annotations

import configparser
import logging
import os
import re
import sys
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from hwloop.traces import InputError

from ._accelerator import Accelerator, _array_with
from ._energy import ENERGY_FIELDS, EnergyTable, get_energy_table
from ._memory import Dram, Sram
from ._systolic import SystolicArray
from .presets import SCALESIM_DEFAULT, get_preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

logger = logging.getLogger(__name__)

_CFG_KEYS = {  # [architecture_presets] key -> (part, field)
    "arrayheight": ("array", "rows"),
    "arraywidth": ("array", "cols"),
    "dataflow": ("array", "dataflow"),
    "ifmapsramszkb": ("sram", "ifmap_kb"),
    "filtersramszkb": ("sram", "filter_kb"),
    "ofmapsramszkb": ("sram", "ofmap_kb"),
}
_CFG_REQUIRED = ("ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB",
                 "OfmapSramSzkB", "Dataflow")
_TOML_SCHEMA: dict[str, Any] = {
    "name": str, "preset": str, "clock_ghz": (int, float), "operand_bits": int,
    "array": {"rows": int, "cols": int, "dataflow": str, "kind": str},  # + kinds' fields
    "sram": {"ifmap_kb": int, "filter_kb": int, "ofmap_kb": int, "word_bytes": int,
             "active_fraction": (int, float), "accumulate_psums": bool},
    "dram": {"bandwidth": int, "ifmap_bandwidth": int, "filter_bandwidth": int,
             "ofmap_bandwidth": int, "latency_cycles": int, "model": str},
    "energy": {"preset": str, "name": str, **{key: (int, float) for key in ENERGY_FIELDS}},
}


def load_config(path: str | os.PathLike[str]) -> Accelerator:
    """An :class:`Accelerator` from a ``.cfg`` (SCALE-Sim) or ``.toml`` (hwloop) file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read config file ({exc.strerror or exc})", source=str(path))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text config file", source=str(path), line=1) from None
    if "\x00" in text:
        raise InputError("not a text config file (binary data)", source=str(path), line=1)
    if path.suffix.lower() == ".toml":
        return _from_toml(text, str(path))
    if path.suffix.lower() == ".cfg":
        return _from_scalesim_cfg(text, str(path))
    raise InputError("unknown config format; use a SCALE-Sim .cfg or an hwloop .toml file",
                     source=str(path))


def _line_of(text: str, key: str, section: str | None = None) -> int | None:
    """1-based line where ``key`` is set (inside ``section`` if given), else the section line."""
    current = None
    section_line = None
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*[:=]", re.IGNORECASE)
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip().lower()
            if section is not None and current == section.lower():
                section_line = number
            continue
        if (section is None or current == section.lower()) and pattern.match(line):
            return number
    return section_line


def field_line(path: str | os.PathLike[str], field: str) -> int | None:
    """Line of ``path`` (a config :func:`load_config` read) that sets ``field`` (``rows``,
    ``ifmap_kb`` ...), else of the table or section holding it; None if neither is there."""
    part = "array" if field in ("rows", "cols", "dataflow") else \
        "dram" if field in _TOML_SCHEMA["dram"] else "sram"
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    if Path(path).suffix.lower() == ".toml":
        return _line_of(text, field, part)
    keys = {v: k for k, v in _CFG_KEYS.items()}
    if (part, field) not in keys:
        return None
    return _line_of(text, _cfg_key(keys[(part, field)]), "architecture_presets")


def _from_scalesim_cfg(text: str, source: str) -> Accelerator:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    try:
        parser.read_string(text, source=source)
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        message = str(exc).splitlines()[0]
        if type(exc) is configparser.ParsingError and exc.errors:
            line = exc.errors[0][0]
            bad = text.split("\n")[line - 1].strip()
            message = f"expected 'key: value', got {bad!r}"
        raise InputError(f"not a valid SCALE-Sim config: {message}", source=source,
                         line=line) from None
    section = "architecture_presets"
    if not parser.has_section(section):
        raise InputError(f"missing section [{section}]", source=source, line=1, field=section)
    values = parser[section]
    for key in _CFG_REQUIRED:
        if key.lower() not in values:
            raise InputError("missing", source=source, line=_line_of(text, key, section) or 1,
                             field=key)
    parts: dict[str, dict[str, Any]] = {"array": {}, "sram": {}}
    for key in _CFG_REQUIRED:
        part, field = _CFG_KEYS[key.lower()]
        raw = values[key.lower()].strip()
        line = _line_of(text, key, section)
        if field == "dataflow":
            parts[part][field] = raw
            continue
        try:
            parts[part][field] = int(raw)
        except ValueError:
            raise InputError(f"not an integer: {raw!r}", source=source, line=line,
                             field=key) from None
    ignored = sorted(k for k in values if k not in _CFG_KEYS)
    ignored += sorted(f"[{s}]" for s in parser.sections()
                      if s not in (section, "general", "run_presets"))
    dram, used = _cfg_dram(parser, section, text, source)
    ignored = [k for k in ignored if k not in used]
    if ignored:
        logger.warning("%s: hwloop ignores %s", source, ", ".join(ignored))
    name = parser.get("general", "run_name", fallback=Path(source).stem).strip()
    fields_to_keys = {v: k for k, v in _CFG_KEYS.items()}
    return _build(source, text, name=name, array=parts["array"], sram=parts["sram"],
                  dram=dram,
                  key_of=lambda part, field: (_cfg_key(fields_to_keys[(part, field)]), section)
                  if (part, field) in fields_to_keys else (field, None))


#: hwloop's own [architecture_presets] keys for the DRAM ports (SCALE-Sim has only Bandwidth).
_CFG_DRAM_KEYS = {"ifmapbandwidth": "ifmap_bandwidth", "filterbandwidth": "filter_bandwidth",
                  "ofmapbandwidth": "ofmap_bandwidth", "dramlatency": "latency_cycles"}


def _cfg_dram(parser, section: str, text: str, source: str) -> tuple[dict, set[str]]:
    """DRAM settings of a ``.cfg``: ``Bandwidth`` in USER mode (the first value, which
    SCALE-Sim gives the ofmap port; its ``[layout]`` bank bandwidths feed the read ports),
    plus hwloop's per-port and latency keys. Returns (Dram fields, keys used)."""
    values = parser[section]
    dram: dict[str, Any] = {}
    used: set[str] = set()

    def whole(raw: str, key: str, sect: str) -> int:
        try:
            return int(raw.strip().split(",")[0])
        except ValueError:
            raise InputError(f"not a whole number of words per cycle: {raw.strip()!r}",
                             source=source, line=_line_of(text, key, sect), field=key) from None

    user = parser.has_option("run_presets", "InterfaceBandwidth") and \
        parser.get("run_presets", "InterfaceBandwidth").strip().upper() == "USER"
    if user:
        if "bandwidth" not in values:
            raise InputError("missing (InterfaceBandwidth is USER)", source=source,
                             line=_line_of(text, "InterfaceBandwidth", "run_presets") or 1,
                             field="Bandwidth")
        dram["bandwidth"] = whole(values["bandwidth"], "Bandwidth", section)
        for key, field in (("IfmapSRAMBankBandwidth", "ifmap_bandwidth"),
                           ("FilterSRAMBankBandwidth", "filter_bandwidth")):
            if parser.has_option("layout", key):
                dram[field] = whole(parser.get("layout", key), key, "layout")
    used.add("bandwidth")
    for key, field in _CFG_DRAM_KEYS.items():
        if key in values:
            dram[field] = whole(values[key], key, section)
            used.add(key)
    return dram, used


def _cfg_key(lower: str) -> str:
    return next(k for k in _CFG_REQUIRED if k.lower() == lower)


def _from_toml(text: str, source: str) -> Accelerator:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise InputError(f"not valid TOML: {reason}", source=source,
                         line=int(match.group(1)) if match else None) from None
    _check_schema(data, _toml_schema(), text, source, section=None)
    try:
        base = get_preset(data["preset"]) if "preset" in data else SCALESIM_DEFAULT
    except InputError as exc:
        raise exc.located(source=source, line=_line_of(text, "preset")) from None
    try:
        base = replace(base, **{k: data[k] for k in ("name", "clock_ghz", "operand_bits") if k in data})
    except InputError as exc:
        raise exc.located(source=source, line=_line_of(text, exc.field or "")) from None
    if "energy" in data:
        base = replace(base, energy=_toml_energy(data["energy"], text, source))
    return _build(source, text, name=base.name, base=base, array=data.get("array", {}),
                  sram=data.get("sram", {}), dram=data.get("dram"),
                  key_of=lambda part, field: (field, part))


def _toml_schema() -> dict[str, Any]:
    """The TOML schema, with every array kind's own fields allowed in ``[array]`` (each
    kind's dataclass checks its values, and names a field the chosen kind lacks)."""
    from ._precision import ARRAY_KINDS

    extra = {f.name: object for cls in ARRAY_KINDS.values() for f in fields(cls)
             if f.name not in _TOML_SCHEMA["array"]}
    return {**_TOML_SCHEMA, "array": {**_TOML_SCHEMA["array"], **extra}}


def _toml_energy(table: dict, text: str, source: str) -> EnergyTable:
    """The ``[energy]`` table: a ``preset`` with overrides, or, without one, every component."""
    values = dict(table)
    try:
        if "preset" in values:
            preset = get_energy_table(values.pop("preset"))
            if values and "name" not in values:  # changed numbers: not the preset any more
                values["name"] = f"{preset.name} (modified)"
            return EnergyTable(**{**preset.to_dict(), **values})
        for key in ENERGY_FIELDS:
            if key not in values:
                raise InputError("missing: an [energy] table without a preset must set every "
                                 "component", field=key)
        return EnergyTable(**values)
    except InputError as exc:
        key = "preset" if exc.field == "energy" else exc.field
        raise InputError(exc.reason, source=source, line=_line_of(text, key, "energy"),
                         field=f"energy.{key}") from None


def _check_schema(data: dict, schema: dict, text: str, source: str, section: str | None) -> None:
    for key, value in data.items():
        where = f"{section}.{key}" if section else key
        if key not in schema:
            raise InputError(f"unknown key; expected one of {', '.join(sorted(schema))}",
                             source=source, line=_line_of(text, key, section), field=where)
        expected = schema[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise InputError("must be a table", source=source, line=_line_of(text, key),
                                 field=where)
            _check_schema(value, expected, text, source, section=key)
        elif (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
            kind = expected.__name__ if isinstance(expected, type) else "number"
            raise InputError(f"must be {kind}, got {value!r}", source=source,
                             line=_line_of(text, key, section), field=where)


def _build(source: str, text: str, *, name: str, array: dict, sram: dict, dram: dict | None,
           key_of, base: Accelerator = SCALESIM_DEFAULT) -> Accelerator:
    # (part, class, default, values): the array and the SRAM, each built the same way
    parts: tuple[tuple[str, type, Any, dict], ...] = (
        ("array", SystolicArray, base.array, array), ("sram", Sram, base.sram, sram))
    built: dict[str, Any] = {}
    for part, _cls, default, values in parts:
        try:
            if part == "array" and ("kind" in values or set(values) - {"rows", "cols",
                                                                       "dataflow"}):
                changes = dict(values)
                if "kind" in changes:
                    changes["array_kind"] = changes.pop("kind")
                built[part] = _array_with(default, changes)
            else:
                built[part] = replace(default, **values)
        except InputError as exc:
            field = "kind" if exc.field == "array_kind" else exc.field
            key, section = key_of(part, field)
            raise InputError(exc.reason, source=source, line=_line_of(text, key, section),
                             field=key) from None
    dram_obj = base.dram
    if dram is not None:
        try:
            dram_obj = Dram(**dram)
        except InputError as exc:
            raise InputError(exc.reason, source=source, line=_line_of(text, exc.field or ""),
                             field=exc.field) from None
    return replace(base, name=name, array=built["array"], sram=built["sram"], dram=dram_obj)
