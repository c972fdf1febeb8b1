"""Every example in README.md runs as written in an empty folder and exits 0.

The shell commands of its ```sh blocks and the Python tour run in README order, in one
temporary folder, as a reader would type them (``bash -c``). Inputs the README presents as the
reader's own are made here: ``my.csv`` (``tests/data/topologies/tiny.csv``), ``scale.cfg`` (a
SCALE-Sim config), ``pred.csv``, ``space.toml`` (the README's own TOML block above the search
example), ``model.onnx`` (a small torch export), and the checkout's files an example names
(the ZigZag JSONs under ``tests/data``, a script under ``benchmarks/``), copied. A file an
earlier example writes (``run.h5``, ``csv/``) is made by running that example first if it has
not run.

CI runs the fast examples (about 40 s): the ``simulate`` runs, ``run.h5`` and its ``replay``,
the analog chips and their benchmark, ``validate`` with predictions and ZigZag JSONs, and two
stand-ins: the search example with 3 trials on 1 worker, and the ``trace`` examples on a
``run.h5`` recorded from ``my.csv`` with the README's flags. The others take from 3 s to over a
minute each (the whole ResNet-18 trace exports 1.8 GB in 70 s; its summary takes 20 s, the
200-trial search up to a minute; all of them about 4 minutes); run every example as written
with::

    HWLOOP_README_ALL=1 python -m pytest -q -p no:cacheprovider tests/test_readme_examples.py

A slow example skipped in CI still has its command line read by hwloop's parser. Never run:
``pip install`` (the command after it runs) and the test-suite command, which act on the
checkout itself (``.ci/run`` runs them).
"""
from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import warnings
from collections.abc import Callable
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DATA = ROOT / "tests" / "data"
ALL = os.environ.get("HWLOOP_README_ALL") == "1"
TOUR = "A short tour from Python"

#: Examples too slow for CI, by the start of their command, and why.
SLOW = {
    "hwloop simulate --dram ": "event-driven DRAM (simpy) on ResNet-18, about 7 s",
    "hwloop trace summary ": "the whole ResNet-18 trace, about 20 s",
    "hwloop trace plot ": "the whole ResNet-18 trace, 10 to 15 s",
    "hwloop trace export ": "the whole ResNet-18 trace: 1.8 GB in 126 files, 70 to 80 s",
    "hwloop trace import ": "1.8 GB of CSV back into HDF5, about 20 s",
    "hwloop search ": "200 trials of ResNet-18 on 4 workers, 25 to 55 s",
    "hwloop simulate --model ": "needs torch and onnx to make model.onnx, about 8 s",
    "hwloop validate --analytical ": "ResNet-18 at finite bandwidth, 3 to 6 s",
    "hwloop analog-accuracy ": "trains a network in torch, 6 to 15 s",
    TOUR: "ResNet-18 simulated, traced and replayed, 11 to 15 s",
}
#: Run in CI in place of a slow example: (how the command changes, the folder it runs in).
STAND_INS: dict[str, tuple[Callable[[str], str], str]] = {
    "hwloop search ": (lambda c: re.sub(r"--workers \d+", "--workers 1",
                                        re.sub(r"--trials \d+", "--trials 3", c)), "."),
    **{f"hwloop trace {action} ": (lambda c: c, "small")
       for action in ("summary", "plot", "export", "import")},
}
SETUP = re.compile(r"^python -m pip install \S+ && ")

SCALE_CFG = """\
[general]
run_name = my_array

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     32
IfmapSramSzkB:  64
FilterSramSzkB: 64
OfmapSramSzkB:  64
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Dataflow:       ws
"""


@dataclass(frozen=True)
class Example:
    text: str  # the command (continuation lines joined) or the Python block
    line: int  # where it starts in README.md
    python: bool = False

    @property
    def key(self) -> str:
        return TOUR if self.python else self.text


def _blocks(text: str) -> list[tuple[str, int, str]]:
    """``(language, first line, body)`` of every fenced block, with the heading above it."""
    found, lines, heading = [], text.splitlines(), ""
    i = 0
    while i < len(lines):
        if lines[i].startswith("#"):
            heading = lines[i].lstrip("# ")
        if lines[i].startswith("```") and len(lines[i]) > 3:
            end = lines.index("```", i + 1)
            found.append((lines[i][3:].strip(), i + 2, "\n".join(lines[i + 1:end]), heading))
            i = end
        i += 1
    return [(lang, line, body) for lang, line, body, head in found
            if lang != "python" or head == TOUR]


def _examples() -> list[Example]:
    examples = []
    for lang, first, body in _blocks(README.read_text(encoding="utf-8")):
        if lang == "python":
            examples.append(Example(body, first, python=True))
        elif lang == "sh":
            joined = re.sub(r"\\\n\s*", "", body)
            lines = body.splitlines()
            starts = [first + i for i, ln in enumerate(lines)
                      if ln.strip() and (i == 0 or not lines[i - 1].endswith("\\"))]
            commands = [c for c in joined.splitlines() if c.strip()]
            examples += [Example(c.strip(), n) for c, n in zip(commands, starts)]
    return examples


def _space_toml() -> str:
    return next(body for lang, _, body in _blocks(README.read_text(encoding="utf-8"))
                if lang == "toml" and "[params." in body)


def _predictions(folder: Path) -> None:
    from hwloop.traces import load_topology

    layers = load_topology(DATA / "topologies" / "tiny.csv").layers
    (folder / "pred.csv").write_text(
        "layer,cycles\n" + "".join(f"{layer.name},{1000 * (i + 1)}\n"
                                   for i, layer in enumerate(layers)))


