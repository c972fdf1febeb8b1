"""``sparsity`` as a search parameter: every layer's N:M ratio, with the array's sparsity
support on; each point equals a direct sparse simulation."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("optuna")

from hwloop.search import load_space, run_search  # noqa: E402
from hwloop.sim import simulate  # noqa: E402
from hwloop.traces import InputError, Network, load_topology  # noqa: E402

TOPOLOGY = Path(__file__).parents[1] / "data" / "topologies" / "resnet18_unique.csv"


def test_each_ratio_equals_a_direct_sparse_run(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text('[params.sparsity]\nvalues = ["4:4", "2:4", "1:4"]\n'
                    '[params.dataflow]\nvalues = ["ws"]\n')
    space = load_space(path)
    network = load_topology(TOPOLOGY)
    network = Network(name="r18", layers=network.layers[1:])  # conv1: 3 channels, not 4-aligned
    result = run_search(space, network, ["latency", "energy"], "grid", 3, out_dir=tmp_path / "o")
    latency = {row["sparsity"]: row["latency"] for row in result.trials}
    base = space.base_accelerator().with_overrides(dataflow="ws", sparse=True)
    for ratio, cycles in latency.items():
        n, m = map(int, ratio.split(":"))
        layers = tuple(replace(layer, sparsity=(n, m)) for layer in network.layers)
        assert cycles == simulate(replace(network, layers=layers), base).totals["total_cycles"]
    assert latency["1:4"] < latency["2:4"] < latency["4:4"]
    dense = simulate(network, space.base_accelerator().with_overrides(dataflow="ws"))
    assert latency["4:4"] == dense.totals["total_cycles"]  # 4:4 is dense


@pytest.mark.parametrize("value, reason", [("3:2", "must not exceed M"),
                                           ("0:4", "keeps no weight"), ("2/4", "looks like")])
def test_a_bad_ratio_is_a_located_line(tmp_path, value, reason):
    path = tmp_path / "space.toml"
    path.write_text(f'[params.sparsity]\nvalues = ["2:4", "{value}"]\n')
    with pytest.raises(InputError, match=reason) as info:
        load_space(path)
    assert info.value.line == 2 and info.value.field == "params.sparsity.values"
