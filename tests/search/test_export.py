"""``hwloop search --export``: the network x hardware table of a grid, as Parquet or CSV."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("optuna")

from hwloop.arch import get_preset  # noqa: E402
from hwloop.sim import simulate  # noqa: E402
from hwloop.sim.cli import main  # noqa: E402

from .test_plugin_contract import SPACE, TOY  # noqa: E402


@pytest.fixture
def toy(tmp_path, monkeypatch):
    shutil.copy(TOY, tmp_path / "toy_family.py")
    (tmp_path / "space.toml").write_text(SPACE)
    monkeypatch.setenv("TOY_CALLS", str(tmp_path / "calls.txt"))
    return tmp_path


@pytest.mark.parametrize("name", ["bench.parquet", "bench.csv"])
def test_the_table_has_every_grid_point_and_the_simulated_numbers(toy, capsys, name):
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    table = toy / name
    code = main(["search", "--space", str(toy / "space.toml"), "--objectives", "latency,score",
                 "--export", str(table), "--out", str(toy / "out")])
    assert code == 0, capsys.readouterr().err
    frame = pd.read_parquet(table) if name.endswith(".parquet") else pd.read_csv(table)
    assert list(frame.columns) == ["network", "hidden", "depth", "rows", "latency", "energy",
                                   "edp", "area", "score", "error"]
    assert len(frame) == 12 and not frame.duplicated(["hidden", "depth", "rows"]).any()
    import toy_family

    base = get_preset("scalesim_default")
    for row in frame.itertuples():
        params = {"hidden": int(row.hidden), "depth": int(row.depth)}
        network = toy_family.build(params)
        report = simulate(network, base.with_overrides(rows=int(row.rows)))
        assert row.network == network.name
        assert row.latency == report.totals["total_cycles"]
        assert row.energy == pytest.approx(report.totals["energy_pj"], rel=1e-12)
        assert row.edp == pytest.approx(report.totals["edp"], rel=1e-12)
        assert row.area == pytest.approx(report.totals["area_mm2"], rel=1e-12)
    assert str(table) in capsys.readouterr().out


@pytest.mark.parametrize("argv, field", [
    (["--export", "table.xlsx"], "--export"),
    (["--export", "no/such/folder/table.csv"], "--export"),
    (["--export", "table.csv", "--sampler", "tpe"], "--sampler"),
    ([], "--trials"),
])
def test_bad_export_options_are_one_line_and_write_nothing(toy, capsys, argv, field):
    code = main(["search", "--space", str(toy / "space.toml"), "--out", str(toy / "out"),
                 *[str(toy / a) if a.startswith(("table", "no/")) else a for a in argv]])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and field in err
    assert not (toy / "out").exists() and not list(toy.glob("table*"))


def test_parquet_without_an_engine_says_what_to_install(toy, capsys, monkeypatch):
    from hwloop.search import _export

    monkeypatch.setattr(_export, "_has_parquet_engine", lambda: False)
    code = main(["search", "--space", str(toy / "space.toml"), "--export",
                 str(toy / "t.parquet"), "--out", str(toy / "out")])
    assert code == 2 and "pip install 'hwloop[parquet]'" in capsys.readouterr().err
    assert not Path(toy / "out").exists()
