"""Bad input to ``hwloop simulate``: exit status 2, one located stderr line, nothing written.

Every file in ``tests/data/bad/`` runs through the CLI's ``main`` in-process; a handful run
as real subprocesses to prove the exit status and the absence of tracebacks end to end.
Where each error must point (line, field) is listed in ``tests/data/bad/EXPECTED.toml``.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from hwloop.arch import load_config
from hwloop.sim.cli import main
from hwloop.traces import InputError, load_topology

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"
TINY = DATA / "topologies" / "tiny.csv"
EXPECTED: dict[str, dict] = tomllib.loads((BAD / "EXPECTED.toml").read_text())
CORPUS = sorted(p.name for p in BAD.iterdir() if p.name != "EXPECTED.toml"
                and p.suffix in (".csv", ".cfg", ".toml"))
#: Files whose error only the simulation finds (the file itself parses).
SIMULATION_ERRORS = {"cfg_buffer_too_small.cfg", "toml_buffer_too_small.toml"}
#: A representative few that also run as real processes.
SUBPROCESS_CASES = ["topo_binary_junk.csv", "cfg_binary_junk.cfg", "cfg_buffer_too_small.cfg",
                    "topo_gemm_non_numeric_k.csv", "toml_malformed_syntax.toml"]


def _workload_args(name: str) -> list[str]:
    path = str(BAD / name)
    if name.endswith(".csv"):
        return ["--topology", path]  # on the default preset
    return ["--config", path, "--topology", str(TINY)]


def _output_args(out: Path) -> list[str]:
    return ["--json", str(out / "out.json"), "--csv", str(out / "out.csv"),
            "--plot", str(out / "out.png")]


def _run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse usage errors exit from inside main
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def _run_process(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "hwloop.sim.cli", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def _check_one_error_line(status: int, out: str, err: str) -> str:
    assert status == 2, err
    assert "Traceback" not in err and "Traceback" not in out
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip(), err
    assert lines[0].startswith("hwloop")
    assert "error:" in lines[0]
    return lines[0]


def _check_located(line: str, name: str) -> None:
    expected = EXPECTED[name]
    assert name in line
    if "line" in expected:
        assert f"{name}:{expected['line']}:" in line, line
    if "field" in expected:  # a TOML field may carry its table: 'sram.ifmap_kb'
        assert re.search(rf"field '(\w+\.)?{re.escape(expected['field'])}'", line), line
    if "says" in expected:
        assert expected["says"].lower() in line.lower(), line


# ---------------------------------------------------------------- the corpus itself


def test_corpus_is_complete_and_listed():
    assert len(CORPUS) >= 20
    assert sorted(EXPECTED) == CORPUS
    assert {p.rsplit(".", 1)[1] for p in CORPUS} == {"csv", "cfg", "toml"}
    assert (BAD / "topo_empty.csv").stat().st_size == 0
    for junk in ("topo_binary_junk.csv", "cfg_binary_junk.cfg"):
        assert b"\x00" in (BAD / junk).read_bytes()
    cfg = (BAD / "cfg_buffer_too_small.cfg").read_text()
    assert re.search(r"ArrayHeight:\s*600\b", cfg) and re.search(r"IfmapSramSzkB:\s*1\b", cfg)


@pytest.mark.parametrize("name", sorted(set(CORPUS) - SIMULATION_ERRORS))
def test_loader_error_is_located(name):
    """The library raises InputError carrying the same line and field the CLI prints."""
    path = BAD / name
    with pytest.raises(InputError) as info:
        load_topology(path) if name.endswith(".csv") else load_config(path)
    error, expected = info.value, EXPECTED[name]
    assert error.source is not None and Path(error.source).name == name
    assert error.line == expected.get("line")
    if "field" in expected:
        assert error.field is not None and error.field.split(".")[-1] == expected["field"]
    else:
        assert error.field is None


# ---------------------------------------------------------------- every file, in-process


@pytest.mark.parametrize("name", CORPUS)
def test_bad_file_in_process(name, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    status, stdout, stderr = _run_main(["simulate", *_workload_args(name), *_output_args(out)],
                                       capsys)
    line = _check_one_error_line(status, stdout, stderr)
    _check_located(line, name)
    assert list(out.iterdir()) == []  # no report, no temporary file


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_bad_file_subprocess(name, tmp_path):
    status, stdout, stderr = _run_process(["simulate", *_workload_args(name),
                                           *_output_args(tmp_path)], cwd=tmp_path)
    line = _check_one_error_line(status, stdout, stderr)
    _check_located(line, name)
    assert list(tmp_path.iterdir()) == []


def test_buffer_too_small_hides_warnings(tmp_path, capsys):
    """The .cfg's ignored-key warning is not printed when the run then fails."""
    assert "IfmapOffset" in (BAD / "cfg_buffer_too_small.cfg").read_text()
    status, stdout, stderr = _run_main(["simulate", *_workload_args("cfg_buffer_too_small.cfg")],
                                       capsys)
    assert "warning" not in _check_one_error_line(status, stdout, stderr)


# ---------------------------------------------------------------- bad options

BAD_OPTIONS = [  # (arguments, what the one line must name)
    (["--rows", "0"], "--rows"),
    (["--cols", "-1"], "--cols"),
    (["--dataflow", "xy"], "--dataflow"),
    (["--ifmap-kb", "-5"], "--ifmap-kb"),
    (["--filter-kb", "many"], "--filter-kb"),
    (["--topology", "missing.csv"], "missing.csv"),
    (["--config", "missing.toml", "--topology", str(TINY)], "missing.toml"),
    (["--config", str(TINY), "--topology", str(TINY)], "tiny.csv"),  # not a config format
    (["--network", "nosuch"], "--network"),
    (["--preset", "nosuch", "--topology", str(TINY)], "--preset"),
    (["--network", "alexnet", "--topology", str(TINY)], "--network"),
    (["--json", "/nonexistent/dir/x.json", "--topology", str(TINY)], "--json"),
    (["--plot", "/nonexistent/dir/x.png", "--topology", str(TINY)], "--plot"),
    (["--rows", "600", "--ifmap-kb", "1", "--topology", str(TINY)], "--ifmap-kb"),
    (["--cols", "600", "--filter-kb", "1", "--topology", str(TINY)], "--filter-kb"),
]


@pytest.mark.parametrize("argv, names", BAD_OPTIONS, ids=[" ".join(a[:2]) for a, _ in BAD_OPTIONS])
def test_bad_option_in_process(argv, names, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, stdout, stderr = _run_main(["simulate", *argv], capsys)
    line = _check_one_error_line(status, stdout, stderr)
    assert names in line
    assert len(line) < 300
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, names", [(["--cols", "-1"], "--cols"),
                                         (["--network", "nosuch"], "--network")])
def test_bad_option_subprocess(argv, names, tmp_path):
    status, stdout, stderr = _run_process(["simulate", *argv], cwd=tmp_path)
    assert names in _check_one_error_line(status, stdout, stderr)
