"""Hypothesis strategies for ``tests/test_fuzz_cli.py``: whole input files and command lines.

Each strategy mixes the real vocabulary (topology columns, TOML tables and keys, SCALE-Sim
sections and keys, the simulate parser's options and the names they take) with junk. Valid
values are tiny so that the runs that succeed take milliseconds; the junk covers the rest:
random field counts, unicode, ``1_6`` and full-width digits, huge numbers, nan/inf, empty
files and binary data.
"""
from __future__ import annotations

import argparse
from dataclasses import fields

from hypothesis import strategies as st

from hwloop.arch import ARRAY_KINDS, DRAM_DEVICES, ENERGY_TABLES, PRESETS, Dram, EnergyTable, Sram

CONV_HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
               "Num Filter, Strides")
GEMM_HEADER = "Layer, M, N, K"
#: Numbers as text that ``int()``/``float()`` may read but hwloop must refuse or range-check.
WEIRD_NUMBERS = ["0", "-1", "-8", "+4", "1_6", "\uff11\uff16", "\u0663", "1.5", "2.0", "1e3",
                 "0x10", "nan", "NaN", "inf", "-inf", "", " ", "2:4", "9" * 30, "9" * 5000,
                 "2147483648", "4294967297", "9223372036854775808", "18446744073709551617",
                 "1" + "0" * 19, "\u00a08", "8\u200b", "٨"]
WORDS = ["os", "ws", "is", "auto", "USER", "CALC", "true", "false", "none", "null", "-", "--",
         "\x00", "\x1b[31m", "é", "层", "\U0001f600", "\u202e", "a" * 300]
SIMPLE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n,"),
                      max_size=10)


def _small(low: int = 1, high: int = 8) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(str)


def weird_number() -> st.SearchStrategy[str]:
    """Text that is no valid size: junk, or an integer that is not positive or is past the
    2**31-word operand limit (a valid size in between could take minutes to simulate)."""
    huge = st.one_of(st.integers(2**31, 2**70), st.integers(-(2**70), 0)).map(str)
    return st.one_of(st.sampled_from(WEIRD_NUMBERS), huge, st.floats().map(repr),
                     st.sampled_from(WORDS), SIMPLE_TEXT)


def _value(sane: st.SearchStrategy[str], clean: bool) -> st.SearchStrategy[str]:
    """``sane`` in a clean input; else ``sane`` two times in three, or a weird value."""
    return sane if clean else st.one_of(sane, sane, weird_number())


#: Whether an input is drawn clean (no junk: it should run) -- one input in three.
CLEAN = st.integers(0, 2).map(lambda n: n == 0)


# ---------------------------------------------------------------- topology CSVs


@st.composite
def _conv_row(draw) -> list[str]:
    ifmap_h, ifmap_w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    cells = [draw(st.sampled_from(["c1", "fc", "b_DP_dw", "层", "x y"])), str(ifmap_h),
             str(ifmap_w), str(draw(st.integers(1, ifmap_h))), str(draw(st.integers(1, ifmap_w))),
             draw(_small(1, 4)), draw(_small(1, 6)), draw(_small(1, 3))]
    return cells + draw(st.lists(st.sampled_from(["", "4", "8", "2:4", "x"]), max_size=2))


@st.composite
def _gemm_row(draw) -> list[str]:
    return [draw(SIMPLE_TEXT.filter(str.strip) | st.just("g")), draw(_small(1, 16)),
            draw(_small(1, 16)), draw(_small(1, 16))] + \
        draw(st.lists(st.sampled_from(["", "2", "4", "8", "33"]), max_size=2))


@st.composite
def _mutated(draw, row: st.SearchStrategy[list[str]]) -> list[str]:
    cells = draw(row)
    index = draw(st.integers(0, len(cells)))
    action = draw(st.sampled_from(["replace", "drop", "insert"]))
    if action == "replace" and index < len(cells):
        cells[index] = draw(weird_number())
    elif action == "drop" and index < len(cells):
        del cells[index]
    else:
        cells.insert(index, draw(weird_number()))
    return cells


_ROWS = st.one_of(_conv_row(), _gemm_row(), _mutated(_conv_row()), _mutated(_gemm_row()),
                  st.lists(weird_number(), max_size=10))
_HEADERS = st.sampled_from([CONV_HEADER, GEMM_HEADER, f"{GEMM_HEADER}, WeightBits, ActBits",
                            f"{CONV_HEADER}, ActBits, Sparsity, WeightBits", "layer,m,n,k",
                            "Layer, M, N", "a, b, c", "", None])


