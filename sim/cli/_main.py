"""The ``hwloop`` command line. It parses, calls one public function, and writes the Report.

Subcommands of higher layers (``hwloop search``) register through the ``hwloop.commands``
entry-point group: each entry point is a function ``register(subparsers)`` that adds a
parser and sets ``run=callable(args) -> int`` as its default.
"""
from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
from importlib import metadata
from typing import Callable, Sequence

from hwloop.traces import InputError

from ._simulate import register_replay, register_simulate, run_replay, run_simulate

ENTRY_POINT_GROUP = "hwloop.commands"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hwloop", description="Cycle-level DNN-accelerator simulator.")
    parser.add_argument("--version", action="version", version=f"hwloop {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    register_simulate(subparsers)
    register_replay(subparsers)
    from ._map import register_map
    from ._trace import register_trace

    register_map(subparsers)

    register_trace(subparsers)
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        entry.load()(subparsers)
    return parser


def _version() -> str:
    try:
        return metadata.version("hwloop")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    run: Callable[[argparse.Namespace], int] = args.run
    # `simulate` holds its warnings until it succeeds, so a failing run prints one error line.
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setFormatter(logging.Formatter("hwloop: warning: %(message)s"))
    held = logging.handlers.MemoryHandler(10_000, flushLevel=logging.CRITICAL + 1,
                                          target=to_stderr, flushOnClose=False)
    handler = held if run in (run_simulate, run_replay) else to_stderr
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        return run(args)
    except InputError as exc:
        held.buffer.clear()
        print(f"hwloop: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        held.buffer.clear()
        print("hwloop: error: out of memory; simulate fewer or smaller layers", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hwloop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        root.removeHandler(handler)
        held.flush()
        held.close()

