"""The house rules of the layout (docs/lemma-map.md, "Layout"), each as a test that can fail.

1. Nothing under advcert/verify imports anything but the standard library, jsonschema and flint.
2. The process of ``advcert verify FILE`` loads no advcert module outside the verifier, the CLI,
   errors and the certificate reader, and neither numpy nor numba.
3. Only advcert/kernels imports numba; the certified plane and ``build --certified-only`` never load
   it; the kernels never import flint.
4. No import cycles between advcert modules; no function-level import of an advcert module outside cli.py.
5. (tests/test_kernels.py) every fast kernel against measured/reference.py; the kink convention once.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "advcert"
HEADLINE = ROOT / "certificates" / "headline.json"


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(path: Path, modname: str):
    """(imported module, line, at top level?) for every import statement of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = modname if path.name == "__init__.py" else modname.rpartition(".")[0]
    top = set(id(n) for n in tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno, id(node) in top
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            yield name, node.lineno, id(node) in top
            for a in node.names:  # ``from advcert import chain`` imports the module advcert.chain
                yield f"{name}.{a.name}", node.lineno, id(node) in top


def _is_module(name: str, mods) -> str | None:
    while name:
        if name in mods:
            return name
        name = name.rpartition(".")[0]
    return None


MODS = _modules()


def test_rule1_verifier_imports_only_stdlib_jsonschema_flint():
    bad = []
    for mod, path in MODS.items():
        if not (mod == "advcert.verify" or mod.startswith("advcert.verify.")):
            continue
        for name, line, _ in _imports(path, mod):
            root = name.split(".")[0]
            if root in sys.stdlib_module_names or root in ("jsonschema", "flint", "__future__"):
                continue
            if name == "advcert.verify" or name.startswith("advcert.verify."):
                continue
            bad.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not bad, "the verifier imports outside stdlib/jsonschema/flint:\n" + "\n".join(bad)


def _loaded(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_rule2_verify_process_loads_no_builder_and_no_numeric_stack(tmp_path):
    code = ("import sys\nfrom advcert.cli import main\n"
            f"status = main(['verify', {str(HEADLINE)!r}])\nassert status == 0, status")
    loaded = _loaded(code)
    allowed = {"advcert", "advcert.cli", "advcert.errors", "advcert.certificate"}
    bad = [m for m in loaded if m.startswith("advcert") and m not in allowed
           and not (m == "advcert.verify" or m.startswith("advcert.verify."))]
    assert not bad, f"advcert verify loads builder modules: {bad}"
    for heavy in ("numpy", "numba", "scipy", "matplotlib"):
        assert heavy not in loaded, f"advcert verify loads {heavy}"


def test_rule3_only_kernels_import_numba_and_kernels_never_flint():
    bad = []
    for mod, path in MODS.items():
        in_kernels = mod == "advcert.kernels" or mod.startswith("advcert.kernels.")
        for name, line, _ in _imports(path, mod):
            root = name.split(".")[0]
            if root == "numba" and not in_kernels:
                bad.append(f"{path.relative_to(ROOT)}:{line}: numba outside advcert/kernels")
            if root == "flint" and in_kernels:
                bad.append(f"{path.relative_to(ROOT)}:{line}: flint inside advcert/kernels")
    assert not bad, "\n".join(bad)


def test_rule3_certified_plane_never_loads_numba(tmp_path):
    out = tmp_path / "c.json"
    code = ("from advcert.cli import main\n"
            f"assert main(['build', '--gamma', '2', '--eps', '0.6', '--n', '2', '--d', '3', '--certified-only', "
            f"'--quiet', '--out', {str(out)!r}]) == 0")
    loaded = _loaded(code)
    assert "numba" not in loaded
    # the BLAS limiter (advcert.kernels.threads) is numba-free by design; no compiled kernel is loaded
    compiled = [m for m in loaded if m.startswith("advcert.kernels.") and m != "advcert.kernels.threads"]
    assert not compiled and not [m for m in loaded if m.startswith("advcert.measured")]
    assert out.is_file()


def test_rule4_no_function_level_imports_of_advcert_outside_cli():
    bad = []
    for mod, path in MODS.items():
        if mod == "advcert.cli":
            continue
        for name, line, top in _imports(path, mod):
            if not top and _is_module(name, MODS):
                bad.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not bad, "function-level imports of advcert modules:\n" + "\n".join(bad)


def test_rule4_no_import_cycles():
    graph: dict[str, set[str]] = {}
    for mod, path in MODS.items():
        deps = set()
        for name, _, top in _imports(path, mod):
            target = _is_module(name, MODS)
            if target and target != mod and top:
                deps.add(target)
        graph[mod] = deps
    # a package's __init__ importing its own submodules is not a cycle of concepts
    for mod in graph:
        graph[mod] = {t for t in graph[mod] if not (t.startswith(mod + "."))}
    seen, stack, cycles = set(), [], []

    def visit(v):
        if v in stack:
            cycles.append(stack[stack.index(v):] + [v])
            return
        if v in seen:
            return
        seen.add(v)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            visit(w)
        stack.pop()

    for v in sorted(graph):
        visit(v)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("limit", [800])
def test_no_module_above_limit(limit):
    big = [f"{p.relative_to(ROOT)}: {n}" for p in PKG.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > limit]
    assert not big, f"modules above {limit} lines: {big}"


def test_no_long_function_outside_kernels():
    bad = []
    for mod, path in MODS.items():
        if mod.startswith("advcert.kernels"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                a = node.args
                params = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
                if length > 110 or params > 10:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines, {params} parameters")
    assert not bad, "functions above ~100 lines or 10 parameters:\n" + "\n".join(bad)
