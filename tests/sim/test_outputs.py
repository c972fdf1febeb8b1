"""Output files: bad paths fail in one line before anything runs, a run writes all of its files
or none, JSON is strict (no NaN), and file modes are those a plain ``open()`` gives."""
from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import replace
from importlib.util import find_spec
from pathlib import Path
from types import SimpleNamespace

import pytest

from hwloop.sim.cli import main
from hwloop.sim.report import OutputFiles, strict_json, write_atomic

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = str(DATA / "topologies" / "tiny.csv")


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def _strict(text: str):
    def refuse(token: str):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def _one_line_error(status: int, err: str, option: str) -> None:
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("hwloop: error:"), err
    assert option in err and "Traceback" not in err


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a bad output path is found only after simulating."""
    import hwloop.sim
    import hwloop.sim.engine as engine

    def forbidden(*args, **kwargs):
        raise AssertionError("simulated before checking the output paths")

    for module in (hwloop.sim, engine):  # hwloop.sim first: it looks names up in engine
        for name in ("simulate", "replay"):
            monkeypatch.setattr(module, name, forbidden, raising=False)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "run.h5"
    assert main(["simulate", "--topology", TINY, "--rows", "8", "--cols", "8",
                 "--bandwidth", "4", "--trace", str(path), "-q"]) == 0
    return path


# ------------------------------------------------------------ bad paths, before the run

def _bad_paths(tmp_path: Path) -> list[tuple[list[str], str]]:
    folder = tmp_path / "folder"
    folder.mkdir()
    return [(["--json", str(folder)], "--json"), (["--json", "."], "--json"),
            (["--csv", str(folder)], "--csv"), (["--plot", str(folder)], "--plot"),
            (["--plot", str(tmp_path / "o.txt")], "--plot"),
            (["--plot", str(tmp_path / "o")], "--plot"),
            (["--json", str(tmp_path / "missing" / "o.json")], "--json"),
            (["--json", str(tmp_path / "o.json"), "--csv", str(tmp_path / "o.json")], "--csv"),
            (["--json", str(tmp_path / "o.json"), "--csv", str(tmp_path / "o.csv"),
              "--plot", str(tmp_path / "o.txt")], "--plot")]


@pytest.mark.parametrize("case", range(9))
@pytest.mark.parametrize("command", ["simulate", "replay", "validate"])
def test_bad_output_path_is_one_line_before_the_run(command, case, tmp_path, capsys,
                                                    no_simulation, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, option = _bad_paths(tmp_path)[case]
    head = {"simulate": ["simulate", "--topology", TINY],
            "replay": ["replay", str(tmp_path / "absent.h5")],
            "validate": ["validate", "--analytical", "--topology", TINY]}[command]
    _one_line_error(*_run([*head, *argv], capsys)[::2], option)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


@pytest.mark.parametrize("target", [".", "folder"])
def test_trace_into_a_folder_is_refused(target, tmp_path, capsys, no_simulation, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    status, _, err = _run(["simulate", "--topology", TINY, "--trace", target], capsys)
    _one_line_error(status, err, "--trace")
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


@pytest.mark.parametrize("stream", ["/dev/stdout", "/dev/null", "/proc/self/fd/1", "link"])
def test_a_stream_is_not_replaced_by_a_file(stream, tmp_path, capsys, no_simulation):
    """Renaming a report onto /dev/stdout (or a link to it) would replace the stream."""
    link = tmp_path / "link"
    link.symlink_to("/dev/null")
    path = str(link) if stream == "link" else stream
    status, _, err = _run(["simulate", "--topology", TINY, "--json", path], capsys)
    _one_line_error(status, err, "--json")
    assert "stream or device" in err and link.is_symlink()
    with pytest.raises(ValueError, match="stream or device"):
        write_atomic(link, "text")


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm here")
def test_a_file_on_the_shared_memory_tmpfs_is_an_ordinary_file():
    """/dev/shm is a folder of ordinary files (benchmarks keep scratch studies there)."""
    import tempfile

    with tempfile.TemporaryDirectory(dir="/dev/shm") as folder:
        target = os.path.join(folder, "report.json")
        write_atomic(target, "text")
        assert open(target).read() == "text"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_folder_is_refused(tmp_path, capsys, no_simulation):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    status, _, err = _run(["simulate", "--topology", TINY, "--json", str(locked / "o.json")],
                          capsys)
    _one_line_error(status, err, "--json")
    assert "not writable" in err


@pytest.mark.parametrize("argv, option", [
    (["trace", "export", "{trace}", "{tmp}/afile"], "DIR"),
    (["trace", "export", "{trace}", "{tmp}/afile/sub"], "DIR"),
    (["trace", "plot", "{trace}", "{tmp}/bw.txt"], "OUT.png"),
    (["trace", "plot", "{trace}", "{tmp}"], "OUT.png"),
    (["trace", "summary", "{trace}", "--csv", "{tmp}"], "--csv"),
    (["trace", "import", "{tmp}", "{tmp}/afile/x.h5"], "TRACE.h5"),
])
def test_trace_subcommand_output_paths(argv, option, recorded, tmp_path, capsys):
    (tmp_path / "afile").write_text("keep\n")
    argv = [a.format(trace=recorded, tmp=tmp_path) for a in argv]
    _one_line_error(*_run(argv, capsys)[::2], option)
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]
    assert (tmp_path / "afile").read_text() == "keep\n"


def test_trace_export_creates_a_missing_folder(recorded, tmp_path, capsys):
    assert _run(["trace", "export", str(recorded), str(tmp_path / "a" / "b")], capsys)[0] == 0
    assert (tmp_path / "a" / "b" / "layer0").is_dir()


# ------------------------------------------------------------ all files or none

def _broken_plot(monkeypatch, error: BaseException) -> None:
    """Make rendering the plot (the last file) fail with ``error``."""
    from matplotlib.figure import Figure

    def savefig(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(Figure, "savefig", savefig)


@pytest.mark.parametrize("command", ["simulate", "replay", "validate"])
def test_a_failing_plot_leaves_no_file(command, recorded, tmp_path, capsys, monkeypatch):
    _broken_plot(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    (tmp_path / "o.csv").write_text("old\n")
    head = {"simulate": ["simulate", "--topology", TINY, "--trace", str(tmp_path / "t.h5")],
            "replay": ["replay", str(recorded)],
            "validate": ["validate", "--analytical", "--topology", TINY]}[command]
    outputs = ["--json", str(tmp_path / "o.json"), "--csv", str(tmp_path / "o.csv"),
               "--plot", str(tmp_path / "o.png"), "-q"]
    status, out, err = _run([*head, *outputs], capsys)
    _one_line_error(status, err, "--plot")
    assert "No space left" in err and out == ""
    assert [p.name for p in tmp_path.iterdir()] == ["o.csv"]
    assert (tmp_path / "o.csv").read_text() == "old\n"


def test_an_interrupt_while_writing_leaves_no_file(tmp_path, capsys, monkeypatch):
    from hwloop.sim import Report

    def interrupted(self, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(Report, "to_csv", interrupted)
    status, _, _ = _run(["simulate", "--topology", TINY, "--json", str(tmp_path / "o.json"),
                         "--csv", str(tmp_path / "o.csv"), "--trace", str(tmp_path / "t.h5")],
                        capsys)
    assert status == 130
    assert list(tmp_path.iterdir()) == []


def test_all_files_and_the_trace_appear_together(tmp_path, capsys):
    names = {"--json": "o.json", "--csv": "o.csv", "--plot": "o.svg", "--trace": "t.h5"}
    argv = [x for option, name in names.items() for x in (option, str(tmp_path / name))]
    status, out, err = _run(["simulate", "--topology", TINY, "-q", *argv], capsys)
    assert status == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names.values())
    assert (tmp_path / "o.svg").read_text().lstrip().startswith("<?xml")
    assert _run(["replay", str(tmp_path / "t.h5"), "-q"], capsys)[1] == out


def test_output_files_unit(tmp_path):
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    with pytest.raises(RuntimeError), OutputFiles() as files:
        files.add(kept, lambda tmp: tmp.write_text("new"))
        files.add(tmp_path / "new.txt", lambda tmp: tmp.write_text("new"))
        raise RuntimeError("a later step fails")
    assert kept.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["kept.txt"]
    with OutputFiles() as files:
        files.add(kept, lambda tmp: tmp.write_text("new"))
        reserved = files.reserve(tmp_path / "late.txt")
        reserved.write_text("late")
        files.commit()
    assert kept.read_text() == "new" and (tmp_path / "late.txt").read_text() == "late"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt", "late.txt"]


def test_write_atomic_writes_through_a_symlink(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


# ------------------------------------------------------------ strict JSON

@pytest.mark.parametrize("kind, empty", [("systolic", "tiling"), ("bitfusion", "tiles_used"),
                                         ("analog", "tiling")])
def test_simulate_json_is_strict(kind, empty, tmp_path, capsys):
    path = tmp_path / "r.json"
    status, _, err = _run(["simulate", "--topology", TINY, "-q", "--array-kind", kind,
                           "--json", str(path)], capsys)
    assert status == 0, err
    text = path.read_text()
    report = _strict(text)
    assert "NaN" not in text and report["layers"][0][empty] is None


def test_replay_and_validate_json_are_strict(recorded, tmp_path, capsys):
    replayed, validated = tmp_path / "r.json", tmp_path / "v.json"
    assert _run(["replay", str(recorded), "-q", "--json", str(replayed)], capsys)[0] == 0
    assert _run(["validate", "--analytical", "--topology", TINY, "-q",
                 "--json", str(validated)], capsys)[0] == 0
    assert _strict(replayed.read_text())["layers"][0]["tiles_used"] is None
    assert _strict(validated.read_text())["layers"]


def test_validation_json_writes_nan_as_null(tmp_path):
    from hwloop.sim.analytical import Prediction, compare

    validation = compare({"a": Prediction(10.0), "b": Prediction(30.0)},
                         {"a": Prediction(10.0), "b": Prediction(20.0)}, source="t")
    validation = replace(validation, mape=float("inf"), kendall_tau=float("nan"))
    validation.to_json(tmp_path / "v.json")
    data = _strict((tmp_path / "v.json").read_text())
    assert data["mape"] is None and data["kendall_tau"] is None


def test_precision_switch_json_is_strict(tmp_path, capsys):
    path = tmp_path / "p.json"
    status, _, err = _run(["simulate", "--topology", TINY, "--array-kind", "bitfusion",
                           "--precision-switch", "8:0.5,4:0.5", "--json", str(path)], capsys)
    assert status == 0, err
    assert set(_strict(path.read_text())) >= {"choices", "expected", "worst"}


def test_strict_json_keeps_finite_numbers():
    import numpy as np

    data = {"a": [1, 2.5, float("nan")], "b": (np.float64("inf"), np.int64(3)), "c": None}
    assert json.loads(strict_json(data)) == {"a": [1, 2.5, None], "b": [None, 3], "c": None}
    assert strict_json({"x": 0.1}) == json.dumps({"x": 0.1}, indent=1) + "\n"


_NEEDS_TORCH = pytest.mark.skipif(find_spec("torch") is None or find_spec("sklearn") is None,
                                  reason="analog-accuracy needs torch and scikit-learn")


def _fake_analog(monkeypatch) -> None:
    """Stand in for the training run: a result whose output error is NaN."""
    import hwloop.sim.noise as noise

    result = SimpleNamespace(digital_accuracy=0.9, accuracy_mean=[0.8],
                             to_dict=lambda: {"digital_accuracy": 0.9, "accuracy_mean": [0.8],
                                              "output_error_mean": [float("nan")]})
    monkeypatch.setattr(noise, "run_analog_accuracy", lambda *a, **k: result)


@_NEEDS_TORCH
def test_analog_accuracy_json_is_strict_and_atomic(tmp_path, capsys, monkeypatch):
    _fake_analog(monkeypatch)
    path = tmp_path / "a.json"
    status, _, err = _run(["analog-accuracy", "--times", "1", "--json", str(path)], capsys)
    assert status == 0, err
    assert _strict(path.read_text())["output_error_mean"] == [None]
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


@_NEEDS_TORCH
def test_analog_accuracy_writes_json_and_plot_or_neither(tmp_path, capsys, monkeypatch):
    from matplotlib.figure import Figure

    import hwloop.sim.noise as noise

    _fake_analog(monkeypatch)
    monkeypatch.setattr(noise, "plot_accuracy_over_time", lambda result: Figure())
    _broken_plot(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    status, _, err = _run(["analog-accuracy", "--times", "1", "--json", str(tmp_path / "a.json"),
                           "--plot", str(tmp_path / "a.png")], capsys)
    _one_line_error(status, err, "--plot")
    assert list(tmp_path.iterdir()) == []
    status, _, err = _run(["analog-accuracy", "--json", str(tmp_path / "a.json"),
                           "--plot", str(tmp_path / "a.txt")], capsys)
    _one_line_error(status, err, "--plot")


# ------------------------------------------------------------ file modes

@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_respect_the_umask(tmp_path, capsys, umask_027):
    names = {"--json": "o.json", "--csv": "o.csv", "--plot": "o.png", "--trace": "t.h5"}
    argv = [x for option, name in names.items() for x in (option, str(tmp_path / name))]
    assert _run(["simulate", "--topology", TINY, "-q", *argv], capsys)[0] == 0
    assert {name: _mode(tmp_path / name) for name in names.values()} == dict.fromkeys(
        names.values(), 0o640)


def test_new_files_under_the_usual_umask_are_0644(tmp_path, capsys):
    """Under 022, every output (JSON, CSV, PNG, HDF5) is 0644, as a plain open() makes it."""
    old = os.umask(0o022)
    try:
        names = {"--json": "o.json", "--csv": "o.csv", "--plot": "o.png", "--trace": "t.h5"}
        argv = [x for option, name in names.items() for x in (option, str(tmp_path / name))]
        assert _run(["simulate", "--topology", TINY, "-q", *argv], capsys)[0] == 0
    finally:
        os.umask(old)
    assert {name: _mode(tmp_path / name) for name in names.values()} == dict.fromkeys(
        names.values(), 0o644)


def test_existing_files_keep_their_mode(tmp_path, capsys, umask_027):
    path = tmp_path / "o.json"
    path.write_text("old")
    path.chmod(0o604)
    assert _run(["simulate", "--topology", TINY, "-q", "--json", str(path)], capsys)[0] == 0
    assert _mode(path) == 0o604 and _strict(path.read_text())["layers"]


def test_precision_switch_json_mode(tmp_path, capsys, umask_027):
    path = tmp_path / "p.json"
    assert _run(["simulate", "--topology", TINY, "--array-kind", "bitfusion",
                 "--precision-switch", "8:0.5,4:0.5", "--json", str(path)], capsys)[0] == 0
    assert _mode(path) == 0o640


@_NEEDS_TORCH
def test_analog_accuracy_json_mode(tmp_path, capsys, monkeypatch, umask_027):
    _fake_analog(monkeypatch)
    path = tmp_path / "a.json"
    assert _run(["analog-accuracy", "--times", "1", "--json", str(path)], capsys)[0] == 0
    assert _mode(path) == 0o640


@pytest.mark.parametrize("option", ["--csv", "--plot", "--trace"])
def test_precision_switch_refuses_outputs_it_cannot_write(option, tmp_path, capsys):
    """A precision switch is several runs: only its --json summary can be written; the other
    outputs are refused, not silently dropped."""
    suffix = {"--csv": "csv", "--plot": "png", "--trace": "h5"}[option]
    target = tmp_path / f"out.{suffix}"
    status = main(["simulate", "--network", "alexnet", "--precision-switch", "8:0.5,4:0.5",
                   option, str(target)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and option in err
    assert not target.exists()