@st.composite
def _topology_text(draw) -> bytes:
    if draw(CLEAN):
        header = draw(st.sampled_from([CONV_HEADER, GEMM_HEADER, None]))
        row = _gemm_row() if header == GEMM_HEADER else _conv_row()
        rows = draw(st.lists(row.map(lambda cells: cells[:4 if header == GEMM_HEADER else 8]),
                             min_size=1, max_size=4))
    else:
        header = draw(_HEADERS)
        rows = draw(st.lists(_ROWS, max_size=4))
    lines = ([] if header is None else [header]) + [", ".join(r) for r in rows]
    lines = [line + draw(st.sampled_from([",", "", ", ", " ,  "])) for line in lines]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", "  ", "\x0c"])))
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + text.encode()


def topology_files() -> st.SearchStrategy[bytes]:
    return st.one_of(_topology_text(), _topology_text(), _topology_text(), _corrupted(_topology_text()),
                     st.binary(max_size=80), st.just(b""))


@st.composite
def _corrupted(draw, files: st.SearchStrategy[bytes]) -> bytes:
    data = draw(files)
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.sampled_from([b"\x00", b"\xff", b"\xe9", b"\xc3"])) + data[at:]


# ---------------------------------------------------------------- hwloop TOML

_TOML_KEYS = {
    None: ["name", "preset", "clock_ghz", "operand_bits"],
    "array": sorted({"kind"} | {f.name for cls in ARRAY_KINDS.values() for f in fields(cls)}),
    "sram": [f.name for f in fields(Sram)],
    "dram": [f.name for f in fields(Dram)],
    "energy": ["preset"] + [f.name for f in fields(EnergyTable)],
}
_WEIRD_TOML = ["0", "-1", "1_6", "9" * 30, "9223372036854775808", "nan", "inf", "-inf", "1e308",
               "5e-324", "-0.0", "true", '"8"', '"\uff11\uff16"', '""', "[1, 2]", "{}",
               "{ rows = 4 }", '"\\u0000"', "abc", "1979-05-27", "0x10", "1.", "'os'"]


def _toml_value(key: str, table: str | None, clean: bool) -> st.SearchStrategy[str]:
    quoted = st.sampled_from
    sane = {
        "rows": _small(1, 16), "cols": _small(1, 16), "dataflow": quoted(['"os"', '"ws"', '"is"']),
        "kind": quoted([f'"{k}"' for k in ARRAY_KINDS]),
        "model": quoted([f'"{k}"' for k in DRAM_DEVICES]),
        "preset": quoted([f'"{k}"' for k in (ENERGY_TABLES if table == "energy" else PRESETS)]),
        "clock_ghz": quoted(["0.5", "1", "1.5", "2.0"]), "word_bytes": _small(1, 4),
        "active_fraction": quoted(["0.5", "0.75", "0.9"]),
        "accumulate_psums": quoted(["true", "false"]),
        "serial_operand": quoted(['"weight"', '"act"']), "latency_cycles": _small(0, 20),
        "name": quoted(['"edge"', '"x"', '"层"']),
    }.get(key)
    if sane is None:
        sane = _small(1, 64) if key.endswith(("_kb", "bandwidth")) else \
            _small(1, 16) if "bits" in key else \
            quoted(["0.1", "1", "2.5"]) if table == "energy" else _small(1, 8)
    if clean:
        return sane
    return st.one_of(sane, sane, st.sampled_from(_WEIRD_TOML),
                     st.text(max_size=8).map(lambda s: '"' + s.replace("\\", "\\\\")
                                             .replace('"', '\\"') + '"'))


#: Keys a clean TOML sets (a kind's own fields and energy numbers need matching values).
_CLEAN_TOML = {None: ["clock_ghz", "name", "preset"], "array": ["rows", "cols", "dataflow"],
               "sram": ["ifmap_kb", "filter_kb", "ofmap_kb", "word_bytes", "active_fraction",
                        "accumulate_psums"], "dram": [f.name for f in fields(Dram)],
               "energy": ["preset"]}


@st.composite
def _toml_table(draw, table: str | None, clean: bool) -> list[str]:
    known = _TOML_KEYS.get(table, _TOML_KEYS["array"])
    keys = draw(st.lists(st.sampled_from(_CLEAN_TOML[table]), max_size=4, unique=True)
                if clean else
                st.lists(st.one_of(st.sampled_from(known), st.sampled_from(known),
                                   st.sampled_from(["height", "ifmap_banks", "Rows", "rows "]),
                                   st.from_regex(r"[a-z_]{1,8}", fullmatch=True)), max_size=5))
    lines = [] if table is None else [draw(st.sampled_from([f"[{table}]", f"[[{table}]]",
                                                            f"[ {table} ]", f"[{table}"]))
                                      if not clean and draw(st.integers(0, 9)) == 0
                                      else f"[{table}]"]
    for key in keys:
        shown = key if clean else draw(st.sampled_from(
            [key, key, key, f'"{key}"', f"{table or 'array'}.{key}"]))
        lines.append(f"{shown} = {draw(_toml_value(key, table, clean))}")
    return lines


