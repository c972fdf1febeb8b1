"""Simulation engines, the report type and the CLI. Imports traces and arch; never search."""
from ._report import COLUMNS, Report
from ._systolic import FoldPlan, fold_plan
from .api import hwloop_version, simulate, simulate_layer

__all__ = ["COLUMNS", "FoldPlan", "Report", "fold_plan", "hwloop_version", "simulate",
           "simulate_layer"]
