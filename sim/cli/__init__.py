"""The ``hwloop`` command line: it parses, calls one public function, and writes the Report.

Subcommands of higher layers (``hwloop search``) register through the ``hwloop.commands``
entry-point group (see :mod:`._main`).
"""
from ._main import ENTRY_POINT_GROUP, build_parser, main

__all__ = ["ENTRY_POINT_GROUP", "build_parser", "main"]
