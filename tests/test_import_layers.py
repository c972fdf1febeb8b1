"""The one-way import rule: traces, arch -> sim -> search (and traces never imports arch).

Walks every module's AST, so a violation anywhere (even inside a function) fails.
"""
from __future__ import annotations

import ast
import pathlib
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
RANK = {"traces": 0, "arch": 1, "sim": 2, "search": 3}
#: Packages each package may import, beyond itself.
ALLOWED = {"traces": set(), "arch": {"traces"}, "sim": {"traces", "arch"},
           "search": {"traces", "arch", "sim"}}


def _imported_packages(path: pathlib.Path, package: str, root: pathlib.Path = ROOT):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports stay inside the package's own folder tree
                depth = len(path.parent.relative_to(root / package).parts)
                if node.level - 1 <= depth:
                    continue
                names = [f"hwloop.{node.module or ''}"]
            if node.module == "hwloop":
                names = [f"hwloop.{alias.name}" for alias in node.names]
            else:
                names = [node.module or ""]
        for name in names:
            parts = name.split(".")
            if parts[0] == "hwloop" and len(parts) > 1 and parts[1] in RANK:
                yield node.lineno, parts[1]
            elif parts[0] in RANK:
                yield node.lineno, parts[0]  # a bare `import sim` would also break the rule


