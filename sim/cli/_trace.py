"""``hwloop trace``: summarise, plot, export and import access traces (``hwloop.traces``)."""
from __future__ import annotations

import argparse
import sys


def register_trace(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("trace", help="summarise, plot, export or import access traces",
                              description="Work with traces written by `hwloop simulate --trace`.")
    actions = p.add_subparsers(dest="trace_command", metavar="ACTION", required=True,
                               parser_class=type(p))
    summary = actions.add_parser("summary", help="accesses, footprint and bandwidth per stream")
    summary.add_argument("trace", metavar="TRACE.h5")
    summary.add_argument("--csv", metavar="PATH", help="also write the table as CSV")
    plot = actions.add_parser("plot", help="bandwidth over time")
    plot.add_argument("trace", metavar="TRACE.h5")
    plot.add_argument("out", metavar="OUT.png")
    plot.add_argument("--layer", type=int, metavar="INDEX", help="one layer (default: the run)")
    plot.add_argument("--bins", type=int, default=200, help="time bins (default 200)")
    export = actions.add_parser("export", help="write SCALE-Sim trace CSVs (layer<N>/*.csv)")
    export.add_argument("trace", metavar="TRACE.h5")
    export.add_argument("out_dir", metavar="DIR")
    imp = actions.add_parser("import", help="read SCALE-Sim trace CSVs into an hwloop trace")
    imp.add_argument("in_dir", metavar="DIR")
    imp.add_argument("trace", metavar="TRACE.h5")
    p.set_defaults(run=run_trace)


def run_trace(args: argparse.Namespace) -> int:
    from hwloop import traces
    from hwloop.sim.report import OutputFiles, write_atomic

    from ._common import check_output, check_output_folder
    from ._output import add_figure

    progress = sys.stderr.isatty()  # bars only where someone watches
    if args.trace_command == "summary":
        if args.csv:
            check_output("--csv", args.csv)
        frame = traces.summarize_trace(args.trace, progress=progress)
        if args.csv:
            write_atomic(args.csv, frame.to_csv(index=False), "--csv")
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    elif args.trace_command == "plot":
        check_output("OUT.png", args.out, plot=True)
        figure = traces.plot_bandwidth(args.trace, layer_index=args.layer, bins=args.bins)
        with OutputFiles() as files:
            add_figure(files, figure, args.out, "OUT.png")
            files.commit()
    elif args.trace_command == "export":
        check_output_folder("DIR", args.out_dir)

        def announce(files: int, size: int) -> None:
            print(f"hwloop: writing about {_size(size)} in {files} files under {args.out_dir}",
                  file=sys.stderr, flush=True)

        written = traces.export_scalesim_csv(args.trace, args.out_dir, progress=progress,
                                             announce=announce)
        print(f"wrote {len(written)} files under {args.out_dir}")
    else:
        check_output("TRACE.h5", args.trace)
        traces.import_scalesim_csv(args.in_dir, args.trace, progress=progress)
        print(f"wrote {args.trace}")
    return 0


def _size(size: int) -> str:
    """``1.9 GB``: bytes in decimal units, as ``ls -h --si`` and file managers show them."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 999.5 or unit == "TB":
            break
        value /= 1000
    if unit == "bytes":
        return f"{size} bytes"
    return f"{value:.3g} {unit}" if value < 999.5 else f"{value:,.0f} {unit}"
