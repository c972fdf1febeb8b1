"""The Numba kernels against their pure-Python references with the JIT off.

With ``NUMBA_DISABLE_JIT=1`` every ``@njit`` kernel runs as the plain Python it is written
in, so a kernel must be right as Python too, not only once Numba has typed it (fixed-width
integers, literal constants, wrap-around), and a debugger, a profiler or a coverage tool
sees the same code the compiled runs do. This test runs a fast subset of the
kernel-vs-reference tests that way, in a subprocess (the JIT switch is read at import),
and checks that the subset calls every ``@njit`` function of every kernel module:

* ``_bitset_bits``, ``_bitset_span``, ``_bitset_folds``, ``_bitset_buffer``: the bitset
  ifmap walk against ``tests/naive_read_buffer.py`` (``test_kernels_small_walks``), and
  through ``simulate_systolic_layer`` against ``tests/naive.py`` (``test_kernels_vs_naive``);
* ``_distinct_stream``, ``_skew``, ``_write_buffer``: the closed-form filter and
  non-overlapping ifmap counts and SCALE-Sim's ofmap drain (``--scalesim-compat``), in
  ``test_kernels_vs_naive``'s fixed cases against ``tests/naive.py``;
* ``_demand``, ``_scalesim_user``: SCALE-Sim's demand rows and its USER-mode memory system
  against the literal port in ``test_scalesim_user``;
* ``_memory``: the streamed read and write walks (``test_memory_timing``'s events against
  the stall-free counts) and the DRAM pipe against ``tests/naive_memory.py``;
* ``_closed_events``: closed-form filter blocks and ofmap halves against the streamed walks
  (``test_fast_events``, ``test_kernels_small_walks``);
* ``_mapping_bounds``, ``_nest_events``: the mapper's bounds and an explicit mapping's tile
  events against their NumPy references (``test_mapping_kernel``);
* ``_event_pieces``, ``_periodic_pipe``, ``_periodic_units``, ``_periodic_absorb``: event
  streams as periodic pieces and the timing that skips repeating units, against the event path
  (``test_periodic_timing``'s fixed cases);
* ``_numba``: the settings every kernel module imports (nothing to call).

The whole of those files with the JIT off takes minutes (hundreds of random layers, each
walked word by word in Python); run it, from the repository root, as (about 4 minutes on two
cores)::

    NUMBA_DISABLE_JIT=1 python -m pytest -q -p no:cacheprovider \\
        -W "ignore:overflow encountered:RuntimeWarning" -k "not resnet18" \\
        tests/sim/test_bitset_buffer.py tests/sim/test_kernels_vs_naive.py \\
        tests/sim/test_kernels_small_walks.py tests/sim/test_scalesim_user.py \\
        tests/sim/test_fast_events.py tests/sim/test_memory_timing.py

Without ``-k "not resnet18"`` it also walks the ResNet-18 layers (12 more tests of 15 s to
2 minutes each). The ``-W`` filter: ``_popcount`` multiplies 64-bit words on purpose to wrap,
and as Python NumPy warns each time.
"""
from __future__ import annotations

import ast
import json
import os
import pathlib
import subprocess
import sys

import hwloop.sim.kernels

KERNELS = pathlib.Path(hwloop.sim.kernels.__file__).parent  # as the kernels' code names it
ROOT = pathlib.Path(__file__).resolve().parents[2]

#: The subset: small layers only, so that it runs in well under a minute as plain Python.
#: The first ones between them call every kernel (tracing stops there, see _DRIVER).
SUBSET = [
    "tests/sim/test_kernels_small_walks.py",
    "tests/sim/test_memory_timing.py::test_pipe_kernel_follows_the_written_rules",
    "tests/sim/test_scalesim_user.py::test_fixed_cases_match_naive[c3x3-4x4-os]",
    "tests/sim/test_kernels_vs_naive.py::test_fixed_cases_match_naive",
    "tests/sim/test_scalesim_user.py::test_fixed_cases_match_naive[c3x3-4x4-ws]",
    "tests/sim/test_scalesim_user.py::test_fixed_cases_match_naive[c3x3-4x4-is]",
    "tests/sim/test_memory_timing.py::test_events_move_the_stall_free_engines_words",
    "tests/sim/test_fast_events.py::test_random_layers",
    "tests/sim/test_periodic_timing.py::test_fixed_cases",
    "tests/sim/test_mapping_kernel.py::test_kernel_bounds_equal_the_reference[edp-bw3-c]",
    "tests/sim/test_mapping_kernel.py::test_kernel_events_equal_the_reference[kmn-g-ws m13 n9 k20 kmn]",
]

# Runs pytest with a trace hook that notes each kernel function called (its 'call' event
# only: returning None keeps line tracing off) and switches itself off once every expected
# kernel has been called, since tracing every Python call doubles the run; then writes the
# kernels it saw as JSON.
_DRIVER = """
import json, sys
import pytest
out, kernels, remaining = sys.argv[1], sys.argv[2], set(json.loads(sys.argv[3]))
called = set()
def note(frame, event, arg):
    if frame.f_code.co_filename.startswith(kernels):
        name = frame.f_code.co_filename[len(kernels):-3] + "." + frame.f_code.co_name
        called.add(name)
        remaining.discard(name)
        if not remaining:
            sys.settrace(None)
sys.settrace(note)
rc = pytest.main(sys.argv[4:])
sys.settrace(None)
with open(out, "w") as f:
    json.dump(sorted(called), f)
sys.exit(int(rc))
"""


def _kernel_functions() -> set[str]:
    """``module.function`` of every ``@njit`` function in the kernel package."""
    found = set()
    for path in sorted(KERNELS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and any(
                    getattr(d.func if isinstance(d, ast.Call) else d, "id", "").startswith("njit")
                    for d in node.decorator_list):
                found.add(f"{path.stem}.{node.name}")
    return found


def test_kernel_modules_are_listed_here() -> None:
    """A new kernel module (one with ``@njit`` code) must be added to the docstring above,
    with the tests of the subset that exercise it."""
    modules = {name.partition(".")[0] for name in _kernel_functions()}
    missing = [m for m in sorted(modules) if f"``{m}``" not in (__doc__ or "")]
    assert not missing, f"kernel modules not covered by the JIT-off subset: {missing}"


def test_kernels_match_references_with_the_jit_off(tmp_path: pathlib.Path) -> None:
    """The subset passes as plain Python and calls every ``@njit`` function."""
    called_json = tmp_path / "called.json"
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    expected = _kernel_functions()
    cmd = [sys.executable, "-c", _DRIVER, str(called_json), str(KERNELS) + os.sep,
           json.dumps(sorted(expected)), "-q", "-p", "no:cacheprovider",
           "-W", "ignore:overflow encountered:RuntimeWarning", *SUBSET]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (f"JIT-off subset failed:\n{done.stdout[-6000:]}\n"
                                  f"{done.stderr[-3000:]}")
    called = set(json.loads(called_json.read_text()))
    never = sorted(expected - called)
    assert not never, f"kernels the JIT-off subset never calls: {never}"
