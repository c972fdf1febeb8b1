"""The one report type (per-layer rows, totals, config), its columns, its plots, and files
written all or none."""
from ._files import OutputFiles, output_target, write_atomic
from ._json import strict_json
from ._plot import plot_formats, plot_report
from ._plot_llm import plot_llm
from ._report import COLUMNS, Report, register_columns, run_totals

__all__ = ["COLUMNS", "OutputFiles", "Report", "output_target", "plot_formats", "plot_llm",
           "plot_report",
           "register_columns", "run_totals", "strict_json", "write_atomic"]
