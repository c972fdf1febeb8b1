"""Regenerate aihwkit's accuracy-over-time numbers on hwloop's default digits network.

Two steps, one script:

1. In hwloop's environment it trains the default network (``hwloop.sim.noise``)
   and writes its weights and the test split to ``network.npz`` here.
2. It then runs itself under ``--aihwkit-python`` (a Python with aihwkit 1.2.0; see
   ``shared/peers/aihwkit/README.md`` for the build), which loads exactly those weights into
   ``torch.nn`` layers, converts them with ``aihwkit.nn.conversion.convert_to_analog`` and, for
   every inference time and noise seed, programs, drifts and scores them as
   ``shared/peers/aihwkit/digits_drift.py`` does. It writes ``digits_pcm.json`` here.

Usage (from the repository root, in hwloop's venv)::

    python tests/data/aihwkit/regenerate.py --aihwkit-python /tmp/aihwkit-venv/bin/python

Configurations: ``perfect_io`` (``forward.is_perfect``: PCM weight noise and global drift
compensation only; bit-for-bit reproducible), ``default`` (``InferenceRPUConfig()`` as shipped)
and ``default_no_drift_comp``. The two ``default`` ones draw output noise from aihwkit's C++
random generator, which Python cannot seed, so they vary a little from run to run.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NETWORK = HERE / "network.npz"
GOLDEN = HERE / "digits_pcm.json"
TIMES_S = {"1s": 1.0, "1h": 3600.0, "1d": 86400.0, "1y": 365.0 * 86400.0}
SEEDS = list(range(5))
#: Extra seeds for the perfect-IO configuration (tight means for the benchmark; per-seed
#: numbers are not stored for these).
MANY_SEEDS = list(range(300))


def export_network() -> None:
    """Step 1 (hwloop's venv): train hwloop's default network, save weights and test split."""
    import numpy as np

    from hwloop.sim.noise import RECIPE, default_network

    data, model = default_network("digits")
    state = {f"param_{k.replace('.', '_')}": v.detach().numpy() for k, v in model.state_dict().items()}
    np.savez_compressed(NETWORK, x_test=data.x_test.numpy(), y_test=data.y_test.numpy(),
                        recipe=json.dumps(RECIPE), **state)


def _run_aihwkit(out: Path) -> None:
    """Step 2 (aihwkit's venv): the accuracy-over-time experiment on the exported network."""
    import numpy as np
    import torch
    from torch import nn

    import aihwkit
    from aihwkit.inference import GlobalDriftCompensation, PCMLikeNoiseModel
    from aihwkit.nn.conversion import convert_to_analog
    from aihwkit.simulator.configs import InferenceRPUConfig

    torch.set_num_threads(1)
    blob = np.load(NETWORK)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    model.load_state_dict({k: torch.from_numpy(blob[f"param_{k.replace('.', '_')}"])
                           for k in model.state_dict()})
    model.eval()
    x, y = torch.from_numpy(blob["x_test"]), torch.from_numpy(blob["y_test"])
    with torch.no_grad():
        ref = model(x)
    result = {"aihwkit_version": aihwkit.__version__, "torch_version": torch.__version__,
              "network": "hwloop.sim._analog_accuracy default (tests/data/aihwkit/network.npz)",
              "recipe": json.loads(str(blob["recipe"])), "n_test": int(len(y)),
              "digital_accuracy": float((ref.argmax(1) == y).float().mean()), "configs": {}}

    def config(name: str) -> InferenceRPUConfig:
        cfg = InferenceRPUConfig()
        cfg.noise_model = PCMLikeNoiseModel(g_max=25.0)
        cfg.drift_compensation = None if name == "default_no_drift_comp" else GlobalDriftCompensation()
        cfg.forward.is_perfect = name.startswith("perfect_io")
        return cfg

    runs = [("perfect_io", SEEDS), ("default", SEEDS), ("default_no_drift_comp", SEEDS),
            ("perfect_io_300_seeds", MANY_SEEDS)]
    for name, seeds in runs:
        start = time.time()
        analog = convert_to_analog(model, config(name))
        analog.eval()
        rows = {}
        for key, t in TIMES_S.items():
            accs, errs = [], []
            for seed in seeds:
                torch.manual_seed(seed)  # the same programming noise at every t
                analog.program_analog_weights()
                analog.drift_analog_weights(t)
                with torch.no_grad():
                    z = analog(x)
                accs.append(float((z.argmax(1) == y).float().mean()))
                errs.append(float(torch.linalg.norm(z - ref) / torch.linalg.norm(ref)))
            rows[key] = {"t_inference_s": t, "accuracy_mean": float(np.mean(accs)),
                         "accuracy_std": float(np.std(accs)),
                         "output_error_mean": float(np.mean(errs)),
                         "output_error_std": float(np.std(errs))}
            if len(seeds) <= len(SEEDS):
                rows[key].update(accuracy_per_seed=accs, output_error_per_seed=errs)
        result["configs"][name] = {"seeds": len(seeds), "times": rows}
        print(f"[{name}] " + "  ".join(f"{k}: {100 * v['accuracy_mean']:.2f}+-"
                                       f"{100 * v['accuracy_std']:.2f} err {v['output_error_mean']:.4f}"
                                       for k, v in rows.items())
              + f"  ({time.time() - start:.1f} s)")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aihwkit-python", metavar="PYTHON",
                        help="a Python with aihwkit 1.2.0 (step 2 runs under it)")
    parser.add_argument("--step", choices=("export", "aihwkit"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "aihwkit":
        _run_aihwkit(GOLDEN)
        return 0
    export_network()
    if args.step == "export":
        return 0
    if not args.aihwkit_python:
        parser.error("--aihwkit-python is required (or --step export)")
    return subprocess.call([args.aihwkit_python, __file__, "--step", "aihwkit"])


if __name__ == "__main__":
    sys.exit(main())
