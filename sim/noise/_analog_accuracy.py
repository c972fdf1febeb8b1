"""Accuracy over time of a network whose layers run on PCM crossbars.

The default network is trained in-process on scikit-learn's handwritten digits (1,797 8x8
images that ship with scikit-learn): pixels / 16, a 70/30 stratified split (``random_state=0``),
``Linear(64, 128) - ReLU - Linear(128, 10)`` trained digitally with Adam (lr 1e-3, batch 32,
30 epochs, seed 0) on one CPU thread with deterministic algorithms. That is the recipe of the
aihwkit reference in ``shared/peers/aihwkit``, so both simulators see the same weights.

For each noise seed the analog copy is programmed once and read at every time (the same
programming noise, drift exponents and read-noise draws at every time, as aihwkit does when it
is seeded the same way). torch and scikit-learn are imported only by this module, and
matplotlib only inside :func:`plot_accuracy_over_time`.
"""
from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence, TypedDict

import numpy as np
import torch
from torch import nn

from hwloop.traces import InputError

from ._analog_layers import convert_to_analog, drift_analog, program_analog
from ._analog_noise import AnalogNoise

DATASETS = ("digits",)
DEFAULT_TIMES_S = (1.0, 3600.0, 86400.0, 31536000.0)
DEFAULT_SEEDS = 5


class _Recipe(TypedDict):
    """A training recipe: layer width, schedule, optimiser and data split."""

    hidden: int
    epochs: int
    batch: int
    lr: float
    test_fraction: float
    split_seed: int
    seed: int


#: The training recipe of the default digits network.
RECIPE: _Recipe = {"hidden": 128, "epochs": 30, "batch": 32, "lr": 1e-3, "test_fraction": 0.3,
                   "split_seed": 0, "seed": 0}


@dataclass(frozen=True)
class DigitsData:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True)
class AccuracyOverTime:
    """Accuracy (fractions) and relative output error at each inference time, over seeds."""

    digital_accuracy: float
    times_s: tuple[float, ...]
    accuracy_mean: tuple[float, ...]
    accuracy_std: tuple[float, ...]
    accuracy_per_seed: tuple[tuple[float, ...], ...]  # [time][seed]
    output_error_mean: tuple[float, ...]  # ||z_analog - z_digital|| / ||z_digital||
    seeds: tuple[int, ...]
    noise: dict

    def to_dict(self) -> dict:
        return {"digital_accuracy": self.digital_accuracy, "times_s": list(self.times_s),
                "accuracy_mean": list(self.accuracy_mean), "accuracy_std": list(self.accuracy_std),
                "accuracy_per_seed": [list(a) for a in self.accuracy_per_seed],
                "output_error_mean": list(self.output_error_mean), "seeds": list(self.seeds),
                "noise": self.noise}

    def table(self) -> str:
        """What a reader wants first: accuracy at each time (mean, spread over seeds, worst
        and best seed) next to the digital baseline, in percent."""
        seeds = len(self.seeds)
        header = ("time after programming", "mean accuracy %", f"std % over {seeds} seeds",
                  "worst seed %", "best seed %")
        rows = [(_time_label(t), f"{100 * mean:.2f}", f"{100 * std:.2f}",
                 f"{100 * min(per_seed):.2f}", f"{100 * max(per_seed):.2f}")
                for t, mean, std, per_seed in zip(self.times_s, self.accuracy_mean,
                                                  self.accuracy_std, self.accuracy_per_seed)]
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
        lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths))
                 for row in (header, *rows)]
        return "\n".join([*lines, f"digital baseline (no analog noise): "
                                  f"{100 * self.digital_accuracy:.2f}%"])


@contextlib.contextmanager
def _one_deterministic_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)


def load_dataset(name: str = "digits") -> DigitsData:
    """The fixed train/test split of a data set (only ``digits`` for now)."""
    if name not in DATASETS:
        raise InputError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}",
                         field="dataset")
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise InputError("the digits data set needs scikit-learn: pip install scikit-learn",
                         field="dataset") from None
    digits = load_digits()
    x = digits.data.astype(np.float32) / 16.0
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=RECIPE["test_fraction"],
                                              random_state=RECIPE["split_seed"], stratify=y)
    return DigitsData(*(torch.from_numpy(a) for a in (x_tr, y_tr, x_te, y_te)))


