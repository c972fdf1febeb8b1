"""Fuzz ``hwloop simulate`` with generated files and command lines: the bad-input contract.

Hypothesis writes topology CSVs, hwloop TOML configs, SCALE-Sim ``.cfg`` files and command
lines from the real vocabulary (column, key, section and option names, preset and DRAM names)
mixed with junk: random field counts, unicode, ``1_6`` and full-width digits, huge numbers,
nan/inf, empty files and binary data. Each input runs through ``main`` in-process, in a fresh
temporary directory, with ``--json``/``--csv`` output paths. The contract: exit 0 with a valid
report (the JSON parses, without NaN, and has totals; every asked-for file is written), or
exit 2 with exactly one ``hwloop ... error:`` line on stderr, nothing on stdout and no file
created or touched. A traceback or any other exit status fails.

A refusal of a generated file must also name it and a line (``FILE:LINE:``).

CI runs 60 examples per strategy, derandomised (about 15 s). The long run draws fresh
examples, keeps going past a violation and lists every distinct one at the end::

    HWLOOP_FUZZ_EXAMPLES=1250 python -m pytest -q -p no:cacheprovider tests/test_fuzz_cli.py

(1250 examples per strategy, 5,000 inputs, about 5 minutes). ``HWLOOP_FUZZ_LOG=FILE`` also
writes the counts and violations there. The number of inputs tried is printed after the run.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import sys
import tempfile
import traceback
import warnings
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwloop.sim.cli import main
from hwloop.sim.cli._main import build_parser

_spec = importlib.util.spec_from_file_location(  # tests/ is no package (importlib mode)
    "hwloop_tests_fuzz_inputs", Path(__file__).resolve().parent / "fuzz_inputs.py")
assert _spec is not None and _spec.loader is not None
inputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(inputs)

TINY = Path(__file__).resolve().parent / "data" / "topologies" / "tiny.csv"
LONG_EXAMPLES = os.environ.get("HWLOOP_FUZZ_EXAMPLES")
COLLECT = LONG_EXAMPLES is not None  # the long run lists every violation instead of stopping
settings.register_profile(
    "hwloop-fuzz-ci", max_examples=60, deadline=None, database=None, derandomize=True,
    print_blob=True, suppress_health_check=list(HealthCheck))
settings.register_profile("hwloop-fuzz-long", parent=settings.get_profile("hwloop-fuzz-ci"),
                          max_examples=int(LONG_EXAMPLES or 60), derandomize=False)
FUZZ = settings(settings.get_profile("hwloop-fuzz-long" if COLLECT else "hwloop-fuzz-ci"))

TRIED: Counter[str] = Counter()  # inputs run, per strategy and outcome
VIOLATIONS: dict[str, list[str]] = {}  # distinct violation -> its first few inputs


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    """Print how many inputs the fuzz tried (and, in the long run, every violation)."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    kinds = sorted({key.split(":")[0] for key in TRIED})
    lines = [f"fuzz: tried {sum(TRIED[k] for k in kinds)} inputs, found "
             f"{len(VIOLATIONS)} distinct contract violation(s)"]
    lines += [f"fuzz: {k}: {TRIED[k]} inputs ({TRIED[k + ':0']} ran, {TRIED[k + ':2']} refused)"
              for k in kinds]
    for signature, examples in VIOLATIONS.items():
        lines += [f"VIOLATION {signature}", *examples]
    if os.environ.get("HWLOOP_FUZZ_LOG"):
        Path(os.environ["HWLOOP_FUZZ_LOG"]).write_text("\n".join(lines) + "\n")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in lines:
                reporter.write_line(line)


# ---------------------------------------------------------------- running one input


def _run_main(argv: list[str], workdir: Path) -> tuple[object, str, str]:
    """(exit status, stdout, stderr) of ``hwloop ARGV`` run in ``workdir``; Python warnings
    print to stderr as they would outside pytest."""
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(workdir)
    try:
        with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("always")
            for quiet in (DeprecationWarning, PendingDeprecationWarning, ImportWarning,
                          ResourceWarning):
                warnings.simplefilter("ignore", quiet)
            warnings.showwarning = _show_warning
            try:
                status: object = main(argv)
            except SystemExit as exc:  # argparse exits from inside main
                status = exc.code
    finally:
        os.chdir(here)
    return status, out.getvalue(), err.getvalue()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file (size, mtime) and folder under ``root``."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file()
            else (-1, 0) for p in root.rglob("*")}


def _asked_outputs(argv: list[str]) -> dict[str, str]:
    """The output files this command line asks for (as the real parser reads it)."""
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            args = build_parser().parse_args(argv)
    except SystemExit:
        return {}
    outputs = ("json", "csv", "plot") if args.command == "replay" else \
        ("json", "csv", "plot", "trace")  # replay's TRACE.h5 is its input
    return {option: getattr(args, option) for option in outputs if getattr(args, option, None)}


def _refusal_problem(out: str, err: str, before: dict, after: dict,
                     located: str | None) -> str | None:
    # Lines end at "\n" (str.splitlines would also break at e.g. \x1d, which a terminal
    # shows on the same line).
    if err.count("\n") != 1 or not err.endswith("\n") or \
            not re.match(r"hwloop\b.*error: \S", err):
        return f"exit 2 but stderr is not one error line: {err[:600]!r}"
    if out:
        return f"exit 2 but stdout is not empty: {out[:300]!r}"
    if located and not re.search(rf"{re.escape(located)}:\d+: ", err):
        return f"exit 2 but the error does not name {located}:LINE: {err[:300]!r}"
    if after != before:
        changed = sorted(set(after.items()) ^ set(before.items()))
        return f"exit 2 but files were created or touched: {changed}"
    return None


