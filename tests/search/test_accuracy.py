"""Network search: the CNN family's two builds agree, accuracy is real and reproducible, and a
joint network x accelerator search writes accuracy beside energy."""
from __future__ import annotations

import csv

import pytest

from hwloop.search import load_space
from hwloop.search.plugins.digits._network_space import NetSpec, build_network, net_spec
from hwloop.sim.cli import main
from hwloop.traces import InputError

JOINT = """[params.net_depth]
values = [1, 2]
[params.net_width]
values = [4, 8]
[params.weight_bits]
values = [4, 8]
[params.array_kind]
values = ["systolic", "bitfusion"]
[params.rows]
values = [4, 8]
"""


@pytest.mark.parametrize("depth, width, kernel", [(1, 4, 1), (2, 8, 3), (3, 4, 5)])
def test_hwloop_layers_match_the_torch_module(depth, width, kernel):
    torch = pytest.importorskip("torch")
    spec = NetSpec(depth=depth, width=width, kernel=kernel, weight_bits=4, act_bits=8)
    network = build_network(spec)
    module = spec_module(spec)
    shapes, macs = [], 0

    def record(layer, inputs, output):
        nonlocal macs
        shapes.append(tuple(output.shape[1:]))
        weight = layer.weight
        per_output = weight[0].numel()
        macs += output[0].numel() * per_output

    for layer in module.modules():
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
            layer.register_forward_hook(record)
    module(torch.zeros(1, 1, 8, 8))
    expected = [(lyr.num_filters, lyr.ofmap_h, lyr.ofmap_w) for lyr in network.layers[:-1]]
    assert shapes[:-1] == expected and shapes[-1] == (10,)
    assert macs == network.macs
    fc = network.layers[-1]
    assert fc.gemm_mnk == (1, 10, spec.features)
    assert all(lyr.weight_bits == 4 and lyr.act_bits == 8 for lyr in network.layers)


def spec_module(spec):
    from hwloop.search.plugins.digits._network_space import build_module

    return build_module(spec)


def test_net_spec_defaults_and_validation():
    assert net_spec({"net_depth": 1}) == NetSpec(depth=1, width=8, kernel=3, weight_bits=8,
                                                 act_bits=8)
    with pytest.raises(InputError, match="odd"):
        net_spec({"net_kernel": 2})
    with pytest.raises(InputError, match="from 1 to 3"):
        net_spec({"net_depth": 4})


def test_even_kernel_in_a_space_is_refused(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[params.net_kernel]\nvalues = [1, 2]\n")
    with pytest.raises(InputError, match="odd"):
        load_space(path)


def test_accuracy_is_reproducible_and_better_than_chance():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from hwloop.search.plugins.digits._accuracy import measure_accuracy

    spec = NetSpec(depth=2, width=8, kernel=3, weight_bits=8, act_bits=8)
    first = measure_accuracy(spec)
    assert first == measure_accuracy(spec)
    assert first > 0.5
    low = measure_accuracy(NetSpec(depth=2, width=8, kernel=3, weight_bits=2, act_bits=2))
    assert low < first  # precision reaches the accuracy


def test_joint_search_writes_accuracy_and_energy(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    space = tmp_path / "joint.toml"
    space.write_text(JOINT)
    out = tmp_path / "out"
    argv = ["search", "--space", str(space), "--objectives", "accuracy,energy", "--sampler",
            "nsga2", "--trials", "6", "--seed", "0", "--out", str(out)]
    assert main(argv) == 0
    with open(out / "pareto.csv") as handle:
        front = list(csv.DictReader(handle))
    assert front and {"accuracy", "energy", "net_depth", "array_kind"} <= set(front[0])
    points = [(float(r["accuracy"]), float(r["energy"])) for r in front]
    for a, e in points:  # non-dominated with accuracy maximised, energy minimised
        assert not any(a2 >= a and e2 <= e and (a2, e2) != (a, e) for a2, e2 in points)
    with open(out / "trials.csv") as handle:
        trials = list(csv.DictReader(handle))
    assert len(trials) == 6 and all(0 < float(r["accuracy"]) <= 1 for r in trials)
    capsys.readouterr()
    assert main(argv) == 0  # resumed: nothing left to run, nothing trained again
    assert "0 simulated now" in capsys.readouterr().out


def test_accuracy_needs_a_network_space(tmp_path, capsys):
    space = tmp_path / "hw.toml"
    space.write_text("[params.rows]\nvalues = [4, 8]\n")
    rc = main(["search", "--space", str(space), "--network", "alexnet", "--objectives",
               "accuracy", "--trials", "2", "--out", str(tmp_path / "o")])
    assert rc == 2 and "needs a network space" in capsys.readouterr().err


def test_a_network_space_takes_no_network(tmp_path, capsys):
    space = tmp_path / "net.toml"
    space.write_text("[params.net_depth]\nvalues = [1, 2]\n")
    rc = main(["search", "--space", str(space), "--network", "alexnet", "--trials", "2",
               "--out", str(tmp_path / "o")])
    assert rc == 2 and "builds its networks" in capsys.readouterr().err
