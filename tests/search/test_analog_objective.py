"""``analog_accuracy``: a network space searched for an analog chip (AnalogNAS-style)."""
from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from hwloop.arch import PRESETS  # noqa: E402
from hwloop.search import Family, Oracle, Plugin  # noqa: E402


def test_analog_accuracy_follows_the_chips_converters_and_is_kept(tmp_path):
    digits = Family(Plugin("hwloop.search.plugins.digits:build"))
    oracle = Oracle(None, PRESETS["scalesim_default"], tmp_path / "cache.db", family=digits,
                    objectives=digits.objectives)

    def analog(point):
        return oracle.evaluate(point, ["analog_accuracy"])["analog_accuracy"]

    point = {"net_depth": 1, "net_width": 4, "array_kind": "analog", "adc_bits": 9}
    first = analog(point)
    assert 0.5 < first <= 1.0  # a trained digits CNN, a little noisier on PCM
    assert analog(point) == first and oracle.objective_calls == 1  # from the store
    coarse = analog({**point, "adc_bits": 4})
    assert oracle.objective_calls == 2  # other converters: measured anew
    assert coarse <= first + 0.02  # 4-bit ADCs do not help


def test_search_with_analog_accuracy(tmp_path):
    from hwloop.search import load_space, run_search

    path = tmp_path / "space.toml"
    path.write_text('[params.net_width]\nvalues = [4]\n[params.net_depth]\nvalues = [1]\n'
                    '[params.array_kind]\nvalues = ["analog"]\n[params.tiles]\nvalues = [8, 32]\n')
    result = run_search(load_space(path), None, ["analog_accuracy", "energy"], "grid", 2, seed=0,
                        out_dir=tmp_path / "out")
    assert len(result.trials) == 2
    assert all(0 < r["analog_accuracy"] <= 1 for r in result.trials)
