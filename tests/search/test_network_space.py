"""The CNN family's per-stage and per-layer parameters: old points keep their meaning (dicts,
cache keys, layers), overrides reach the hwloop layers and the torch module, and spaces
using them load (or fail on one located line)."""
from __future__ import annotations

import json

import pytest

from hwloop.arch import DEFAULT_PRESET, get_preset
from hwloop.search import Family, Oracle, Plugin, load_space
from hwloop.search._space import apply_point
from hwloop.search.plugins.digits._network_space import NetSpec, build_network, net_spec
from hwloop.sim.cli import main
from hwloop.traces import InputError

DIGITS = Family(Plugin("hwloop.search.plugins.digits:build"))
OLD_POINT = {"net_depth": 2, "net_width": 8, "net_kernel": 3, "weight_bits": 8, "act_bits": 8}


def shapes(network):
    """(name, ifmap side, kernel, in channels, out channels, weight bits, act bits)."""
    return [(lyr.name, lyr.ifmap_h, lyr.filter_h, lyr.channels, lyr.num_filters, lyr.weight_bits,
             lyr.act_bits) for lyr in network.layers]


def test_old_points_keep_their_dict_key_and_layers():
    spec = net_spec(OLD_POINT)
    assert spec == NetSpec(depth=2, width=8, kernel=3, weight_bits=8, act_bits=8)
    assert spec.as_dict() == OLD_POINT
    network = build_network(spec)
    assert network.name == "cnn-d2-w8-k3-8w8a"
    assert shapes(network) == [("conv1", 10, 3, 1, 8, 8, 8), ("conv2", 6, 3, 8, 16, 8, 8),
                               ("fc", 1, 1, 1, 10, 8, 8)]
    assert network.layers[-1].gemm_mnk == (1, 10, 16 * 2 * 2)
    deep = build_network(net_spec({"net_depth": 3, "net_width": 4, "net_kernel": 5,
                                   "weight_bits": 3, "act_bits": 6}))
    assert deep.name == "cnn-d3-w4-k5-3w6a"
    assert shapes(deep) == [("conv1", 12, 5, 1, 4, 3, 6), ("conv2", 8, 5, 4, 8, 3, 6),
                            ("conv3", 6, 5, 8, 16, 3, 6), ("fc", 1, 1, 1, 10, 3, 6)]


def test_overrides_equal_to_the_rule_or_of_absent_stages_change_nothing():
    same = {**OLD_POINT, "net_width_1": 8, "net_width_2": 16, "net_kernel_2": 3,
            "weight_bits_fc": 8, "act_bits_1": 8,
            "net_width_3": 64, "net_kernel_3": 7, "weight_bits_3": 2, "act_bits_3": 2}
    spec = net_spec(same)
    assert spec == net_spec(OLD_POINT) and spec.overrides == ()
    assert spec.as_dict() == OLD_POINT
    assert build_network(spec) == build_network(net_spec(OLD_POINT))
    assert hash(spec) == hash(net_spec(OLD_POINT))


def test_per_stage_widths_and_kernels_shape_the_layers():
    point = {"net_depth": 3, "net_width": 4, "net_width_2": 12, "net_kernel_1": 5,
             "net_kernel_3": 1}
    spec = net_spec(point)
    assert spec.channels == (4, 12, 16) and spec.kernels == (5, 3, 1)
    assert spec.as_dict() == {"net_depth": 3, "net_width": 4, "net_kernel": 3,
                              "weight_bits": 8, "act_bits": 8, "net_width_2": 12,
                              "net_kernel_1": 5, "net_kernel_3": 1}
    network = build_network(spec)
    assert shapes(network) == [("conv1", 12, 5, 1, 4, 8, 8), ("conv2", 6, 3, 4, 12, 8, 8),
                               ("conv3", 2, 1, 12, 16, 8, 8), ("fc", 1, 1, 1, 10, 8, 8)]
    assert all(lyr.ofmap_h == side for lyr, side in zip(network.layers, (8, 4, 2)))
    assert network.layers[-1].gemm_mnk == (1, 10, 16)
    assert network.name == "cnn-d3-w4-k3-8w8a-net_width_2=12-net_kernel_1=5-net_kernel_3=1"
    # net_width_1 overrides stage 1 only; stage 2 keeps the doubling of net_width
    assert net_spec({"net_depth": 2, "net_width": 8, "net_width_1": 3}).channels == (3, 16)


def test_per_layer_bits_land_on_their_layers():
    spec = net_spec({"net_depth": 2, "weight_bits": 6, "act_bits": 7, "weight_bits_1": 4,
                     "act_bits_2": 3, "weight_bits_fc": 2, "act_bits_fc": 5})
    assert spec.layer_bits == ((4, 7), (6, 3), (2, 5))
    network = build_network(spec)
    assert [(lyr.name, lyr.weight_bits, lyr.act_bits) for lyr in network.layers] == [
        ("conv1", 4, 7), ("conv2", 6, 3), ("fc", 2, 5)]


@pytest.mark.parametrize("point, field, words", [
    ({"net_kernel_2": 4}, "net_kernel_2", "odd"),
    ({"net_width_1": 0}, "net_width_1", "from 1 to 1024"),
    ({"weight_bits_fc": 1}, "weight_bits_fc", "from 2 to 32"),
    ({"act_bits_3": 40}, "act_bits_3", "from 2 to 32"),
    ({"net_width_2": 2.0}, "net_width_2", "integer"),
])
def test_bad_overrides_name_their_field(point, field, words):
    with pytest.raises(InputError) as info:
        net_spec(point)
    assert info.value.field == field and words in info.value.reason
    with pytest.raises(InputError, match="unknown network parameter"):
        NetSpec(depth=1, width=4, kernel=3, weight_bits=8, act_bits=8,
                overrides={"net_width_4": 8})