@st.composite
def _toml_text(draw) -> bytes:
    clean = draw(CLEAN)
    real = ["array", "sram", "dram", "energy"]
    tables = draw(st.lists(st.sampled_from(real), max_size=4, unique=True) if clean else
                  st.lists(st.sampled_from(real + ["layout", "x y"]), max_size=4))
    lines = draw(_toml_table(None, clean))
    for table in tables:
        lines += draw(_toml_table(table, clean))
    if not clean and draw(st.integers(0, 5)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(SIMPLE_TEXT))
    return "\n".join(lines).encode()


def toml_files() -> st.SearchStrategy[bytes]:
    return st.one_of(_toml_text(), _toml_text(), _toml_text(), _corrupted(_toml_text()),
                     st.binary(max_size=40), st.just(b""))


# ---------------------------------------------------------------- SCALE-Sim .cfg

_CFG_SECTIONS = {
    "general": {"run_name": st.sampled_from(["run", "", "层", "a b"])},
    "architecture_presets": {
        "ArrayHeight": _small(1, 16), "ArrayWidth": _small(1, 16),
        "IfmapSramSzkB": _small(1, 64), "FilterSramSzkB": _small(1, 64),
        "OfmapSramSzkB": _small(1, 64), "IfmapOffset": st.just("0"),
        "FilterOffset": st.just("10000000"), "OfmapOffset": st.just("20000000"),
        "Dataflow": st.sampled_from(["os", "ws", "is", "OS"]),
        "Bandwidth": st.one_of(_small(1, 16), st.just("10,10,10")), "MemoryBanks": st.just("1"),
        "IfmapBandwidth": _small(1, 16), "FilterBandwidth": _small(1, 16),
        "OfmapBandwidth": _small(1, 16), "DramLatency": _small(0, 20)},
    "run_presets": {"InterfaceBandwidth": st.sampled_from(["CALC", "USER", "user", "BOTH"]),
                    "UseRamulatorTrace": st.just("False")},
    "layout": {"IfmapSRAMBankBandwidth": _small(1, 16), "FilterSRAMBankBandwidth": _small(1, 16),
               "IfmapSRAMBankNum": _small(1, 4)},
    "sparsity": {"SparsitySupport": st.sampled_from(["false", "true"]),
                 "BlockSize": _small(1, 8)},
}
_REQUIRED = ("ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB",
             "Dataflow")


@st.composite
def _cfg_section(draw, name: str, clean: bool) -> list[str]:
    known = _CFG_SECTIONS.get(name, {})
    keys = [k for k in known if k in _REQUIRED and (clean or draw(st.integers(0, 9)))
            or k not in _REQUIRED and draw(st.integers(0, 9)) > 5]
    if not clean:
        keys += draw(st.lists(st.one_of(st.sampled_from(sorted(known) or ["Key"]),
                                        st.from_regex(r"[A-Za-z]{1,10}", fullmatch=True)),
                              max_size=2))
    header = f"[{name}]" if clean or draw(st.integers(0, 9)) else draw(
        st.sampled_from([f"[{name.upper()}]", f"[ {name} ]", name, f"[{name}"]))
    lines = [header]
    for key in draw(st.permutations(keys)):
        value = draw(_value(known.get(key, _small(1, 8)), clean))
        sep = draw(st.sampled_from([": ", ":", " = ", "="] + ([] if clean else ["  "])))
        indent = "" if clean else draw(st.sampled_from(["", "", "", "  "]))  # "  ": continues
        lines.append(f"{indent}{key}{sep}{value}")
    if not clean and draw(st.integers(0, 5)) == 0:
        lines.insert(draw(st.integers(1, len(lines))),
                     draw(st.sampled_from(["# comment", "; comment", "", "junk line", "\t8"])))
    return lines


@st.composite
def _cfg_text(draw) -> bytes:
    clean = draw(CLEAN)
    names = draw(st.lists(st.sampled_from(sorted(_CFG_SECTIONS)), max_size=4, unique=True)
                 if clean else
                 st.lists(st.sampled_from(sorted(_CFG_SECTIONS) + ["DEFAULT", "junk"]),
                          max_size=5))
    if (clean or draw(st.integers(0, 9)) > 0) and "architecture_presets" not in names:
        names.insert(draw(st.integers(0, len(names))), "architecture_presets")
    lines = [line for name in names for line in draw(_cfg_section(name, clean))]
    return "\n".join(lines).encode()


