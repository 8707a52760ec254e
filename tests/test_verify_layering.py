"""The independent checker stays independent (issue 10, rule 1; docs/certificate.md: the
checker is written from the contract, not from the builders).

Every module of advcert/verify imports only the standard library, jsonschema, flint and
its own siblings, at module level, without cycles; importing it loads no builder and no
numeric stack.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import advcert.verify as V

PACKAGE = Path(V.__file__).resolve().parent
ROOT = PACKAGE.parents[1]
FILES = sorted(PACKAGE.rglob("*.py"))
THIRD_PARTY = {"jsonschema", "flint"}

# The standard-library modules the checker needs today: a new one is a decision to review
# (the .npz witness is read with array, ast, io, struct, zipfile and zlib; files are opened
# as hostile input with os, stat and errno: regular files only, non-blocking, size first).
STDLIB_USED = {"__future__", "array", "ast", "contextlib", "dataclasses", "errno", "hashlib", "io", "itertools", "json",
               "math", "operator", "os", "pathlib", "re", "stat", "struct", "sys", "time", "typing", "zipfile", "zlib"}


def _imports(path: Path):
    """(node, absolute module or None, relative level, sibling names) for every import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node, a.name, 0, ()
        elif isinstance(node, ast.ImportFrom):
            yield node, node.module, node.level, tuple(a.name for a in node.names)


def test_the_package_is_split_into_modules():
    assert {p.name for p in FILES} >= {"__init__.py", "reading.py", "descartes.py", "polynomials.py",
                                       "constants.py", "witness.py", "robust.py", "checks.py", "document.py"}


def test_every_import_is_stdlib_jsonschema_flint_or_a_sibling():
    allowed = set(sys.stdlib_module_names) | THIRD_PARTY
    for path in FILES:
        for node, module, level, _ in _imports(path):
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if level:
                continue  # a sibling inside advcert/verify
            root = module.split(".")[0]
            if root == "advcert":
                assert module == "advcert.verify" or module.startswith("advcert.verify."), f"{where}: imports {module}"
                continue
            assert root in allowed, f"{where}: imports {module}, which is neither stdlib, jsonschema nor flint"
            assert root in STDLIB_USED | THIRD_PARTY, f"{where}: imports {module}, new to the checker"


def test_relative_imports_stay_inside_the_package():
    for path in FILES:
        depth = len(path.relative_to(PACKAGE).parts)  # 1 for a module directly in advcert/verify
        for node, _, level, _ in _imports(path):
            assert level <= depth, f"{path.relative_to(ROOT)}:{node.lineno}: a relative import leaves advcert/verify"


def test_imports_are_at_module_level_and_static():
    for path in FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                assert id(node) in top, f"{where}: a function-level import"
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                assert name not in ("__import__", "import_module"), f"{where}: a dynamic import"


def test_no_import_cycles_inside_the_package():
    graph: dict[str, set[str]] = {}
    for path in FILES:
        name = "__init__" if path.name == "__init__.py" else path.stem
        deps = graph.setdefault(name, set())
        for _, module, level, names in _imports(path):
            if level == 1:
                deps.update(module.split(".")[:1] if module else names)
            elif module and module.startswith("advcert.verify."):
                deps.add(module.split(".")[2])
    state: dict[str, int] = {}

    def visit(node: str, trail: tuple[str, ...]) -> None:
        if state.get(node) == 2:
            return
        assert state.get(node) != 1, f"import cycle: {' -> '.join(trail + (node,))}"
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            visit(dep, trail + (node,))
        state[node] = 2

    for node in sorted(graph):
        visit(node, ())
    assert "__init__" not in set().union(*(graph[n] for n in graph if n != "__init__"))


def test_modules_and_functions_stay_small():
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        assert text.count("\n") <= 800, f"{path.name} has {text.count(chr(10))} lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                a = node.args
                params = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)
                assert size <= 100, f"{path.name}:{node.lineno} {node.name} is {size} lines"
                assert params <= 10, f"{path.name}:{node.lineno} {node.name} takes {params} parameters"


def test_importing_the_verifier_loads_no_builder_and_no_numeric_stack():
    # the package advcert/__init__ runs too: it must not drag builders, numpy or numba in
    code = ("import sys, advcert.verify; "
            "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('advcert') or m.split('.')[0] in "
            "('numpy', 'numba', 'scipy', 'sympy', 'mpmath'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    loaded = out.split()
    assert "advcert.verify" in loaded
    stray = [m for m in loaded if m != "advcert" and m != "advcert.verify" and not m.startswith("advcert.verify.")]
    assert stray == [], stray


def test_the_public_names_are_re_exported():
    # what tests/, benchmarks/ and the CLI reach as advcert.verify.X
    for name in ("run", "verify_document", "load", "Report", "CheckResult", "Unreadable", "read_witness", "read_npy",
                 "canonical_sha256", "prove_sup_abs", "make_domain", "cap_sup_up", "linear_sup_up",
                 "preactivation_ranges", "leaf_bounds", "split_tree_gap", "KNOWN_CHECKS", "REQUIRED_CHECKS",
                 "SCHEMA_PATH", "Network", "Domain", "Leaf", "_Fail", "_parse_leaf", "_common"):
        assert hasattr(V, name), name
    assert V.SCHEMA_PATH.is_file()
    assert set(V.__all__) <= set(dir(V))


def test_one_gate_to_the_terminal():
    # issue 11: every string the checker prints passes advcert.verify.report.terminal_safe;
    # the only print() in the package is document._say, which applies it
    prints = []
    for path in FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
                    prints.append((path.name, fn.name))
                if isinstance(node, ast.Attribute) and node.attr == "write" and path.name != "reading.py":
                    prints.append((path.name, fn.name, "write"))
    assert prints == [("document.py", "_say")], prints
    src = (PACKAGE / "document.py").read_text(encoding="utf-8")
    assert "print(terminal_safe(" in src


def test_every_known_check_has_its_contract_claim():
    assert set(V.CLAIMS) == set(V.KNOWN_CHECKS)
    doc = (ROOT / "docs" / "certificate.md").read_text(encoding="utf-8")
    for id_, claim in V.CLAIMS.items():
        assert claim.replace("|", "\\|") in doc, f"docs/certificate.md does not state the claim of {id_}"