def _onnx_model(folder: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                torch.nn.Linear(8, 10)).eval()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, and still works
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), str(folder / "model.onnx"),
                          dynamo=False)


def _copy_from_checkout(relative: str) -> Callable[[Path], None]:
    """Copy a file or folder of this checkout that an example names to the same place."""
    def copy(folder: Path) -> None:
        source, target = ROOT / relative, folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
            (target.parent / "results").mkdir(exist_ok=True)  # where a benchmark writes

    return copy


#: The reader's own inputs, by the name an example gives them, and how to make them.
INPUTS: dict[str, Callable[[Path], None]] = {
    "my.csv": lambda f: shutil.copy(DATA / "topologies" / "tiny.csv", f / "my.csv"),
    "scale.cfg": lambda f: (f / "scale.cfg").write_text(SCALE_CFG),
    "pred.csv": _predictions,
    "space.toml": lambda f: (f / "space.toml").write_text(_space_toml()),
    "model.onnx": _onnx_model,
    "tests/data/zigzag/latency/*.json": _copy_from_checkout("tests/data/zigzag/latency"),
    "benchmarks/analog_vs_systolic.py": _copy_from_checkout("benchmarks/analog_vs_systolic.py"),
}
#: Files earlier examples write, and how to tell the example that writes each.
PRODUCTS: dict[str, Callable[[str], bool]] = {
    "run.h5": lambda command: "--trace run.h5" in command,
    "csv/": lambda command: command.startswith("hwloop trace export run.h5 csv/"),
}
EXAMPLES = _examples()


def _plan(example: Example) -> tuple[str | None, str, str | None]:
    """``(command to run, folder, why it is skipped)`` for ``example``."""
    command = None if example.python else SETUP.sub("", example.text)
    if command is not None and ("pip install" in command or "pytest" in command):
        return None, ".", "acts on the checkout itself (pip, the test suite): .ci/run runs it"
    slow = next((why for start, why in SLOW.items() if example.key.startswith(start)), None)
    if slow is None or ALL:
        return command, ".", None
    stand_in = next((v for start, v in STAND_INS.items() if example.text.startswith(start)),
                    None)
    if stand_in is None:
        return None, ".", f"slow ({slow}; its command line parses); HWLOOP_README_ALL=1 runs it"
    change, folder = stand_in
    return change(command or ""), folder, None


def _parses(command: str) -> None:
    """An ``hwloop`` example skipped here still has its command line read by hwloop's own
    parser, so that a wrong option or a synopsis in brackets fails in CI too."""
    from hwloop.sim.cli import build_parser

    words = shlex.split(command, comments=True)
    if words[0] != "hwloop":
        return
    with redirect_stderr(io.StringIO()) as err:
        try:
            build_parser().parse_args(words[1:])
        except SystemExit as exc:
            if exc.code:
                pytest.fail(f"hwloop cannot read {command!r}: {err.getvalue().strip()}")


def _run(command: str, folder: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True,
                          timeout=timeout)


def _prepare(command: str, folder: Path) -> None:
    """Make the inputs ``command`` names and the files earlier examples would have written."""
    words = shlex.split(command, comments=True)
    for name, make in INPUTS.items():
        if name in words and not (folder / name.split("*")[0]).exists():
            make(folder)
    for name, writes in PRODUCTS.items():
        if name in words and not writes(command) and not (folder / name).exists():
            producer = next(e.text for e in EXAMPLES if writes(e.text))
            if folder.name == "small":  # the stand-ins' trace: the README's flags, my.csv
                producer = producer.replace("hwloop simulate", "hwloop simulate --topology "
                                            "my.csv", 1)
            _prepare(producer, folder)
            done = _run(producer, folder, 600)
            assert done.returncode == 0, f"{producer}\n{done.stderr[-2000:]}"


@pytest.fixture(scope="module")
def reader_folder(tmp_path_factory) -> Path:
    """The reader's empty folder, shared by the examples in README order."""
    folder = tmp_path_factory.mktemp("reader")
    (folder / "small").mkdir()
    return folder


def test_the_readme_has_the_examples_this_file_knows():
    assert len(EXAMPLES) > 20 and sum(e.python for e in EXAMPLES) == 1
    starts = {start for start in SLOW if start != TOUR}
    assert all(any(e.text.startswith(start) for e in EXAMPLES) for start in starts), starts
    assert "[params.rows]" in _space_toml()


@pytest.mark.parametrize("example", EXAMPLES,
                         ids=[f"README:{e.line}:{e.key[:60]}" for e in EXAMPLES])
def test_readme_example_runs_in_an_empty_folder(example, reader_folder):
    command, where, skipped = _plan(example)
    if skipped:
        if command is None and not example.python:
            _parses(SETUP.sub("", example.text))
        pytest.skip(skipped)
    folder = reader_folder / where
    if example.python:
        (folder / "tour.py").write_text(example.text)
        command = "python tour.py"
    assert command is not None
    _prepare(command, folder)
    done = _run(command, folder, 900)
    assert done.returncode == 0, (f"README.md:{example.line}: {command}\nstdout:\n"
                                  f"{done.stdout[-2000:]}\nstderr:\n{done.stderr[-3000:]}")
    if command.startswith("hwloop trace export"):
        assert done.stderr.startswith("hwloop: writing about "), done.stderr
    if command.startswith("hwloop search"):
        assert "Pareto front: " in done.stdout and "latency (cycles)" in done.stdout
