"""Tiny workloads and spaces, so that every search test runs in about a second."""
from __future__ import annotations

from pathlib import Path

import pytest

from hwloop.traces import Layer, Network

TOPOLOGY = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
            "Num Filter, Strides,\n") + """conv1, 10, 10, 3, 3, 4, 8, 1,
conv2, 8, 8, 3, 3, 8, 16, 2,
"""

SPACE = """[params.rows]
values = [2, 4, 8, 16]

[params.cols]
values = [2, 4, 8, 16]

[params.dataflow]
values = ["os", "ws", "is"]

[constraints]
max_pes = 64
"""


@pytest.fixture
def network() -> Network:
    return Network(name="two", layers=(
        Layer(name="conv1", ifmap_h=10, ifmap_w=10, filter_h=3, filter_w=3, channels=4,
              num_filters=8),
        Layer(name="conv2", ifmap_h=8, ifmap_w=8, filter_h=3, filter_w=3, channels=8,
              num_filters=16, stride_h=2, stride_w=2)))


@pytest.fixture
def topology(tmp_path: Path) -> Path:
    path = tmp_path / "two.csv"
    path.write_text(TOPOLOGY)
    return path


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    path = tmp_path / "space.toml"
    path.write_text(SPACE)
    return path
