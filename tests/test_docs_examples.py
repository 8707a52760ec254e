"""The Python code blocks of docs/api.md and docs/tutorial.md run as written (the public API)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCKS = re.findall(r"```python\n(.*?)```", (DOCS / "api.md").read_text(encoding="utf-8"), flags=re.S)
TUTORIAL = re.findall(r"```python\n(.*?)```", (DOCS / "tutorial.md").read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index, capsys):
    exec(compile(BLOCKS[index], f"docs/api.md[{index}]", "exec"), {"__name__": "__docs__"})


def test_the_tutorial_runs_in_order(capsys):
    """docs/tutorial.md's blocks share one namespace, as a reader running them in turn would."""
    assert len(TUTORIAL) >= 5
    ns = {"__name__": "__tutorial__"}
    for i, block in enumerate(TUTORIAL):
        exec(compile(block, f"docs/tutorial.md[{i}]", "exec"), ns)
