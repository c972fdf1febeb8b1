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
from ._cfg_sparsity import cfg_sparsity
from ._energy import ENERGY_FIELDS
from ._memory import Dram, Sram
from ._systolic import SystolicArray
from ._toml_tables import TABLE_BUILDERS
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
             "active_fraction": (int, float), "accumulate_psums": bool,
             "keep_activations": bool},
    "dram": {"bandwidth": int, "ifmap_bandwidth": int, "filter_bandwidth": int,
             "ofmap_bandwidth": int, "latency_cycles": int, "model": str},
    "energy": {"preset": str, "name": str, **{key: (int, float) for key in ENERGY_FIELDS}},
    "vector": {"preset": str, "lanes": int, "ops_per_lane": int, "port_words": int,
               "energy_per_op_pj": (int, float)},
    "sparsity": {"enabled": bool, "representation": str, "row_wise": bool, "block_size": int,
                 "seed": int},
    "chip": {"cores": int, "partition": str, "noc_bw": int, "noc_pj_per_word_hop": (int, float),
             "mesh_rows": int},
}


def load_config(path: str | os.PathLike[str]) -> Accelerator:
    """An :class:`Accelerator` from a ``.cfg`` (SCALE-Sim) or ``.toml`` (hwloop) file."""
    path = Path(path)
    text = _read_text(path, "config file")
    if path.suffix.lower() == ".toml":
        return _from_toml(text, str(path))
    if path.suffix.lower() == ".cfg":
        return _from_scalesim_cfg(text, str(path))
    raise InputError("unknown config format; use a SCALE-Sim .cfg or an hwloop .toml file",
                     source=str(path))