def test_torch_module_follows_the_spec():
    torch = pytest.importorskip("torch")
    spec = net_spec({"net_depth": 3, "net_width": 4, "net_width_3": 20, "net_kernel_2": 5,
                     "weight_bits_2": 3, "act_bits_1": 6, "act_bits_fc": 4})
    module = _module(spec)
    convs = [m for m in module if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (1, 4, (3, 3), (1, 1)), (4, 8, (5, 5), (2, 2)), (8, 20, (3, 3), (1, 1))]
    assert [c.weight_bits for c in convs] == [8, 3, 8]
    (fc,) = [m for m in module if isinstance(m, torch.nn.Linear)]
    assert (fc.in_features, fc.out_features, fc.weight_bits) == (20, 10, 8)
    # activations are quantised to the bits of the layer that reads them
    levels = [m.levels for m in module if hasattr(m, "levels")]
    assert levels == [2 ** 6 - 1, 2 ** 8 - 1, 2 ** 8 - 1, 2 ** 4 - 1]
    assert module(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def _module(spec):
    from hwloop.search.plugins.digits._network_space import build_module

    return build_module(spec)


def test_overrides_reach_the_accuracy():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from hwloop.search.plugins.digits._accuracy import measure_accuracy

    fine = net_spec({"net_depth": 1, "net_width": 8, "net_width_1": 4, "net_kernel_1": 5})
    coarse = net_spec({"net_depth": 1, "net_width": 8, "net_width_1": 4, "net_kernel_1": 5,
                       "weight_bits_fc": 2, "act_bits_fc": 2})
    first, second = measure_accuracy(fine), measure_accuracy(coarse)
    assert first > 0.5 and second < first


SPACE = """[params.net_depth]
values = [1, 2, 3]
[params.net_width_2]
values = [4, 32]
[params.net_kernel_1]
low = 1
high = 5
step = 2
[params.weight_bits_fc]
values = [4, 8]
[params.act_bits_3]
low = 2
high = 8
step = 6
[params.rows]
values = [8]
"""


def test_space_with_overrides_loads_and_builds_each_point(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SPACE)
    space = load_space(path)
    assert space.defines_network
    assert space.params[2].choices() == (1, 3, 5) and space.params[4].choices() == (2, 8)
    assert space.size == 3 * 2 * 3 * 2 * 2
    base = space.base_accelerator()
    networks = {}
    for point in space.grid():
        accel, network = apply_point(point, base, None, space.family)
        assert accel.array.rows == 8
        conv = network.layers[:-1]
        assert len(conv) == point["net_depth"]
        assert conv[0].filter_h == point["net_kernel_1"]
        if point["net_depth"] >= 2:
            assert conv[1].num_filters == point["net_width_2"]
        if point["net_depth"] == 3:
            assert conv[2].act_bits == point["act_bits_3"]
        assert network.layers[-1].weight_bits == point["weight_bits_fc"]
        networks.setdefault(tuple(network.layers), set()).add(
            json.dumps(net_spec(point).as_dict(), sort_keys=True))
    # points that differ only in a parameter their network lacks are the same network
    assert len(networks) == 3 * 2 + 2 * 3 * 2 + 2 * 3 * 2 * 2
    assert all(len(keys) == 1 for keys in networks.values())


def test_oracle_simulates_overridden_networks_once(tmp_path):
    oracle = Oracle(None, get_preset(DEFAULT_PRESET), tmp_path / "cache.db", family=DIGITS)
    narrow = oracle.evaluate({"net_depth": 2, "net_width_2": 4, "rows": 8})
    wide = oracle.evaluate({"net_depth": 2, "net_width_2": 64, "rows": 8})
    assert narrow["latency"] < wide["latency"]
    # net_width_2 means nothing to a one-stage network: one simulation for both points
    oracle.evaluate({"net_depth": 1, "net_width_2": 4, "rows": 8})
    oracle.evaluate({"net_depth": 1, "net_width_2": 64, "rows": 8})
    assert oracle.simulations == 3
    oracle.close()


BAD = {
    "even_kernel": ("[params.net_kernel_2]\nvalues = [3, 4]\n", 2,
                    "params.net_kernel_2.values", "odd"),
    "even_kernel_range": ("[params.net_kernel_3]\nlow = 1\nhigh = 7\nstep = 1\n", 4,
                          "params.net_kernel_3.step", "odd"),
    "zero_width": ("[params.net_width_1]\nlow = 0\nhigh = 8\n", 2, "params.net_width_1.low",
                   "from 1 to 1024"),
    "wide_width": ("[params.net_width_3]\nvalues = [2048]\n", 2,
                   "params.net_width_3.values", "from 1 to 1024"),
    "one_bit": ("[params.act_bits_fc]\nvalues = [1, 8]\n", 2, "params.act_bits_fc.values",
                "from 2 to 32"),
    "no_fourth_stage": ("[params.net_width_4]\nvalues = [8]\n", 1, "params.net_width_4",
                        "unknown parameter"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_override_space_is_one_located_line(case, tmp_path, capsys):
    text, line, field, words = BAD[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_space(path)
    assert info.value.line == line and info.value.field == field
    assert words in info.value.reason
    out = tmp_path / "out"
    rc = main(["search", "--space", str(path), "--trials", "3", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"hwloop: error: {path}:{line}: ") and f"field '{field}'" in err
    assert not out.exists()
