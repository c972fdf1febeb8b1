"""``hwloop search``: parse, call :func:`run_search`, print where the results went and the
Pareto front.

Registered through the ``hwloop.commands`` entry point, so ``sim`` never imports ``search``.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from hwloop.traces import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``search`` subcommand (the ``hwloop.commands`` entry point)."""
    p = subparsers.add_parser(
        "search", help="search a design space with the simulator as the cost oracle",
        description="Search accelerator designs with an Optuna sampler. The study is stored "
                    "(SQLite by default), so running the same command again resumes it; "
                    "--trials is the study's total.")
    p.add_argument("--space", required=True, metavar="SPACE.toml",
                   help="[params.NAME] tables and a [constraints] table")
    workload = p.add_mutually_exclusive_group()
    workload.add_argument("--network", metavar="NAME",
                          help="built-in network (not with a space whose workload family, "
                               "or net_* parameters, builds each point's network)")
    workload.add_argument("--topology", metavar="FILE.csv", help="SCALE-Sim topology CSV")
    p.add_argument("--vector-ops", action="store_true",
                   help="with --network: price the network's operators without MACs on the "
                        "vector unit too (as hwloop simulate --vector-ops)")
    p.add_argument("--objectives", default="latency", metavar="LIST",
                   help="comma-separated: latency, energy, edp, area (minimised), the "
                        "family's (accuracy: maximised; needs net_* parameters, torch and "
                        "scikit-learn) and the space file's [objectives.NAME]")
    p.add_argument("--sampler", choices=("random", "tpe", "nsga2", "gp", "grid"),
                   help="default tpe; grid with --export")
    p.add_argument("--trials", type=_positive_int, metavar="N",
                   help="finished trials the study should hold (a resumed study runs the "
                        "rest); required unless --export, which runs the whole grid")
    p.add_argument("--export", metavar="TABLE",
                   help="also write a network x hardware table of every point of the grid "
                        "(latency, energy, edp, area and the plug-in objectives) as "
                        ".parquet or .csv")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--workers", type=_positive_int, default=1, metavar="K",
                   help="worker processes sharing the study storage (default 1)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run the --workers shares on this Dask scheduler (e.g. tcp://host:8786)")
    p.add_argument("--storage", metavar="URL",
                   help="Optuna storage (default sqlite:///OUT/study.db); journal:///PATH is "
                        "Optuna's journal file, several times faster per trial")
    p.add_argument("--study", metavar="NAME", help="study name (default hwloop-search)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(run=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from importlib.util import find_spec

    from hwloop import traces

    from ._space_file import load_space
    from ._study import run_search

    if find_spec("optuna") is None:
        raise InputError("hwloop search runs on Optuna, which is not installed: "
                         "pip install 'hwloop[search]'", field="search")
    space = load_space(args.space)
    network = None
    if space.defines_network:
        if args.network or args.topology:
            raise InputError("the space builds its networks (a workload family or net_* "
                             "parameters); drop it",
                             field="--network" if args.network else "--topology")
    elif not (args.network or args.topology):
        raise InputError("name a workload: --network or --topology (or give the space net_* "
                         "parameters)", field="--network")
    elif args.topology:
        network = traces.load_topology(args.topology)
    else:
        try:
            network = traces.builtin_network(args.network)
        except InputError as exc:
            raise InputError(exc.reason, field="--network") from None
    if args.vector_ops:
        if network is None or args.topology:
            raise InputError("applies to --network only", field="--vector-ops")
        try:
            network = traces.builtin_network(args.network, vector_ops=True)
        except InputError as exc:
            raise InputError(exc.reason, field="--vector-ops") from None
    _check_out_folder(args.out)
    sampler, trials = _sampler_and_trials(args, space)
    objectives = [o.strip() for o in args.objectives.split(",") if o.strip()]
    result = run_search(space, network, objectives, sampler, trials, seed=args.seed,
                        workers=args.workers, storage=args.storage, study_name=args.study,
                        out_dir=args.out, progress=sys.stderr.isatty(), dask=args.dask,
                        export=args.export)
    print(_summary(result))
    return 0


def _sampler_and_trials(args: argparse.Namespace, space: Any) -> tuple[str, int]:
    """``--export`` tables the whole grid; a search otherwise needs ``--trials``."""
    if args.export is None:
        if args.trials is None:
            raise InputError("give the number of trials (or --export to run the whole grid)",
                             field="--trials")
        return args.sampler or "tpe", args.trials
    from ._export import check_export

    check_export(args.export)
    if args.sampler not in (None, "grid"):
        raise InputError("--export tables every point of the grid; drop --sampler or use "
                         "grid", field="--sampler")
    return "grid", args.trials or space.size


def _summary(result: Any) -> str:
    """What a finished search says: counts, the files written, and its Pareto front."""
    from ._outputs import pareto_table

    feasible = sum(r["feasible"] for r in result.trials)
    return (f"{len(result.trials)} trials ({feasible} feasible, {result.simulations} simulated "
            f"now) in {result.seconds:.1f} s; wrote "
            + ", ".join(str(p) for p in result.files) + "\n" + pareto_table(result))


def _check_out_folder(path: str) -> None:
    """``--out`` names a folder that exists or can be created, parents included (nothing
    is created until the search starts)."""
    if not path:
        raise InputError("name a folder", field="--out")
    target = Path(os.path.abspath(path))
    if target.exists() and not target.is_dir():
        raise InputError(f"{path!r} exists and is not a directory", field="--out")
    existing = next(folder for folder in target.parents if folder.exists())
    if not existing.is_dir():
        raise InputError(f"{str(existing)!r} is a file, so {path!r} cannot be a folder",
                         field="--out")
    if not target.exists() and not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"cannot create {path!r}: {str(existing)!r} is not writable",
                         field="--out")
