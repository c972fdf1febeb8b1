"""``hwloop search``: parse, call :func:`run_search`, print where the results went.

Registered through the ``hwloop.commands`` entry point, so ``sim`` never imports ``search``.
"""
from __future__ import annotations

import argparse
import os
import sys

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
                          help="built-in network (not with a space of net_* parameters, "
                               "which builds each point's CNN)")
    workload.add_argument("--topology", metavar="FILE.csv", help="SCALE-Sim topology CSV")
    p.add_argument("--objectives", default="latency", metavar="LIST",
                   help="comma-separated: latency, energy, edp, area (minimised) and "
                        "accuracy (maximised; needs net_* parameters, torch and scikit-learn)")
    p.add_argument("--sampler", default="tpe", choices=("random", "tpe", "nsga2", "gp", "grid"))
    p.add_argument("--trials", type=_positive_int, required=True, metavar="N",
                   help="finished trials the study should hold (a resumed study runs the rest)")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--workers", type=_positive_int, default=1, metavar="K",
                   help="worker processes sharing the study storage (default 1)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run the --workers shares on this Dask scheduler (e.g. tcp://host:8786)")
    p.add_argument("--storage", metavar="URL", help="Optuna storage (default sqlite:///OUT/study.db)")
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

    from ._space import load_space
    from ._study import run_search

    if find_spec("optuna") is None:
        raise InputError("hwloop search runs on Optuna, which is not installed: "
                         "pip install 'hwloop[search]'", field="search")
    space = load_space(args.space)
    network = None
    if space.defines_network:
        if args.network or args.topology:
            raise InputError("the space builds its networks (net_* parameters); drop it",
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
    parent = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(parent):
        raise InputError(f"directory {parent!r} does not exist", field="--out")
    objectives = [o.strip() for o in args.objectives.split(",") if o.strip()]
    result = run_search(space, network, objectives, args.sampler, args.trials, seed=args.seed,
                        workers=args.workers, storage=args.storage, study_name=args.study,
                        out_dir=args.out, progress=sys.stderr.isatty(), dask=args.dask)
    feasible = sum(r["feasible"] for r in result.trials)
    print(f"{len(result.trials)} trials ({feasible} feasible, {result.simulations} simulated "
          f"now), Pareto front of {len(result.pareto)}; wrote "
          + ", ".join(str(p) for p in result.files))
    best = result.best
    if best is not None and len(result.objectives) == 1:
        point = ", ".join(f"{k}={best[k]}" for k in space.names)
        print(f"best {result.objectives[0]} {best[result.objectives[0]]:,.6g} at {point}")
    return 0