def _report_problem(argv: list[str], workdir: Path, err: str, before: dict,
                    after: dict) -> str | None:
    if "Traceback" in err:
        return f"exit 0 with a traceback on stderr: {err[-600:]!r}"
    asked = _asked_outputs(argv)
    for option, path in asked.items():
        if not (workdir / path).is_file():
            return f"exit 0 but --{option} {path!r} was not written"
    if "json" in asked:
        text = (workdir / asked["json"]).read_text()
        try:
            data = json.loads(text, parse_constant=_no_constant)
        except ValueError as exc:
            return f"exit 0 but the JSON report is not valid JSON: {exc}"
        totals = data.get("totals") or data.get("expected") if isinstance(data, dict) else None
        if not isinstance(totals, dict) or not totals:
            return f"exit 0 but the JSON report has no totals: {text[:200]!r}"
    written = {str(Path(p)) for p in asked.values()}
    stray = sorted(set(after) - set(before) - written)
    return f"exit 0 but stray files were left: {stray}" if stray else None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} in a report")


def _check(kind: str, files: dict[str, bytes], argv: list[str], old_json: bool,
           located: str | None = None) -> None:
    """Run one input and hold it to the contract (see the module docstring); a refusal of
    the ``located`` file must name it and a line."""
    with tempfile.TemporaryDirectory(prefix="hwloop-fuzz-") as tmp:
        workdir = Path(tmp)
        (workdir / "tiny.csv").write_bytes(TINY.read_bytes())
        for name, content in files.items():
            (workdir / name).write_bytes(content)
        if old_json:  # an existing report must survive a refused run untouched
            (workdir / "out.json").write_text('{"old": true}\n')
        before = _snapshot(workdir)
        try:
            status, out, err = _run_main(argv, workdir)
        except Exception:  # noqa: BLE001 - any escaping exception is the violation
            problem = "traceback:\n" + traceback.format_exc(limit=-6)
            status, out, err = "exception", "", ""
        else:
            after = _snapshot(workdir)
            problem = (_refusal_problem(out, err, before, after, located) if status == 2
                       else _report_problem(argv, workdir, err, before, after) if status == 0
                       else f"exit status {status!r}: {err[-600:]!r}")
        TRIED[kind] += 1
        TRIED[f"{kind}:{status}"] += 1
        if problem is not None:
            _violation(kind, problem, files, argv)


def _violation(kind: str, problem: str, files: dict[str, bytes], argv: list[str]) -> None:
    example = f"  argv={argv!r}\n" + "".join(
        f"  {name}={content[:400]!r}\n" for name, content in files.items()) + \
        "  " + problem.replace("\n", "\n  ")
    if not COLLECT:
        raise AssertionError(example)
    last = problem.strip().splitlines()[-1] if problem.startswith("traceback") else problem
    signature = f"[{kind}] " + re.sub(r"\d+|'[^']*'", "#", last)[:160]
    examples = VIOLATIONS.setdefault(signature, [])
    if len(examples) < 3:
        examples.append(example)


OUTPUTS = ["--json", "out.json", "--csv", "out.csv"]


# ---------------------------------------------------------------- the four strategies


@FUZZ
@given(content=inputs.topology_files(), quiet=st.booleans(), old_json=st.booleans())
def _fuzz_topology(content: bytes, quiet: bool, old_json: bool) -> None:
    argv = ["simulate", "--topology", "topo.csv", *OUTPUTS, *(["-q"] if quiet else [])]
    _check("topology", {"topo.csv": content}, argv, old_json, located="topo.csv")


@FUZZ
@given(content=inputs.toml_files(), old_json=st.booleans())
def _fuzz_toml(content: bytes, old_json: bool) -> None:
    argv = ["simulate", "--config", "hw.toml", "--topology", "tiny.csv", *OUTPUTS, "-q"]
    _check("toml", {"hw.toml": content}, argv, old_json, located="hw.toml")


@FUZZ
@given(content=inputs.cfg_files(), old_json=st.booleans())
def _fuzz_cfg(content: bytes, old_json: bool) -> None:
    argv = ["simulate", "--config", "hw.cfg", "--topology", "tiny.csv", *OUTPUTS, "-q"]
    _check("cfg", {"hw.cfg": content}, argv, old_json, located="hw.cfg")


@FUZZ
@given(line=inputs.option_lines(build_parser()), old_json=st.booleans())
def _fuzz_options(line: tuple[list[str], dict[str, bytes]], old_json: bool) -> None:
    argv, files = line
    _check("options", files, argv, old_json)


@pytest.mark.parametrize("fuzz", [_fuzz_topology, _fuzz_toml, _fuzz_cfg, _fuzz_options],
                         ids=["topology", "toml", "cfg", "options"])
def test_fuzz_cli_contract(fuzz):
    kind = fuzz.__name__.removeprefix("_fuzz_")
    fuzz()  # in CI: stops at the first violation and shrinks it
    assert TRIED[kind] > 0
    found = [signature for signature in VIOLATIONS if signature.startswith(f"[{kind}]")]
    assert not found, f"{len(found)} distinct violations, listed after the run"
