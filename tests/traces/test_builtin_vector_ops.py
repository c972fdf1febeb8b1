"""Built-in CNNs with their operators without MACs, behind ``vector_ops=True``; without it
the network is exactly its SCALE-Sim topology."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.sim.cli import main
from hwloop.traces import (
    InputError,
    builtin_network,
    format_vector_ops,
    networks_with_vector_ops,
    parse_vector_ops,
)

HERE = pathlib.Path(__file__).resolve().parent


@pytest.mark.parametrize("name", ["alexnet", "dqn", "mlp", "mobilenet_v2", "resnet18",
                                  "transformer_block"])
def test_the_option_adds_operators_and_keeps_the_layers(name):
    plain, full = builtin_network(name), builtin_network(name, vector_ops=True)
    assert full.layers == plain.layers
    assert full.vector_ops and not plain.vector_ops
    accel = get_preset("scalesim_default")
    with_ops, without = simulate(full, accel), simulate(plain, accel)
    arrays = with_ops.layers[with_ops.layers["array_kind"] == "systolic"].reset_index(drop=True)
    assert arrays["total_cycles"].tolist() == without.layers["total_cycles"].tolist()
    assert with_ops.totals["macs"] == without.totals["macs"]
    assert with_ops.totals["total_cycles"] > without.totals["total_cycles"]


def test_the_files_are_what_the_torch_definitions_give():
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("regenerate_vector_ops",
                                                  HERE / "regenerate_vector_ops.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert sorted(script.NETWORKS) == networks_with_vector_ops()
    for name in script.NETWORKS:
        for file, text in script.files(name).items():
            assert (script.FOLDER / file).read_text() == text


@pytest.mark.parametrize("name", ["alexnet", "dqn", "mlp", "transformer_block"])
def test_the_torch_definitions_list_the_topologies_layers(name):
    """Layer for layer the same work (a fully connected layer the CSV writes as a 1x1 conv
    imports as the same GEMM), so the operators' positions hold for the CSV's layers."""
    pytest.importorskip("torch")
    from dataclasses import replace

    from hwloop.traces import network_from_torch, torch_model

    module, example = torch_model(name)
    imported, csv = network_from_torch(module, example), builtin_network(name)
    assert len(imported.layers) == len(csv.layers)
    for got, want in zip(imported.layers, csv.layers):
        assert (replace(got, name=want.name) == want
                or (got.gemm_mnk == want.gemm_mnk and got.macs == want.macs))


def test_the_csv_reads_back_and_bad_cells_are_located():
    ops = builtin_network("resnet18", vector_ops=True).vector_ops
    assert parse_vector_ops(format_vector_ops(ops), "x.csv") == ops
    with pytest.raises(InputError) as info:
        parse_vector_ops("position,name\n", "x.csv")
    assert (info.value.source, info.value.line) == ("x.csv", 1)
    text = format_vector_ops(ops).splitlines()
    index = next(i for i, line in enumerate(text) if line.split(",")[2] == "relu")
    cells = text[index].split(",")
    text[index] = ",".join([*cells[:2], "swish", *cells[3:]])
    with pytest.raises(InputError) as info:
        parse_vector_ops("\n".join(text), "x.csv")
    assert (info.value.line, info.value.field) == (index + 1, "kind")


def test_every_built_in_network_has_its_operators_and_other_workloads_refuse_the_option(
        tmp_path, capsys):
    from hwloop.traces import list_networks

    assert networks_with_vector_ops() == list_networks()
    topology = tmp_path / "t.csv"
    topology.write_text("Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,"
                        "Channels,Num Filter,Strides,\nc1,8,8,3,3,4,8,1,\n")
    assert main(["simulate", "--topology", str(topology), "--vector-ops", "-q"]) == 2
    assert "applies to --network only" in capsys.readouterr().err


def test_a_search_prices_the_vector_operators_and_their_unit(tmp_path):
    import csv

    pytest.importorskip("optuna")
    space = tmp_path / "space.toml"
    space.write_text("[params.rows]\nvalues = [16, 32]\n[params.vector_lanes]\nvalues = [8, 64]\n")
    out = tmp_path / "out"
    assert main(["search", "--space", str(space), "--network", "resnet18", "--vector-ops",
                 "--sampler", "grid", "--trials", "4", "--out", str(out)]) == 0
    network = builtin_network("resnet18", vector_ops=True)
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert len(rows) == 4
    for row in rows:
        accel = get_preset("scalesim_default").with_overrides(
            rows=int(row["rows"]), vector_lanes=int(row["vector_lanes"]))
        assert int(float(row["latency"])) == simulate(network, accel).totals["total_cycles"]
