"""``cores`` and ``partition`` as search parameters: area and PEs count every core."""
from __future__ import annotations

import pytest

pytest.importorskip("optuna")

from hwloop.search import load_space, run_search  # noqa: E402
from hwloop.sim import simulate  # noqa: E402
from hwloop.traces import builtin_network  # noqa: E402


def test_cores_and_partition_points_equal_direct_runs(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text('[params.cores]\nvalues = [1, 4]\n[params.partition]\n'
                    'values = ["m", "k"]\n[params.rows]\nvalues = [16]\n')
    space = load_space(path)
    network = builtin_network("mlp")
    result = run_search(space, network, ["latency", "area"], "grid", 4, out_dir=tmp_path / "o")
    for row in result.trials:
        accel = space.base_accelerator().with_overrides(rows=16, cores=row["cores"],
                                                        partition=row["partition"])
        assert row["latency"] == simulate(network, accel).totals["total_cycles"]
    areas = {row["cores"]: row["area"] for row in result.trials}
    assert areas[4] > 3 * areas[1]


def test_max_pes_counts_every_core():
    from hwloop.arch import get_preset
    from hwloop.search import Constraints

    chip = get_preset("scalesim_default").with_overrides(cores=4)  # 4 x 32 x 32
    assert Constraints(max_pes=1024).static_violations(chip) == {"max_pes": 3 * 1024}
