"""What ``simulate`` and ``replay`` print and write: the report's header, its per-layer table
(:mod:`._table`), its totals, and its files."""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hwloop.sim.report import OutputFiles

from ._table import hidden_note, legend, render, terminal_width, wrap


def add_output_options(p: argparse.ArgumentParser, what: str, plot: str, quiet: str) -> None:
    """``--json``, ``--csv`` (the per-layer table), ``--plot`` and ``-q``."""
    p.add_argument("--json", metavar="PATH", help=f"write the {what} as JSON")
    p.add_argument("--csv", metavar="PATH", help="write the per-layer table as CSV")
    p.add_argument("--plot", metavar="PATH.png", help=plot)
    p.add_argument("-q", "--quiet", action="store_true", help=quiet)


def add_output_files(files: OutputFiles, args: argparse.Namespace, result,
                     plot: Callable[[Any], Any]) -> None:
    """Render what ``--json``/``--csv``/``--plot`` ask for into ``files`` (``result`` has
    ``to_json``/``to_csv``; ``plot(result)`` draws its figure)."""
    if args.json:
        files.add(args.json, result.to_json, "--json")
    if args.csv:
        files.add(args.csv, result.to_csv, "--csv")
    if args.plot:
        add_figure(files, plot(result), args.plot, "--plot")


def write_outputs(report, args: argparse.Namespace, files: OutputFiles) -> None:
    """Write the files ``--json``/``--csv``/``--plot`` asked for, all together with any that
    ``files`` already holds (the ``--trace``), then print the report to fit the terminal."""
    from hwloop.sim import plot_llm, plot_report

    llm = "prompt_len" in report.config.get("workload", {})  # a language model's run
    add_output_files(files, args, report, plot_llm if llm else plot_report)
    files.commit()
    print(format_report(report, quiet=args.quiet, columns=getattr(args, "columns", None),
                        width=terminal_width()))