def _read_text(path: str | os.PathLike[str], what: str) -> str:
    """The text of ``path``, or an InputError naming ``what`` the file should have been."""
    try:
        raw = Path(path).read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputError(f"cannot read {what} ({reason})", source=os.fspath(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"not a UTF-8 text {what}", source=os.fspath(path), line=1) from None
    if "\x00" in text:
        raise InputError(f"not a text {what} (binary data)", source=os.fspath(path), line=1)
    return text


_KEY_PART = r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\s.=:"'#\[\]][^.=:"'#\[\]]*?)"""
_ASSIGNED = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*[:=]")


def _key_parts(name: str) -> tuple[str, ...]:
    """A dotted TOML key's parts, unquoted, lower case: ``layers."a.b"`` -> layers, a.b."""
    parts = re.findall(rf"\s*({_KEY_PART})\s*(?:\.|$)", name.strip())
    return tuple((p[1:-1] if p[:1] in "\"'" and len(p) > 1 else p.strip()).lower() for p in parts)


def _line_of(text: str, key: str, section: str | tuple[str, ...] | None = None) -> int | None:
    """1-based line where ``key`` is set (inside ``section`` if given), else the section line.

    ``section``: a dotted name, or its parts if a name holds a dot; None: any table. TOML's
    forms count too: quoted keys, ``section.key =`` or ``section = {...}`` in a table above,
    and a table header ``[key]``, ``[[key]]``, ``[section.key]`` or one below it."""
    want = _key_parts(section) if isinstance(section, str) else tuple(map(str.lower, section or ()))
    table, fallback = (*want, key.lower()), None
    current: tuple[str, ...] = ()  # the table the line is in; () before the first header
    for number, line in enumerate(text.split("\n"), start=1):  # as configparser and tomllib count
        header = re.match(r"^\s*\[\[?([^\]]+)\]", line)
        if header:
            current = _key_parts(header.group(1))
            if current[:len(table)] == table:
                return number
            fallback = fallback or (number if section is not None and current == want else None)
            continue
        path = _key_parts(assigned.group(1)) if (assigned := _ASSIGNED.match(line)) else ()
        size = min(len(current) + len(path), len(table))
        if path and len(current) < len(table) and (*current, *path)[:size] == table[:size] or \
                section is None and path == table:
            return number
    return fallback


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
    parser = _read_cfg(text, source)
    section = "architecture_presets"
    if not parser.has_section(section):
        raise InputError(f"missing section [{section}]", source=source, line=1, field=section)
    values = parser[section]
    problems = _CfgProblems(text, source)
    settings = _cfg_settings(parser, section, problems)
    for setting in settings:
        problems.check(*setting)
    problems.raise_first()
    parts: dict[str, dict[str, Any]] = {"array": {}, "sram": {}, "dram": {}}
    for part, field, _, _, value in settings:
        parts[part][field] = value
    used = {key.lower() for _, _, key, _, _ in settings} | {"bandwidth"}
    ignored = sorted(k for k in values if k not in _CFG_KEYS and k not in used)
    ignored += sorted(f"[{s}]" for s in parser.sections()
                      if s not in (section, "general", "run_presets", "sparsity"))
    if ignored:
        logger.warning("%s: hwloop ignores %s", source, ", ".join(ignored))
    name = parser.get("general", "run_name", fallback=Path(source).stem).strip()
    fields_to_keys = {v: k for k, v in _CFG_KEYS.items()}
    accel = _build(source, text, name=name, array=parts["array"], sram=parts["sram"],
                   dram=parts["dram"],
                   key_of=lambda part, field: (_cfg_key(fields_to_keys[(part, field)]), section)
                   if (part, field) in fields_to_keys else (field, None))
    sparsity = cfg_sparsity(parser, source, lambda key: _line_of(text, key, "sparsity"))
    return accel if sparsity is None else replace(accel, sparsity=sparsity)


def _read_cfg(text: str, source: str) -> configparser.ConfigParser:
    """The parsed ``.cfg``, or the InputError of its first syntax error in file order."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    try:
        parser.read_string(text, source=source)
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        if isinstance(exc, (configparser.DuplicateSectionError,
                            configparser.DuplicateOptionError)) and line:
            # configparser stops at a duplicate but reports other syntax errors at the end:
            # one above the duplicate comes first.
            _read_cfg("\n".join(text.split("\n")[: line - 1]), source)
        message = str(exc).splitlines()[0]
        if isinstance(exc, configparser.DuplicateSectionError):
            message = f"section [{exc.section}] is set twice"
        elif isinstance(exc, configparser.DuplicateOptionError):
            message = f"key {exc.option!r} is set twice in [{exc.section}]"
        if type(exc) is configparser.ParsingError and exc.errors:
            line = exc.errors[0][0]
            bad = text.split("\n")[line - 1].strip()
            message = f"expected 'key: value', got {bad[:40]!r}"
        raise InputError(f"not a valid SCALE-Sim config: {message}", source=source,
                         line=line) from None
    return parser


#: hwloop's own [architecture_presets] keys for the DRAM ports (SCALE-Sim has only Bandwidth).
_CFG_DRAM_KEYS = {"IfmapBandwidth": "ifmap_bandwidth", "FilterBandwidth": "filter_bandwidth",
                  "OfmapBandwidth": "ofmap_bandwidth", "DramLatency": "latency_cycles"}
_INTEGER = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: int() also takes "1_6" and "１６"
#: (part, field, .cfg key, section, value): one setting hwloop takes from a ``.cfg``.
_Setting = tuple[str, str, str, str, Any]


def _cfg_settings(parser, section: str, problems: "_CfgProblems") -> list[_Setting]:
    """The array, SRAM and DRAM settings of a ``.cfg``; problems go to ``problems``. DRAM:
    ``Bandwidth`` in USER mode (the first value, which SCALE-Sim gives the ofmap port; its
    ``[layout]`` bank bandwidths feed the read ports), plus hwloop's per-port and latency keys."""
    values = parser[section]
    settings: list[_Setting] = []

    def add(part: str, field: str, key: str, sect: str, raw: str) -> None:
        value = raw.strip() if field == "dataflow" else problems.integer(raw, key, sect, part)
        if value is not None:
            settings.append((part, field, key, sect, value))

    for key in _CFG_REQUIRED:
        if key.lower() in values:
            add(*_CFG_KEYS[key.lower()], key, section, values[key.lower()])
        else:
            problems.missing(key, section)
    user = parser.has_option("run_presets", "InterfaceBandwidth") and \
        parser.get("run_presets", "InterfaceBandwidth").strip().upper() == "USER"
    if user and "bandwidth" not in values:
        problems.missing("Bandwidth", section, "missing (InterfaceBandwidth is USER)",
                         _line_of(problems.text, "InterfaceBandwidth", "run_presets"))
    elif user:
        add("dram", "bandwidth", "Bandwidth", section, values["bandwidth"])
        for key, field in (("IfmapSRAMBankBandwidth", "ifmap_bandwidth"),
                           ("FilterSRAMBankBandwidth", "filter_bandwidth")):
            if parser.has_option("layout", key):
                add("dram", field, key, "layout", parser.get("layout", key))
    for key, field in _CFG_DRAM_KEYS.items():
        if key.lower() in values:
            add("dram", field, key, section, values[key.lower()])
    return settings


class _CfgProblems:
    """What is wrong with a ``.cfg``, so that the first problem in file order is reported
    (a missing key counts as being at the end of its section)."""

    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text, source
        self.found: list[tuple[tuple[int, int], InputError]] = []

    def note(self, reason: str, key: str, sect: str, line: int | None = None,
             missing: bool = False) -> None:
        line = line or _line_of(self.text, key, sect) or 1
        order = _section_end(self.text, sect) if missing else line
        self.found.append(((order, missing), InputError(reason, source=self.source, line=line,
                                                        field=key)))

    def missing(self, key: str, sect: str, reason: str = "missing",
                line: int | None = None) -> None:
        self.note(reason, key, sect, line, missing=True)

    def integer(self, raw: str, key: str, sect: str, part: str) -> int | None:
        """``raw`` (a DRAM value: its first comma-separated value) as ASCII digits."""
        text = (raw.split(",")[0] if part == "dram" else raw).strip()
        if _INTEGER.fullmatch(text):
            try:
                return int(text)
            except ValueError:  # more digits than int() converts
                pass
        kind = "a whole number of words per cycle" if key.endswith("andwidth") else "an integer"
        shown = text if len(text) <= 24 else f"{text[:20]}..."
        self.note(f"not {kind}: {shown!r}", key, sect)
        return None

    def check(self, part: str, field: str, key: str, sect: str, value: Any) -> None:
        """Whether ``value`` is valid on its own (the whole config is checked when built)."""
        try:
            if part == "dram":
                Dram(**{field: value})
            else:
                replace(getattr(SCALESIM_DEFAULT, part), **{field: value})
        except InputError as exc:
            self.note(exc.reason, key, sect)

    def raise_first(self) -> None:
        if self.found:
            raise min(self.found, key=lambda found: found[0])[1]


def _section_end(text: str, section: str) -> int:
    """Last line of ``section``: the line before the next section header, or the last line."""
    lines = text.split("\n")
    inside = False
    for number, line in enumerate(lines, start=1):
        header = re.match(r"^\s*\[([^\]]+)\]", line)
        if header and inside:
            return number - 1
        if header:
            inside = header.group(1).strip().lower() == section.lower()
    return len(lines)


def _cfg_key(lower: str) -> str:
    return next(k for k in _CFG_REQUIRED if k.lower() == lower)


def _from_toml(text: str, source: str) -> Accelerator:
    data = _parse_toml(text, source)
    _check_schema(data, _toml_schema(), text, source, section=None)
    try:
        base = get_preset(data["preset"]) if "preset" in data else SCALESIM_DEFAULT
    except InputError as exc:
        raise exc.located(source=source, line=_line_of(text, "preset")) from None
    try:
        base = replace(base, **{k: data[k] for k in ("name", "clock_ghz", "operand_bits") if k in data})
    except InputError as exc:
        raise exc.located(source=source, line=_line_of(text, exc.field or "")) from None
    for section, build in TABLE_BUILDERS.items():  # [energy], [vector]: preset + overrides
        if section in data:
            try:
                base = replace(base, **{section: build(data[section])})
            except InputError as exc:
                key = exc.field or "preset"
                raise InputError(exc.reason, source=source, line=_line_of(text, key, section),
                                 field=f"{section}.{key}") from None
    return _build(source, text, name=base.name, base=base, array=data.get("array", {}),
                  sram=data.get("sram", {}), dram=data.get("dram"),
                  key_of=lambda part, field: (field, part))


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    """The TOML document ``text``; a syntax error is an InputError at its line."""
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # also: too many digits, or too deep a nesting
        match = re.search(r"line (\d+)", str(exc))
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)|;.*", "", str(exc))
        last = text.rstrip().count("\n") + 1  # "at end of document": the last line
        raise InputError(f"not valid TOML: {reason}", source=source,
                         line=int(match.group(1)) if match else last) from None


def _toml_schema() -> dict[str, Any]:
    """The TOML schema, with every array kind's own fields allowed in ``[array]`` (each
    kind's dataclass checks its values, and names a field the chosen kind lacks)."""
    from ._precision import ARRAY_KINDS

    extra = {f.name: object for cls in ARRAY_KINDS.values() for f in fields(cls)
             if f.name not in _TOML_SCHEMA["array"]}
    return {**_TOML_SCHEMA, "array": {**_TOML_SCHEMA["array"], **extra}}


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
