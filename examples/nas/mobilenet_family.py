"""A MobileNet-like workload family for scikit-learn's 8x8 digits, and its trained accuracy.

A search plug-in (``docs/search-plugins.md``): ``build`` maps a point's network parameters to
a torch module and an example input, which hwloop imports through ``network_from_torch``;
``accuracy`` is a per-network objective. Parameters (missing ones take :data:`DEFAULTS`):

- ``depth``: inverted-residual blocks (1-4); blocks 1 and 3 halve the image (8 -> 4 -> 2);
- ``width``: width multiplier on :data:`BASE_CHANNELS` (channels double where the image halves);
- ``kernel``: the depthwise kernel (3, 5 or 7);
- ``expansion``: the expansion ratio of each block's 1x1 expand convolution (1-6).

The digits ship with scikit-learn: nothing is downloaded.
"""
from __future__ import annotations

import functools
from typing import Any

#: Each parameter's values: those of ``space.toml`` and of ``benchmarks/study_nas.py``, so the
#: accuracy predictor's training sample covers both.
PARAMS: dict[str, list] = {"depth": [1, 2, 3, 4], "width": [0.5, 0.75, 1.0, 1.5, 2.0],
                           "kernel": [3, 5, 7], "expansion": [1, 2, 3, 4, 6]}
DEFAULTS: dict[str, Any] = {"depth": 2, "width": 1.0, "kernel": 3, "expansion": 2}
BASE_CHANNELS = 8
#: Training: seeded, one thread, deterministic, channels-last (mkldnn's depthwise convolutions
#: are 2-9x faster so); part of what a cached accuracy means.
RECIPE = {"epochs": 6, "batch": 128, "lr": 2e-2, "test_fraction": 0.3, "seed": 0,
          "memory_format": "channels_last"}


def spec(params: dict) -> dict:
    """The family's parameters of a point, defaults filled in (other keys ignored)."""
    return {name: params.get(name, default) for name, default in DEFAULTS.items()}


def build(params: dict) -> tuple[Any, Any]:
    """The member's torch module (in eval mode) and an example input of one 8x8 image."""
    import torch

    return _module(**spec(params)).eval(), torch.zeros(1, 1, 8, 8)


def _module(depth: int, width: float, kernel: int, expansion: int) -> Any:
    from torch import nn

    class InvertedResidual(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            hidden = cin * expansion
            layers: list[nn.Module] = []
            if expansion != 1:
                layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                           nn.ReLU6()]
            layers += [nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden,
                                 bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
                       nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
            self.body = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x: Any) -> Any:
            out = self.body(x)
            return x + out if self.residual else out

    channels = max(4, round(BASE_CHANNELS * width))
    layers: list[nn.Module] = [nn.Conv2d(1, channels, 3, padding=1, bias=False),
                               nn.BatchNorm2d(channels), nn.ReLU6()]
    for i in range(depth):
        stride = 2 if i in (0, 2) else 1
        out = channels * stride
        layers.append(InvertedResidual(channels, out, stride))
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return nn.Sequential(*layers)


def accuracy(params: dict) -> float:
    """Held-out accuracy of the member after :data:`RECIPE`'s training (same parameters,
    same number)."""
    import torch

    x_train, y_train, x_test, y_test = _digits()
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(RECIPE["seed"])
        model = _module(**spec(params)).to(memory_format=torch.channels_last)
        _train(model, x_train, y_train, torch.Generator().manual_seed(RECIPE["seed"]))
        with torch.no_grad():
            predicted = model.eval()(x_test).argmax(dim=1)
        return int((predicted == y_test).sum()) / len(y_test)
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)


def _train(model: Any, x: Any, y: Any, generator: Any) -> None:
    import torch

    optimiser = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
    loss = torch.nn.CrossEntropyLoss()
    model.train()
    for _ in range(RECIPE["epochs"]):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), RECIPE["batch"]):
            batch = order[start:start + RECIPE["batch"]]
            optimiser.zero_grad()
            loss(model(x[batch]), y[batch]).backward()
            optimiser.step()


@functools.cache
def _digits() -> tuple[Any, Any, Any, Any]:
    """A fixed stratified split of the digits, as tensors."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = (data.images / 16.0).astype("float32").reshape(-1, 1, 8, 8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, data.target, test_size=RECIPE["test_fraction"], random_state=0,
        stratify=data.target)

    def tensor(x: Any) -> Any:
        return torch.from_numpy(x).contiguous(memory_format=torch.channels_last)

    return (tensor(x_train), torch.from_numpy(y_train).long(),
            tensor(x_test), torch.from_numpy(y_test).long())