@pytest.mark.parametrize("package", sorted(RANK))
def test_imports_run_one_way(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, target in _imported_packages(path, package):
            if target != package and target not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {package} imports {target}")
    assert not bad, "\n".join(bad)


def test_rule_catches_a_violation(tmp_path):
    """The checker itself must see a planted upward import, even inside a function."""
    (tmp_path / "sim").mkdir()
    bad = tmp_path / "sim" / "bad.py"
    bad.write_text("def f():\n    from hwloop.search import x\n    from ...search import y\n")
    assert list(_imported_packages(bad, "sim", tmp_path)) == [(2, "search"), (3, "search")]


# --- Inside the packages: sim's sub-package ranks, no import cycles, private names stay home ---
#
# Every import statement of every module counts, wherever it is written (module level, inside
# a function, under ``if TYPE_CHECKING:``), relative ones resolved against the module's own
# package. ``importlib.import_module("...")`` strings (sim/__init__.py, sim/noise/__init__.py)
# are not import statements and are not followed.

PACKAGES = ("traces", "arch", "sim", "search")
#: sim's sub-packages, lowest first: each may import only those of a lower rank (and itself).
SIM_RANK = {"kernels": 0, "report": 0, "noise": 0, "schedule": 1, "memory": 2, "arrays": 3,
            "tiling": 4, "vector": 4, "engine": 5, "analytical": 6, "cli": 7}


@dataclass(frozen=True, repr=False)
class Module:
    name: str          # hwloop.sim.memory._walks (a package by its own name: hwloop.sim.memory)
    file: str          # sim/memory/_walks.py, for messages
    source: str
    is_package: bool   # an __init__.py

    def __repr__(self) -> str:
        return f"<{self.file}>"


@dataclass(frozen=True)
class Import:
    file: str
    line: int
    target: str                # the module the statement names, absolute: hwloop.sim.memory
    names: tuple[str, ...]     # what ``from target import ...`` takes; () for ``import target``
    context: str = ""          # "in a function", "if TYPE_CHECKING" or "" (module level)

    @property
    def place(self) -> str:
        return f"{self.file}:{self.line}" + (f" ({self.context})" if self.context else "")


def _module(rel: str, source: str) -> Module:
    """The module at ``rel`` (a path from the repository root, e.g. ``sim/memory/_run.py``)."""
    parts = list(pathlib.PurePosixPath(rel).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return Module(".".join(["hwloop", *parts]), rel, source, is_package)


def _modules_from(files: dict[str, str]) -> dict[str, Module]:
    """Modules from ``{relative path: source}`` (the real tree, or a planted one)."""
    modules = [_module(rel, source) for rel, source in files.items()]
    return {m.name: m for m in modules}


def _package_files(root: pathlib.Path = ROOT) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
            for package in PACKAGES for path in sorted((root / package).rglob("*.py"))}


def _absolute(name: str) -> str:
    """``sim.memory`` (a bare top-level package name) as ``hwloop.sim.memory``."""
    return f"hwloop.{name}" if name.split(".")[0] in PACKAGES else name


def _imports(module: Module) -> list[Import]:
    """Every import statement in ``module``, with its target made absolute."""
    found: list[Import] = []

    def visit(node: ast.AST, context: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            context = "in a function"
        elif (isinstance(node, ast.If) and not context
              and "TYPE_CHECKING" in ast.unparse(node.test)):
            for child in node.body:
                visit(child, "if TYPE_CHECKING")
            for child in node.orelse:
                visit(child, context)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(module.file, node.lineno, _absolute(alias.name), (), context)
                         for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.name.split(".")
                if not module.is_package:
                    package.pop()
                up = node.level - 1
                base = package[:len(package) - up] if up < len(package) else ["<above hwloop>"]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = _absolute(node.module or "")
            found.append(Import(module.file, node.lineno, target,
                                tuple(alias.name for alias in node.names), context))
        for child in ast.iter_child_nodes(node):
            visit(child, context)

    visit(ast.parse(module.source, module.file), "")
    return sorted(found, key=lambda imp: imp.line)


def _loads(imp: Import, modules: dict[str, Module]) -> list[str]:
    """The package modules ``imp`` loads: ``from pkg import sub`` loads the submodule
    ``pkg.sub``; ``from pkg import name`` (not a submodule) loads ``pkg``'s __init__."""
    if not imp.names:
        return [imp.target] if imp.target in modules else []
    submodules = [f"{imp.target}.{n}" for n in imp.names if f"{imp.target}.{n}" in modules]
    if len(submodules) < len(imp.names) and imp.target in modules:
        submodules.append(imp.target)
    return submodules


def _sim_part(name: str) -> str | None:
    """The sim sub-package of module ``name``; "" for ``hwloop.sim`` itself; None outside sim."""
    parts = name.split(".")
    if parts[:2] != ["hwloop", "sim"]:
        return None
    return parts[2] if len(parts) > 2 else ""


def _sim_exports(modules: dict[str, Module]) -> dict[str, str]:
    """sim/__init__.py's lazy ``_EXPORTS``: public name -> its sub-package."""
    top = modules.get("hwloop.sim")
    if top is None:
        return {}
    for node in ast.walk(ast.parse(top.source)):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "_EXPORTS"):
            return {k: v.lstrip(".").split(".")[0] for k, v in ast.literal_eval(node.value).items()}
    return {}


def _rank_violations(modules: dict[str, Module]) -> list[str]:
    """A sim sub-package imports only sub-packages of lower rank (and itself).

    ``from hwloop.sim import NAME`` goes through the lazy top level to the sub-package that
    exports NAME, and counts as an import of that sub-package; ``import hwloop.sim`` or a
    name the top level does not export could reach any of them and is refused."""
    exports = _sim_exports(modules)
    bad = []
    for module in modules.values():
        own = _sim_part(module.name)
        if own is None or module.name == "hwloop.sim":  # outside sim; the lazy top is exempt
            continue
        if own not in SIM_RANK:
            bad.append(f"{module.file}:1: {module.name} is in no ranked sim sub-package "
                       f"({', '.join(SIM_RANK)})")
            continue
        for imp in _imports(module):
            reached = []
            if imp.target == "hwloop" and "sim" in imp.names:
                reached.append(("hwloop.sim", None))
            part = _sim_part(imp.target)
            if part == "":
                names = imp.names or ("",)
                for name in names:
                    if name in SIM_RANK:
                        reached.append((f"hwloop.sim.{name}", name))
                    elif name in exports:
                        reached.append((f"hwloop.sim.{exports[name]} (hwloop.sim.{name})",
                                        exports[name]))
                    else:
                        reached.append((f"hwloop.sim{'.' + name if name else ''}", None))
            elif part is not None:
                reached.append((imp.target, part))
            for what, target in reached:
                if target is None:
                    bad.append(f"{imp.place}: sim.{own} imports {what}, which can reach "
                               f"every sim sub-package; import from the one it needs")
                elif target != own and (target not in SIM_RANK
                                        or SIM_RANK[target] >= SIM_RANK[own]):
                    bad.append(f"{imp.place}: sim.{own} (rank {SIM_RANK[own]}) imports "
                               f"{what} (rank {SIM_RANK.get(target, '?')})")
    return sorted(set(bad), key=bad.index)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph`` (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def _cycle_violations(modules: dict[str, Module]) -> list[str]:
    """Every import cycle of more than one module, with the imports that close it."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    where: dict[tuple[str, str], list[str]] = {}
    for module in modules.values():
        for imp in _imports(module):
            for target in _loads(imp, modules):
                if target != module.name:
                    graph[module.name].add(target)
                    where.setdefault((module.name, target), []).append(imp.place)
    bad = []
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        members = set(component)
        bad.append(f"import cycle among {', '.join(component)}:")
        for a in component:
            for b in sorted(graph[a] & members):
                bad += [f"  {place}: {a} imports {b}" for place in where[(a, b)]]
    return bad


def _private(name: str) -> bool:
    return name.startswith("_")


def _private_violations(modules: dict[str, Module]) -> list[str]:
    """Across sim sub-packages only public names, through the sub-package's __init__; search
    only public names of hwloop.sim (no ``_module`` on the path, no ``_name`` imported)."""
    bad = []
    for module in modules.values():
        own = _sim_part(module.name)
        in_search = module.name.split(".")[:2] == ["hwloop", "search"]
        if not (own or in_search):  # sim/__init__.py (exempt), traces, arch
            continue
        for imp in _imports(module):
            part = _sim_part(imp.target)
            if imp.target == "hwloop" and "sim" in imp.names:
                part = ""
            if part is None or part == own:
                continue
            where = imp.place
            who = f"sim.{own}" if own else "search"
            path = imp.target.split(".")[2:]
            names = [n for n in imp.names if _private(n)]
            if own and len(path) > 1:
                bad.append(f"{where}: {who} imports {imp.target}, inside sim.{path[0]}; import "
                           f"from hwloop.sim.{path[0]}")
            elif in_search and any(_private(p) for p in path):
                bad.append(f"{where}: search imports the private module {imp.target}")
            if names:
                bad.append(f"{where}: {who} imports private {', '.join(names)} "
                           f"from {imp.target}")
    return bad


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    found = _modules_from(_package_files())
    # the walk must see the real tree, or every check below passes vacuously
    assert {"hwloop.sim", "hwloop.sim.memory", "hwloop.sim.arrays._base",
            "hwloop.search", "hwloop.arch", "hwloop.traces"} <= set(found)
    assert {m.name.split(".")[2] for m in found.values() if _sim_part(m.name)} == set(SIM_RANK)
    return found


def test_sim_sub_packages_import_only_lower_ranks(modules):
    bad = _rank_violations(modules)
    assert not bad, "sim sub-packages import upward:\n" + "\n".join(bad)


def test_no_import_cycles(modules):
    bad = _cycle_violations(modules)
    assert not bad, "\n".join(bad)


def test_private_names_stay_in_their_sub_package(modules):
    bad = _private_violations(modules)
    assert not bad, "private names used outside their sub-package:\n" + "\n".join(bad)


def test_the_walk_finds_imports_everywhere(modules):
    """Deferred and type-only imports are seen, relative ones resolved (a walk that missed
    them would let every check above pass)."""
    imports = [i for m in modules.values() for i in _imports(m)]
    assert {i.context for i in imports} == {"", "in a function", "if TYPE_CHECKING"}
    assert sum(len(_loads(i, modules)) for i in imports) > 100
    assert not [i.place for i in imports if i.target.startswith("<above hwloop>")]
    planted = _module("sim/memory/_x.py", (
        "from typing import TYPE_CHECKING\n"
        "from ._walks import a\n"
        "from .. import arrays\n"
        "import sim.report\n"
        "if TYPE_CHECKING:\n"
        "    from ..engine._simulate import b\n"
        "else:\n"
        "    from . import _pipe\n"
        "class C:\n"
        "    def f(self):\n"
        "        from ...arch import c\n"))
    assert _imports(planted) == [
        Import("sim/memory/_x.py", 1, "typing", ("TYPE_CHECKING",)),
        Import("sim/memory/_x.py", 2, "hwloop.sim.memory._walks", ("a",)),
        Import("sim/memory/_x.py", 3, "hwloop.sim", ("arrays",)),
        Import("sim/memory/_x.py", 4, "hwloop.sim.report", ()),
        Import("sim/memory/_x.py", 6, "hwloop.sim.engine._simulate", ("b",), "if TYPE_CHECKING"),
        Import("sim/memory/_x.py", 8, "hwloop.sim.memory", ("_pipe",)),
        Import("sim/memory/_x.py", 11, "hwloop.arch", ("c",), "in a function"),
    ]
    package = _module("sim/memory/__init__.py", "from ._run import r\nfrom . import _walks\n")
    assert [i.target for i in _imports(package)] == ["hwloop.sim.memory._run", "hwloop.sim.memory"]


# --- each checker fails on a planted violation (so none of the tests above passes vacuously) ---

def test_rank_checker_catches_upward_imports():
    planted = _modules_from({
        "sim/__init__.py": '_EXPORTS = {"simulate": ".engine", "Report": ".report"}\n',
        "sim/memory/__init__.py": "from ._a import f\n",
        "sim/memory/_a.py": "def f():\n    from hwloop.sim.arrays import x\n",
        "sim/schedule/_b.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                               "    from ..engine import y\n"),
        "sim/kernels/_c.py": "from hwloop.sim.report import z\n",          # same rank 0
        "sim/memory/_d.py": "from hwloop.sim import simulate, Report\nimport hwloop.sim\n",
        "sim/cli/_e.py": ("from hwloop.sim.engine import ok\nfrom ..kernels import ok2\n"
                          "from hwloop.sim import simulate\nfrom . import _f\n"),
        "sim/cli/_f.py": "import sim.memory._walks\nfrom hwloop.arch import A\n",
        "sim/extra.py": "",
        "search/_s.py": "from hwloop.sim.cli import main\n",  # search is not ranked here
    })
    assert _rank_violations(planted) == [
        "sim/memory/_a.py:2 (in a function): sim.memory (rank 2) imports hwloop.sim.arrays (rank 3)",
        "sim/schedule/_b.py:3 (if TYPE_CHECKING): sim.schedule (rank 1) imports hwloop.sim.engine (rank 5)",
        "sim/kernels/_c.py:1: sim.kernels (rank 0) imports hwloop.sim.report (rank 0)",
        "sim/memory/_d.py:1: sim.memory (rank 2) imports hwloop.sim.engine (hwloop.sim.simulate)"
        " (rank 5)",
        "sim/memory/_d.py:2: sim.memory imports hwloop.sim, which can reach every sim "
        "sub-package; import from the one it needs",
        "sim/extra.py:1: hwloop.sim.extra is in no ranked sim sub-package "
        f"({', '.join(SIM_RANK)})",
    ]


def test_cycle_checker_catches_cycles():
    planted = _modules_from({
        "arch/__init__.py": "from ._a import A\n",       # a package importing its own modules
        "arch/_a.py": "from . import _b\n",
        "arch/_b.py": "def f():\n    from ._a import A\n",   # deferred, still a cycle
        "arch/_c.py": "from hwloop.arch import A\n",     # -> arch/__init__, no cycle
        "sim/memory/__init__.py": "from ._run import r\n",
        "sim/memory/_run.py": "from hwloop.sim.memory import other\n",  # back through __init__
        "sim/report/__init__.py": "from ._a import a\nfrom ._b import b\n",
        "sim/report/_a.py": "from . import _b\nfrom hwloop.sim.report._b import c\n",  # siblings
        "sim/report/_b.py": "",
        "traces/__init__.py": "from ._x import X\n",
        "traces/_x.py": "import traces._y\n",
        "traces/_y.py": "",
    })
    assert _cycle_violations(planted) == [
        "import cycle among hwloop.arch._a, hwloop.arch._b:",
        "  arch/_a.py:1: hwloop.arch._a imports hwloop.arch._b",
        "  arch/_b.py:2 (in a function): hwloop.arch._b imports hwloop.arch._a",
        "import cycle among hwloop.sim.memory, hwloop.sim.memory._run:",
        "  sim/memory/__init__.py:1: hwloop.sim.memory imports hwloop.sim.memory._run",
        "  sim/memory/_run.py:1: hwloop.sim.memory._run imports hwloop.sim.memory",
    ]
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}) == [
        ["d"], ["a", "b", "c"]]


def test_private_checker_catches_private_names():
    planted = _modules_from({
        "sim/__init__.py": "from .memory import _exempt\n",
        "sim/arrays/_x.py": ("from hwloop.sim.memory._walks import w\n"
                             "from hwloop.sim.kernels import _fill, ok\n"
                             "from hwloop.sim.memory import run_memory\n"
                             "from ._base import _own\n"
                             "def f():\n    from ..memory import _bad\n"
                             "from hwloop.sim.arrays._energy import _also_own\n"
                             "import hwloop.sim.report._plot\n"),
        "search/_s.py": ("def f():\n    from hwloop.sim.memory._walks import w\n"
                         "from hwloop.sim import simulate, _hidden\n"
                         "from hwloop.sim.engine import _priv\n"
                         "import hwloop.sim.arrays._base\n"
                         "from hwloop.sim.memory import run_memory\n"
                         "from ._study import _worker\n"),
        "arch/_a.py": "from ._b import _fine\n",
    })
    assert _private_violations(planted) == [
        "sim/arrays/_x.py:1: sim.arrays imports hwloop.sim.memory._walks, inside sim.memory; "
        "import from hwloop.sim.memory",
        "sim/arrays/_x.py:2: sim.arrays imports private _fill from hwloop.sim.kernels",
        "sim/arrays/_x.py:6 (in a function): sim.arrays imports private _bad from hwloop.sim.memory",
        "sim/arrays/_x.py:8: sim.arrays imports hwloop.sim.report._plot, inside sim.report; "
        "import from hwloop.sim.report",
        "search/_s.py:2 (in a function): search imports the private module hwloop.sim.memory._walks",
        "search/_s.py:3: search imports private _hidden from hwloop.sim",
        "search/_s.py:4: search imports private _priv from hwloop.sim.engine",
        "search/_s.py:5: search imports the private module hwloop.sim.arrays._base",
    ]
