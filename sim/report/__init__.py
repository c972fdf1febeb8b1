"""The one report type (per-layer rows, totals, config), its columns, and its plots."""
from ._plot import plot_report
from ._report import COLUMNS, Report, register_columns, run_totals, write_atomic

__all__ = ["COLUMNS", "Report", "plot_report", "register_columns", "run_totals", "write_atomic"]