def cfg_files() -> st.SearchStrategy[bytes]:
    return st.one_of(_cfg_text(), _cfg_text(), _cfg_text(), _corrupted(_cfg_text()),
                     st.binary(max_size=40), st.just(b""))


# ---------------------------------------------------------------- command lines

#: Files every command line may name (written into the run's directory, beside tiny.csv).
OPTION_FILES = {"junk.bin": b"\x89HDF\r\n\x1a\n\x00\x00\xff", "empty.csv": b"",
                "hw.toml": b"[array]\nrows = 8\ncols = 4\n",
                "hw.cfg": b"[architecture_presets]\nArrayHeight: 4\nArrayWidth: 4\n"
                          b"IfmapSramSzkB: 8\nFilterSramSzkB: 8\nOfmapSramSzkB: 8\nDataflow: ws\n"}
_INPUT_PATHS = ["tiny.csv", "junk.bin", "empty.csv", "hw.toml", "hw.cfg", "missing.csv", ".",
                "", "tiny.csv/x", "\x00", "a" * 300 + ".csv"]
_OUTPUT_PATHS = ["out.json", "out.csv", "o.png", "t.h5", "missing/x.json", ".", "",
                 "a" * 300 + ".json", "ü.csv", "tiny.csv"]
_NAMED = {"network": ["tiny", "resnet", "", "alexnet "], "preset": sorted(PRESETS),
          "dram": sorted(DRAM_DEVICES), "energy": sorted(ENERGY_TABLES),
          "precision_switch": ["8:0.5,4:0.5", "8:1", "4x2:1", "8:nan", "8:inf", "8:-1", "33:1",
                               "8:0.5", ":", "8:1e309"],
          "model_input_shape": ["1,3,8,8", "x=1,2", "0,0", "1x3x8x8"]}


def _option_value(action: argparse.Action, clean: bool) -> st.SearchStrategy[str]:
    dest = action.dest
    if dest in ("topology", "config", "model", "json", "csv", "plot", "trace"):
        good = {"topology": ["tiny.csv"], "config": ["hw.toml", "hw.cfg"], "model": ["m.onnx"],
                "json": ["out.json"], "csv": ["out.csv"], "plot": ["o.png"], "trace": ["t.h5"]}
        paths = _INPUT_PATHS if dest in ("topology", "config", "model") else _OUTPUT_PATHS
        sane = st.sampled_from(good[dest] if clean else paths)
    elif action.choices:
        sane = st.sampled_from([str(c) for c in action.choices])
    elif dest in _NAMED:
        sane = st.sampled_from(_NAMED[dest])
    elif action.type is not None:
        sane = _small(1, 16)
    else:
        sane = SIMPLE_TEXT
    return _value(sane, clean)


@st.composite
def option_lines(draw, parser: argparse.ArgumentParser) -> tuple[list[str], dict[str, bytes]]:
    """(argv, files it may name): a subcommand, real options with values, and junk."""
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    clean = draw(CLEAN)
    command = "simulate" if clean else draw(st.sampled_from(
        ["simulate"] * 8 + ["replay"] * 2 + ["bogus", ""]))
    argv = [command]
    if command == "replay":
        argv.append(draw(st.sampled_from(["junk.bin", "empty.csv", "missing.h5", "t.h5"])))
    sub = subparsers.choices.get(command, subparsers.choices["simulate"])
    skip = {"help", "list_networks", "list_presets"} | \
        ({"network", "model", "model_input_shape"} if clean else set())
    actions = [a for a in sub._actions if a.option_strings and a.dest not in skip]
    argv += ["--json", "out.json", "--csv", "out.csv"]
    for _ in range(draw(st.integers(0, 5))):
        if not clean and draw(st.integers(0, 7)) == 0:  # junk
            argv.append(draw(st.one_of(st.sampled_from(["--", "-", "--rowz", "-x", "--json="]),
                                       weird_number())))
            continue
        action = draw(st.sampled_from(actions))
        name = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            argv.append(name)
        elif draw(st.integers(0, 5)) == 0:
            argv.append(f"{name}={draw(_option_value(action, clean))}")
        else:
            argv += [name, draw(_option_value(action, clean))]
    if command == "simulate" and not {"--network", "--topology", "--model"} & set(argv):
        argv += ["--topology", "tiny.csv"]
    return argv, dict(OPTION_FILES)
