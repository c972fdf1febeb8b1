"""Strategies: the constrained GP runs and is reproducible; TPE does not repeat points.

How often GP and TPE find an enumerable space's optimum within 15% of its points is measured
by ``benchmarks/bench_search.py`` (too slow and too seed-sensitive for a unit test)."""
from __future__ import annotations

import optuna
import pytest

from hwloop.search import Oracle, get_strategy, load_space, run_search


def _gp_or_skip() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("scipy")


def _exhaustive(space, network, path, objective="latency"):
    oracle = Oracle(network, space.base_accelerator(), path)
    values = []
    for point in space.grid():
        accel = space.base_accelerator().with_overrides(**point)
        if not any(v > 0 for v in space.constraints.static_violations(accel).values()):
            values.append(oracle.evaluate(point)[objective])
    return min(values)


def test_gp_respects_constraints_and_finds_the_optimum(space_file, network, tmp_path):
    _gp_or_skip()
    space = load_space(space_file)
    truth = _exhaustive(space, network, tmp_path / "truth.db")
    result = run_search(space, network, ["latency"], "gp", 16, seed=0, out_dir=tmp_path / "gp")
    assert len(result.trials) == 16
    assert result.best["latency"] == truth
    assert result.best["rows"] * result.best["cols"] <= 64
    study = optuna.load_study(study_name="hwloop-search", storage=result.storage)
    for trial in study.trials:  # every violation reached the sampler
        assert (max(trial.constraints.values()) > 0) == (
            trial.params["rows"] * trial.params["cols"] > 64)


def test_gp_same_seed_same_search(space_file, network, tmp_path):
    _gp_or_skip()
    space = load_space(space_file)
    runs = [run_search(space, network, ["latency"], "gp", 10, seed=4, out_dir=tmp_path / f"r{i}")
            for i in range(2)]
    assert [tuple(r[n] for n in space.names) for r in runs[0].trials] == \
        [tuple(r[n] for n in space.names) for r in runs[1].trials]


def test_gp_check_names_what_is_missing(monkeypatch):
    from hwloop.search import _strategies
    from hwloop.traces import InputError

    monkeypatch.setattr(_strategies, "_importable", lambda module: module != "torch")
    with pytest.raises(InputError, match="torch"):
        get_strategy("gp").check(None, 1)


def test_tpe_repeats_fewer_points_than_plain_tpe(space_file, network, tmp_path, monkeypatch):
    from hwloop.search import _strategies

    space = load_space(space_file)

    def unique(out):
        result = run_search(space, network, ["latency"], "tpe", 40, seed=0, out_dir=out)
        return len({tuple(r[n] for n in space.names) for r in result.trials})

    fresh = unique(tmp_path / "fresh")
    monkeypatch.setattr(_strategies.TPEStrategy, "sampler", lambda self, sp, seed, n, cf:
                        optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                                   n_startup_trials=self.n_startup_trials))
    assert fresh > unique(tmp_path / "plain")


def test_tpe_gets_the_tuned_prior_and_candidates(space_file):
    from hwloop.search._strategies import TPEStrategy, constraints_of

    sampler = get_strategy("tpe").sampler(load_space(space_file), 0, 1, constraints_of)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._parzen_estimator_parameters.prior_weight == TPEStrategy.prior_weight
    assert sampler._parzen_estimator_parameters.multivariate
    assert sampler._n_ei_candidates == TPEStrategy.n_ei_candidates
    assert sampler._n_startup_trials == TPEStrategy.n_startup_trials


def test_tpe_same_seed_same_search_within_the_constraints(space_file, network, tmp_path):
    space = load_space(space_file)
    runs = [run_search(space, network, ["latency"], "tpe", 30, seed=3,
                       out_dir=tmp_path / f"r{i}") for i in range(2)]
    assert [tuple(r[n] for n in space.names) for r in runs[0].trials] == \
        [tuple(r[n] for n in space.names) for r in runs[1].trials]
    assert runs[0].best["rows"] * runs[0].best["cols"] <= 64
