"""The one-way import rule: traces, arch -> sim -> search (and traces never imports arch).

Walks every module's AST, so a violation anywhere (even inside a function) fails.
"""
from __future__ import annotations

import ast
import pathlib

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