def add_figure(files: OutputFiles, figure, path: str, option: str) -> None:
    """Render ``figure`` into ``files`` in the format its suffix names (the temporary file
    has none of its own)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    files.add(path, lambda tmp: figure.savefig(tmp, format=suffix, dpi=120), option)


def format_report(report, *, quiet: bool = False, columns: Sequence[str] | None = None,
                  width: int | None = None) -> str:
    """Header, per-layer table (unless ``quiet``; ``columns`` picks its columns) and totals,
    each in lines of at most ``width`` characters (None: one line each, every column)."""
    from hwloop.sim.arrays import model_of_kind

    accel = report.config["accelerator"]
    model = model_of_kind(accel["array"].get("kind", "systolic"))
    lines = wrap(_head(report, model), width)
    if not quiet:
        lines += _table(report, model, columns, width)
    lines += _join_wrapped("total: ", _totals(report.totals, accel), width)
    for extra in model.summary_lines(report.totals).splitlines():
        lines += wrap(extra, width) if extra else []
    return "\n".join(lines)


def _head(report, model) -> str:
    accel = report.config["accelerator"]
    array, sram = accel["array"], accel["sram"]
    kind = model.describe(array, accel["clock_ghz"])
    layers = report.layers  # array layers: a vector operator's row has no weights
    arrays = layers[layers["weight_bits"].notna()] if "weight_bits" in layers else layers
    widths = sorted({(int(w), int(a)) for w, a in zip(arrays.get("weight_bits", []),
                                                      arrays.get("act_bits", []))})
    bits = "" if widths in ([], [(8, 8)]) else " at " + ", ".join(f"{w}x{a}" for w, a in widths) + " bits"
    goal = report.config.get("choose_dataflow")
    dataflow = f"auto dataflow (best {goal} per layer)" if goal else array["dataflow"].upper()
    return (f"{report.config['workload']['network']} on {accel['name']}: {array['rows']}x"
            f"{array['cols']}{kind} {dataflow}{bits}, SRAM {sram['ifmap_kb']}/"
            f"{sram['filter_kb']}/{sram['ofmap_kb']} KiB"
            + (" (SCALE-Sim compatible numbers)" if report.config.get("scalesim_compat") else "")
            + _memory_summary(accel["dram"]))


def _table(report, model, picked: Sequence[str] | None, width: int | None) -> list[str]:
    """The table with the model's key columns that fit (and this run's: the chosen dataflow,
    the stalls), a line on those left out and the legend; or exactly the ``picked`` ones."""
    frame: pd.DataFrame = report.layers
    columns, counted = model.table_columns()
    columns = list(picked) if picked else _run_columns(list(columns), report)
    counted = [*counted, *(c for c in columns if pd.api.types.is_integer_dtype(frame[c]))]
    if picked:
        return render(frame, columns, counted, None).lines + legend(columns, width)
    table = render(frame, columns, counted, width)
    notes = [hidden_note(table.hidden, width)] if table.hidden else []
    return table.lines + notes + legend([c for c in columns if c not in table.hidden], width)


def _run_columns(columns: list[str], report) -> list[str]:
    """``columns`` with what this run adds: each layer's dataflow (and tiling) when the run
    chose them, its explicit mapping and partial sums read back, its stall cycles when DRAM
    bandwidth is finite."""
    def insert_after(anchor: str, name: str) -> None:
        if name not in columns:
            columns.insert(columns.index(anchor) + 1 if anchor in columns else 1, name)

    if report.config.get("choose_dataflow"):
        insert_after("name", "dataflow")
        if report.layers["tiling"].notna().any():
            insert_after("dataflow", "tiling")
    if report.config.get("mapping"):
        insert_after("name", "mapping")
        insert_after("dram_ofmap_writes", "dram_ofmap_reads")
    if _finite(report.config["accelerator"]["dram"]):
        insert_after("total_cycles", "stall_cycles")
    return columns


def _totals(t: dict, accel: dict) -> list[str]:
    """The totals line's parts."""
    parts = [f"{t['total_cycles']:,} cycles ({t['time_s'] * 1e3:.3f} ms at "
             f"{accel['clock_ghz']:g} GHz)", f"{t['macs']:,} MACs",
             *([f"{t['vector_ops']:,} vector-unit operations"] if t.get("vector_ops") else []),
             f"overall util {t['overall_util']:.2f}%",
             f"DRAM reads {t['dram_ifmap_reads'] + t['dram_filter_reads']:,} words",
             f"DRAM writes {t['dram_ofmap_writes']:,} words"]
    if t.get("dram_ofmap_reads"):
        parts.append(f"partial sums read back {t['dram_ofmap_reads']:,} words")
    if t["stall_cycles"]:
        parts.append(f"{t['stall_cycles']:,} stall cycles")
    if "ttft_s" in t:  # a language model's run
        parts += [f"TTFT {t['ttft_s'] * 1e3:,.3f} ms", f"TPOT {t['tpot_s'] * 1e3:,.3f} ms",
                  f"{t['tokens_per_s']:,.2f} tokens/s"]
    if t.get("energy_pj") is not None:
        parts += [f"energy {t['energy_pj'] / 1e6:,.1f} uJ ({accel['energy']['name']})",
                  f"EDP {t['edp']:.4g} pJ x cycles", f"area {t['area_mm2']:.3f} mm^2"]
    return parts


def _join_wrapped(prefix: str, parts: list[str], width: int | None) -> list[str]:
    """``prefix`` and ``parts`` joined by commas, in lines of at most ``width`` that break
    between parts only (continued lines indented)."""
    tokens = [f"{part}," for part in parts[:-1]] + parts[-1:]
    lines = [prefix + tokens[0]]
    for token in tokens[1:]:
        if width is None or len(lines[-1]) + 1 + len(token) <= width:
            lines[-1] += " " + token
        else:
            lines.append("  " + token)
    return lines


def _finite(dram: dict) -> bool:
    """Whether the run's DRAM can stall it: a device model or a bandwidth on any port."""
    return bool(dram.get("model") or dram.get("bandwidth")
                or any(dram.get(f"{op}_bandwidth") for op in ("ifmap", "filter", "ofmap")))


def _memory_summary(dram: dict) -> str:
    if dram.get("model"):
        return f", DRAM {dram['model']}"
    ports = [dram.get(f"{op}_bandwidth") or dram.get("bandwidth") for op in ("ifmap", "filter", "ofmap")]
    if not any(ports):
        return ""
    shown = "/".join("unlimited" if bw is None else str(bw) for bw in ports)
    return f", DRAM {shown} words/cycle, latency {dram.get('latency_cycles', 0)}"
