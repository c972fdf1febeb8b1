"""The complete example of ``docs/search-plugins.md`` runs as written (smaller budgets)."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("optuna")
pytest.importorskip("sklearn")
pytest.importorskip("pyarrow")

from hwloop.sim.cli import main  # noqa: E402

DOC = Path(__file__).parents[2] / "docs" / "search-plugins.md"


def _blocks() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for kind, body in re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(), re.S):
        found.setdefault(kind, []).append(body)
    return found


def test_the_docs_example_searches_and_exports(tmp_path, monkeypatch, capsys):
    blocks = _blocks()
    (tmp_path / "nas_space.py").write_text(blocks["python"][0])
    # the grid kept small for CI: one array shape
    toml = re.sub(r"values = \[8, 16, 32\]", "values = [8]", blocks["toml"][0])
    (tmp_path / "space.toml").write_text(toml)
    monkeypatch.chdir(tmp_path)
    commands = [line for line in blocks["sh"][0].replace("\\\n", " ").splitlines()
                if line.strip()]
    assert len(commands) == 2
    search, export = (cmd.split()[1:] for cmd in commands)
    search[search.index("--trials") + 1] = "4"
    search[search.index("--workers") + 1] = "1"
    assert main(search) == 0, capsys.readouterr().err
    assert main(export) == 0, capsys.readouterr().err
    table = pd.read_parquet(tmp_path / "runs" / "bench.parquet")
    assert len(table) == 9 and table["error"].isna().all()
    assert (table["accuracy"] > 0.8).all()  # a trained MLP on the digits
    assert table.groupby("network")["accuracy"].nunique().eq(1).all()  # per network
