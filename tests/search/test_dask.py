"""--dask: the trial shares run as tasks on a Dask cluster (a LocalCluster here)."""
from __future__ import annotations

import csv

import pytest

pytest.importorskip("optuna")
distributed = pytest.importorskip("distributed")

from hwloop.search import load_space, run_search  # noqa: E402
from hwloop.sim.cli import main  # noqa: E402


def test_grid_on_a_local_cluster_visits_every_point_once(tmp_path, network):
    space_file = tmp_path / "space.toml"
    space_file.write_text("[params.rows]\nvalues = [2, 4, 8]\n[params.cols]\nvalues = [4, 8]\n"
                          "[params.dataflow]\nvalues = [\"os\", \"ws\"]\n")
    space = load_space(space_file)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        result = run_search(space, network, ["latency"], "grid", 12, workers=2,
                            out_dir=tmp_path / "out", dask=cluster.scheduler_address)
    points = {(r["rows"], r["cols"], r["dataflow"]) for r in result.trials}
    assert len(result.trials) == 12 and len(points) == 12
    assert result.simulations == 12  # summed over the cluster's tasks: each point once
    with open(tmp_path / "out" / "trials.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 12


def test_unreachable_scheduler_is_one_line(tmp_path, topology, capsys):
    space_file = tmp_path / "space.toml"
    space_file.write_text("[params.rows]\nvalues = [2, 4]\n")
    assert main(["search", "--space", str(space_file), "--topology", str(topology),
                 "--objectives", "latency", "--sampler", "grid", "--trials", "2",
                 "--dask", "tcp://127.0.0.1:1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--dask" in err and len(err.splitlines()) == 1


def test_a_user_family_and_objective_run_on_the_cluster_once_per_network(tmp_path,
                                                                          monkeypatch):
    import shutil

    from .test_plugin_contract import SPACE, TOY

    shutil.copy(TOY, tmp_path / "toy_family.py")  # found by the workers through the
    (tmp_path / "space.toml").write_text(SPACE)   # space file's folder, not sys.path
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("TOY_CALLS", str(calls))
    space = load_space(tmp_path / "space.toml")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        result = run_search(space, None, ["latency", "score"], "grid", 12, workers=2,
                            out_dir=tmp_path / "out", dask=cluster.scheduler_address)
    assert len({(r["hidden"], r["depth"], r["rows"]) for r in result.trials}) == 12
    assert len(calls.read_text().splitlines()) == 6  # one per network, over both tasks
