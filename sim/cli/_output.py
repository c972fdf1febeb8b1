"""What ``simulate`` and ``replay`` print and write: the report table, its header, its files."""
from __future__ import annotations

import argparse
from pathlib import Path

from hwloop.sim.report import OutputFiles


def write_outputs(report, args: argparse.Namespace, files: OutputFiles) -> None:
    """Write the files ``--json``/``--csv``/``--plot`` asked for, all together with any that
    ``files`` already holds (the ``--trace``), then print the report."""
    if args.json:
        files.add(args.json, report.to_json, "--json")
    if args.csv:
        files.add(args.csv, report.to_csv, "--csv")
    if args.plot:
        from hwloop.sim import plot_report

        add_figure(files, plot_report(report), args.plot, "--plot")
    files.commit()
    print(_format(report, quiet=args.quiet))


def add_figure(files: OutputFiles, figure, path: str, option: str) -> None:
    """Render ``figure`` into ``files`` in the format its suffix names (the temporary file
    has none of its own)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    files.add(path, lambda tmp: figure.savefig(tmp, format=suffix, dpi=120), option)


def _format(report, quiet: bool) -> str:
    accel = report.config["accelerator"]
    array = accel["array"]
    from hwloop.sim.arrays import model_of_kind

    model = model_of_kind(array.get("kind", "systolic"))
    kind = model.describe(array, accel["clock_ghz"])
    widths = sorted({(w, a) for w, a in zip(report.layers.get("weight_bits", []),
                                            report.layers.get("act_bits", []))})
    bits = "" if widths in ([], [(8, 8)]) else " at " + ", ".join(f"{w}x{a}" for w, a in widths) + " bits"
    head = (f"{report.config['workload']['network']} on {accel['name']}: {array['rows']}x"
            f"{array['cols']}{kind} {array['dataflow'].upper()}{bits}, SRAM {accel['sram']['ifmap_kb']}/"
            f"{accel['sram']['filter_kb']}/{accel['sram']['ofmap_kb']} KiB"
            + (" (SCALE-Sim compatible numbers)" if report.config.get("scalesim_compat") else "")
            + _memory_summary(accel["dram"]))
    t = report.totals
    tail = (f"total: {t['total_cycles']:,} cycles ({t['time_s'] * 1e3:.3f} ms at "
            f"{accel['clock_ghz']:g} GHz), {t['macs']:,} MACs, overall util "
            f"{t['overall_util']:.2f}%, DRAM reads {t['dram_ifmap_reads'] + t['dram_filter_reads']:,}"
            f" words, DRAM writes {t['dram_ofmap_writes']:,} words"
            + (f", {t['stall_cycles']:,} stall cycles" if t["stall_cycles"] else "")
            + (f", energy {t['energy_pj'] / 1e6:,.1f} uJ ({accel['energy']['name']}), "
               f"EDP {t['edp']:.4g} pJ x cycles, area {t['area_mm2']:.3f} mm^2"
               if t.get("energy_pj") is not None else ""))
    tail += model.summary_lines(t)
    if quiet:
        return f"{head}\n{tail}"
    columns, counted = model.table_columns()
    table = report.layers[columns].to_string(
        index=False, float_format=lambda v: f"{v:.2f}",
        formatters={c: "{:,}".format for c in counted})
    return f"{head}\n{table}\n{tail}"


def _memory_summary(dram: dict) -> str:
    if dram.get("model"):
        return f", DRAM {dram['model']}"
    ports = [dram.get(f"{op}_bandwidth") or dram.get("bandwidth") for op in ("ifmap", "filter", "ofmap")]
    if not any(ports):
        return ""
    shown = "/".join("unlimited" if bw is None else str(bw) for bw in ports)
    return f", DRAM {shown} words/cycle, latency {dram.get('latency_cycles', 0)}"
