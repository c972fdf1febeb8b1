"""Contract violations the long fuzz run (``tests/test_fuzz_cli.py``) found, each pinned."""
from __future__ import annotations

from pathlib import Path

import pytest

from hwloop.sim.cli import main

TINY = Path(__file__).resolve().parents[1] / "data" / "topologies" / "tiny.csv"


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse usage errors
        status = int(exc.code or 0)
    return status, capsys.readouterr().err


def test_a_name_too_long_for_the_file_system_is_one_line(tmp_path, capsys):
    target = tmp_path / ("x" * 300 + ".csv")
    status, err = _run(["simulate", "--topology", str(TINY), "--csv", str(target)], capsys)
    assert status == 2 and err.count("\n") == 1 and "--csv" in err


def test_an_error_from_a_config_file_points_at_its_line_not_at_an_unset_flag(tmp_path, capsys):
    config = tmp_path / "hw.toml"
    config.write_text('preset = "google_tpu_v1"\n[dram]\nmodel = "ddr4-3200"\n[array]\n'
                      'rows = 5\ncols = 4\ndataflow = "ws"\n[sram]\naccumulate_psums = true\n')
    status, err = _run(["simulate", "--topology", str(TINY), "--config", str(config)], capsys)
    assert status == 2 and err.count("\n") == 1
    assert "--accumulate-psums" not in err and f"{config}:9" in err


def test_a_nul_in_a_model_path_is_one_line(capsys):
    pytest.importorskip("onnx")
    status, err = _run(["simulate", "--model", "a\x00b.onnx"], capsys)
    assert status == 2 and err.count("\n") == 1


@pytest.mark.parametrize("value", ["1_6", "\uff11\uff16", "\u0663"])
def test_integer_options_take_ascii_digits_only(value, capsys):
    status, err = _run(["simulate", "--topology", str(TINY), "--rows", value], capsys)
    assert status == 2 and err.count("\n") == 1 and "--rows" in err