def train_default_network(data: DigitsData) -> nn.Module:
    """The default MLP, trained digitally by :data:`RECIPE` (same data and seed: same weights)."""
    with _one_deterministic_thread():
        torch.manual_seed(RECIPE["seed"])
        n_in, n_classes = data.x_train.shape[1], int(data.y_train.max()) + 1
        model = nn.Sequential(nn.Linear(n_in, RECIPE["hidden"]), nn.ReLU(),
                              nn.Linear(RECIPE["hidden"], n_classes))
        generator = torch.Generator().manual_seed(RECIPE["seed"])
        optimiser = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
        loss_fn = nn.CrossEntropyLoss()
        x, y, batch = data.x_train, data.y_train, RECIPE["batch"]
        for _ in range(RECIPE["epochs"]):
            model.train()
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), batch):
                idx = order[start:start + batch]
                optimiser.zero_grad()
                loss_fn(model(x[idx]), y[idx]).backward()
                optimiser.step()
    return model.eval()


@functools.lru_cache(maxsize=4)
def default_network(dataset: str = "digits") -> tuple[DigitsData, nn.Module]:
    """The data set and its default network, trained once per process (do not modify it)."""
    data = load_dataset(dataset)
    return data, train_default_network(data)


@torch.no_grad()
def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return model(x)


def _check_times(times_s: Sequence[float]) -> tuple[float, ...]:
    if not times_s:
        raise InputError("give at least one inference time", field="times")
    for t in times_s:
        if not math.isfinite(t) or t < 0:
            raise InputError(f"inference times must be finite and >= 0 s, got {t}", field="times")
    return tuple(float(t) for t in times_s)


def accuracy_over_time(model: nn.Module, data: DigitsData, noise: AnalogNoise | None = None, *,
                       times_s: Sequence[float] = DEFAULT_TIMES_S, seeds: int = DEFAULT_SEEDS,
                       progress: Callable[[], Any] | None = None) -> AccuracyOverTime:
    """Test accuracy of ``model``'s analog copy at each time, over noise seeds ``0..seeds-1``.

    ``progress`` (if given) is called once per (seed, time) evaluation.
    """
    times = _check_times(times_s)
    if seeds < 1:
        raise InputError(f"must be at least 1, got {seeds}", field="seeds")
    noise = AnalogNoise() if noise is None else noise
    with _one_deterministic_thread():
        ref = _logits(model, data.x_test)
        digital = float((ref.argmax(dim=1) == data.y_test).float().mean())
        analog = convert_to_analog(model, noise)
        acc = np.zeros((len(times), seeds))
        err = np.zeros((len(times), seeds))
        for seed in range(seeds):
            program_analog(analog, seed)
            for i, t in enumerate(times):
                drift_analog(analog, t)
                z = _logits(analog, data.x_test)
                acc[i, seed] = float((z.argmax(dim=1) == data.y_test).float().mean())
                err[i, seed] = float(torch.linalg.norm(z - ref) / torch.linalg.norm(ref))
                if progress is not None:
                    progress()
    return AccuracyOverTime(
        digital_accuracy=digital, times_s=times,
        accuracy_mean=tuple(float(v) for v in acc.mean(axis=1)),
        accuracy_std=tuple(float(v) for v in acc.std(axis=1)),
        accuracy_per_seed=tuple(tuple(float(v) for v in row) for row in acc),
        output_error_mean=tuple(float(v) for v in err.mean(axis=1)),
        seeds=tuple(range(seeds)), noise=noise.as_dict())


def run_analog_accuracy(dataset: str = "digits", *, times_s: Sequence[float] = DEFAULT_TIMES_S,
                        seeds: int = DEFAULT_SEEDS, noise: AnalogNoise | None = None,
                        progress: Callable[[], Any] | None = None) -> AccuracyOverTime:
    """Train the default network on ``dataset`` and measure its analog accuracy over time."""
    _check_times(times_s)
    if seeds < 1:
        raise InputError(f"must be at least 1, got {seeds}", field="seeds")
    data, model = default_network(dataset)
    return accuracy_over_time(model, data, noise, times_s=times_s, seeds=seeds,
                              progress=progress)


def _time_label(t: float) -> str:
    for unit, size in (("y", 31536000.0), ("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if t >= size:
            return f"{t / size:g} {unit}"
    return f"{t:g} s"


def plot_accuracy_over_time(result: AccuracyOverTime) -> Any:
    """A matplotlib Figure: analog accuracy (mean +- std over seeds) against time, digital line."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    times = np.maximum(np.asarray(result.times_s), 1e-3)
    mean = 100 * np.asarray(result.accuracy_mean)
    std = 100 * np.asarray(result.accuracy_std)
    ax.errorbar(times, mean, yerr=std, marker="o", capsize=4,
                label=f"analog (PCM), mean ± std over {len(result.seeds)} seeds")
    ax.axhline(100 * result.digital_accuracy, color="grey", linestyle="--", label="digital")
    ax.set_xscale("log")
    ax.set_xticks(times, [_time_label(t) for t in result.times_s])
    ax.set_xlabel("time since programming")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Accuracy over time on PCM crossbars")
    ax.legend(loc="lower left")
    return fig
