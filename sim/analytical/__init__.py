"""The analytical model (closed-form estimates, vectorised over design points) and
``validate``: predictions (hwloop's own, ZigZag's, a CSV) compared with the simulator."""
from ._model import (
                     COLUMNS,
                     INPUTS,
                     OPTIONAL_INPUTS,
                     analytical_arrays,
                     analytical_energy,
                     analytical_model,
                     analytical_pairs,
                     pair_inputs,
)
from ._validate import (
                     LAYER_COLUMNS,
                     Prediction,
                     Validation,
                     ZigZagRun,
                     analytical_predictions,
                     compare,
                     kendall_tau,
                     pct_errors,
                     plot_validation,
                     read_predictions_csv,
                     read_zigzag_json,
                     simulated_values,
)

__all__ = ["COLUMNS", "INPUTS", "LAYER_COLUMNS", "OPTIONAL_INPUTS", "Prediction", "Validation",
           "ZigZagRun", "analytical_arrays", "analytical_energy", "analytical_model",
           "analytical_pairs", "analytical_predictions", "compare", "kendall_tau", "pair_inputs",
           "pct_errors", "plot_validation", "read_predictions_csv", "read_zigzag_json",
           "simulated_values"]
