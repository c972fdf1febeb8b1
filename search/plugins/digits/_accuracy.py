"""Accuracy measured for real: a family member trained briefly on scikit-learn's digits.

The 1,797 8x8 images ship with scikit-learn (no download). A fixed stratified split keeps 30%
aside; the network is trained on the rest for :data:`RECIPE` (seeded, CPU, one thread,
deterministic algorithms), with weights and activations fake-quantised to the spec's bit
widths (straight-through estimator), then evaluated on the held-out images. The same spec and
seed give the same accuracy. torch and scikit-learn are imported only inside functions.
"""
from __future__ import annotations

import functools
from typing import Any

from hwloop.traces import InputError

from ._network_space import IMAGE_SIZE, NetSpec, build_module

#: The training recipe; part of the objectives' cache keys (their ``version``), so changing
#: it never reuses old numbers.
RECIPE: dict[str, Any] = {"epochs": 8, "batch": 32, "lr": 3e-3, "test_fraction": 0.3, "split_seed": 0,
          "seed": 0}


def measure_accuracy(spec: NetSpec, seed: int | None = None) -> float:
    """Held-out accuracy (a fraction) of ``spec`` after the recipe's training."""
    torch = _require()
    _, _, x_test, y_test = _digits()
    model = trained_module(spec, seed)
    with torch.no_grad():
        predicted = model(x_test).argmax(dim=1)
    return int((predicted == y_test).sum()) / len(y_test)


#: Analog accuracy: the trained network's conv and linear layers on PCM crossbars (hwloop's
#: default noise model: programming and read noise, drift with global compensation, 7-bit
#: DACs, 9-bit ADCs), read after this long, averaged over these noise seeds.
ANALOG_RECIPE = {"time_s": 86400.0, "seeds": 3}


def analog_noise(dac_bits: int = 7, adc_bits: int = 9) -> Any:
    """hwloop's default analog noise with the chip's converter resolutions."""
    from hwloop.sim import AnalogNoise, Converters

    return AnalogNoise(converters=Converters(dac_bits=dac_bits, adc_bits=adc_bits))


def measure_analog_accuracy(spec: NetSpec, noise: Any) -> float:
    """Held-out accuracy of ``spec`` run on analog tiles with ``noise`` after
    :data:`ANALOG_RECIPE`'s drift time (mean over its noise seeds): what an AnalogNAS-style
    search maximises."""
    _require()
    from hwloop.sim import DigitsData, accuracy_over_time

    data = DigitsData(*_digits())
    result = accuracy_over_time(trained_module(spec), data, noise,
                                times_s=(ANALOG_RECIPE["time_s"],),
                                seeds=ANALOG_RECIPE["seeds"])
    return result.accuracy_mean[0]


def trained_module(spec: NetSpec, seed: int | None = None) -> Any:
    """``spec``'s module after the recipe's training (seeded, one thread, deterministic)."""
    torch = _require()
    seed = RECIPE["seed"] if seed is None else seed
    x_train, y_train, _, _ = _digits()
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(seed)
        model = build_module(spec)
        _train(model, x_train, y_train, torch.Generator().manual_seed(seed))
        return model.eval()
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)


def _train(model: Any, x: Any, y: Any, generator: Any) -> None:
    import torch

    optimiser = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for _ in range(RECIPE["epochs"]):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), RECIPE["batch"]):
            batch = order[start:start + RECIPE["batch"]]
            optimiser.zero_grad()
            loss_fn(model(x[batch]), y[batch]).backward()
            optimiser.step()


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[Any, Any, Any, Any]:
    """The fixed split: train images, labels, held-out images, labels (as tensors)."""
    torch = _require()
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = (data.images / 16.0).astype("float32").reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
    x_train, x_test, y_train, y_test = train_test_split(
        images, data.target, test_size=RECIPE["test_fraction"],
        random_state=RECIPE["split_seed"], stratify=data.target)
    return (torch.from_numpy(x_train), torch.from_numpy(y_train).long(),
            torch.from_numpy(x_test), torch.from_numpy(y_test).long())


def _require() -> Any:
    try:
        import sklearn  # noqa: F401
        import torch
    except ImportError as exc:
        raise InputError(f"the accuracy objective needs torch and scikit-learn ({exc.name} is "
                         "missing): pip install 'hwloop[search]' torch==2.13.0",
                         field="--objectives") from None
    return torch
