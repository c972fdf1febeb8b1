"""The example NAS plug-ins (``examples/nas``): the MobileNet-like family imports through fx,
its accuracy is measured for real and repeatable, and the accuracy predictor ranks members
and keeps its measurements."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

EXAMPLES = Path(__file__).parents[2] / "examples" / "nas"
sys.path.insert(0, str(EXAMPLES))

import accuracy_predictor  # noqa: E402
import mobilenet_family  # noqa: E402

from hwloop.sim.cli import main  # noqa: E402
from hwloop.traces import network_from_torch  # noqa: E402

SMALL = {"depth": 1, "width": 0.5, "kernel": 3, "expansion": 1}


def test_members_import_with_macs_growing_with_width_and_expansion():
    def macs(**changes):
        return network_from_torch(*mobilenet_family.build({**SMALL, **changes})).macs

    network = network_from_torch(*mobilenet_family.build({"depth": 3, "kernel": 5}))
    depthwise = [layer for layer in network.layers if layer.kind.value == "depthwise"]
    assert len(depthwise) == 3 and all(layer.filter_h == 5 for layer in depthwise)
    assert network.layers[-1].gemm_mnk == (1, 10, 32)  # the classifier on 32 channels
    assert macs() < macs(width=1.0) < macs(width=1.5)
    assert macs(depth=2) < macs(depth=2, expansion=2) < macs(depth=2, expansion=4)


def test_accuracy_is_measured_and_repeatable():
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    first = mobilenet_family.accuracy(SMALL)
    assert 0.3 < first <= 1.0 and mobilenet_family.accuracy(SMALL) == first
    assert torch.get_num_threads() == threads  # the caller's settings are restored
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_the_predictor_ranks_held_out_members():
    def made_up(p):
        return 0.5 + 0.08 * p["depth"] + 0.1 * p["width"] - 0.01 * p["kernel"]

    points = accuracy_predictor.training_sample(60, seed=3)
    predictor = accuracy_predictor.AccuracyPredictor().fit(points[:40],
                                                           [made_up(p) for p in points[:40]])
    assert predictor.score(points[40:], [made_up(p) for p in points[40:]])["kendall_tau"] > 0.7
    assert 0.0 <= predictor.predict({"depth": 9, "width": 9.0}) <= 1.0


def test_predicted_accuracy_measures_its_sample_once(tmp_path, monkeypatch):
    cache = tmp_path / "measured.json"
    monkeypatch.setenv("HWLOOP_NAS_TRAIN_POINTS", "4")
    monkeypatch.setenv("HWLOOP_NAS_CACHE", str(cache))
    trained = []
    monkeypatch.setattr(mobilenet_family, "accuracy",
                        lambda p: trained.append(p) or 0.5 + 0.1 * p["depth"])
    accuracy_predictor.fitted.cache_clear()
    value = accuracy_predictor.predicted_accuracy(SMALL)
    assert len(trained) == 4 and len(json.loads(cache.read_text())) == 4
    assert 0.0 <= value <= 1.0
    accuracy_predictor.fitted.cache_clear()  # another process: the file answers
    assert accuracy_predictor.predicted_accuracy(SMALL) == value and len(trained) == 4
    accuracy_predictor.fitted.cache_clear()


def test_the_example_space_searches_on_predicted_accuracy(tmp_path, monkeypatch, capsys):
    pytest.importorskip("optuna")
    monkeypatch.setenv("HWLOOP_NAS_TRAIN_POINTS", "3")
    monkeypatch.setenv("HWLOOP_NAS_CACHE", str(tmp_path / "measured.json"))
    space = (EXAMPLES / "space.toml").read_text()
    space = space.replace("values = [1, 2, 3, 4]", "values = [1]").replace(
        "values = [0.5, 0.75, 1.0, 1.5]", "values = [0.5]")  # small members only, for CI
    (tmp_path / "space.toml").write_text(space)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    code = main(["search", "--space", str(tmp_path / "space.toml"), "--objectives",
                 "predicted,edp", "--sampler", "random", "--trials", "4", "--out",
                 str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    assert "predicted maximised" in capsys.readouterr().out
