"""Every citation of a document resolves inside the repository (issue 10).

Docstrings and comments cite the derivations they rely on as ``math-spec §5``,
``perf-notes §5 (a)``, ``design.md §3``, ``math-spec §12.8``, ``math-spec §§7–8``,
``docs/certificate.md`` and so on. This test scans the comments and strings of every
``.py`` file under ``advcert/``, ``tests/``, ``benchmarks/`` and ``certificates/``, and every
``.md`` file under ``docs/`` and ``certificates/`` plus the README, whatever modules exist at
the time (so moving code between modules cannot hide a citation), and asserts:

* the named document is a file of this repository: ``docs/<name>.md``, the README, or a
  repository-relative path such as ``certificates/README.md``; a path that leaves the
  repository (``../shared/docs/math-spec.md``, ``/work/...``) or a document that is not kept
  here (``paper-main-text``, ``landscape``) fails;
* every cited section number N (or N.M) is a heading of that document: a line
  ``## N. ...``, ``### N.M ...`` or ``## §N ...``.

Bare ``§N`` without a document name is not checked: in this code base it is either a
section of the paper (``§3.2``, footnote 5) or a continuation of a citation named earlier
in the same docstring.

To check another checkout against this repository's documents, point
``ADVCERT_CITATIONS_SCAN`` at its root (``ADVCERT_CITATIONS_SCAN=/work/main pytest
tests/test_citations.py``): files are read there, documents are resolved here.
"""

from __future__ import annotations

import io
import os
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCAN = Path(os.environ.get("ADVCERT_CITATIONS_SCAN", ROOT)).resolve()

#: folders whose .py files are scanned (comments and strings only), and whose .md files are
PY_DIRS = ("advcert", "tests", "benchmarks", "certificates")
MD_DIRS = ("docs", "certificates")
MD_FILES = ("README.md",)

#: document stems the code names without an extension (``math-spec §5``); each must be
#: docs/<stem>.md. paper-main-text and landscape are deliberately not kept in docs/, so a
#: citation of them fails.
STEMS = ("math-spec", "perf-notes", "design", "landscape", "paper-main-text", "lemma-map",
         "certificate", "training", "data")

# a section list after a document name: §5, §§7–8, §6-7, §12.8, §3, §11, §2 and §5
_NUM = r"\d+(?:\.\d+)*"
_ONE = rf"{_NUM}(?:\s*[-–]\s*{_NUM})?"
_SECTIONS = rf"(?:'s)?\s*§§?\s*(?P<sec>{_ONE}(?:\s*(?:,|and|&)\s*§\s*{_ONE})*)"
# the document: a path ending in .md/.txt, or one of the stems, optionally in backticks;
# "design" and "certificate"/"training"/"data" are English words, so without an extension
# they count only when a § follows.
_PATH = r"(?P<path>(?:\.{1,2}/|/)?[\w.-]+(?:/[\w.-]+)*\.md)"
_STRICT = r"(?P<stem>math-spec|perf-notes|paper-main-text|landscape(?=\s*§)|lemma-map(?=\s*§))"
_LOOSE = r"(?P<word>design|certificate|training|data)(?=\s*(?:'s)?\s*§)"
CITATION = re.compile(
    rf"(?<![\w/.-])`?(?:{_PATH}|{_STRICT}|{_LOOSE})`?(?:{_SECTIONS})?(?![\w-])")
HEADING = re.compile(r"^#{1,6}\s+§?\s*(?P<num>\d+(?:\.\d+)*)(?:[.\s)]|$)")


@dataclass(frozen=True)
class Citation:
    where: str  # file:line in the scanned tree
    text: str  # the matched citation
    document: str  # as written: a path or a stem
    sections: tuple[str, ...]


def expand(spec: str) -> tuple[str, ...]:
    """'7–8' -> ('7', '8'); '6-7' -> ('6', '7'); '3, §11' -> ('3', '11'); '12.8' -> ('12.8',)."""
    out: list[str] = []
    for part in re.split(r"\s*(?:,|and|&)\s*", spec.strip()):
        part = part.lstrip("§ ")
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            out.extend(str(k) for k in range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            out.extend(b for b in bounds if b)
    return tuple(out)


def citations_in(text: str, where: str) -> list[Citation]:
    """Every citation in ``text``; ``where`` is 'file:line' of its first line."""
    file, _, line = where.rpartition(":")
    found = []
    for m in CITATION.finditer(text):
        doc = m.group("path") or m.group("stem") or m.group("word")
        if m.group("path") and "://" in text[max(0, m.start() - 12):m.start() + 3]:
            continue  # a URL, not a repository file
        sec = expand(m.group("sec")) if m.group("sec") else ()
        lineno = int(line) + text.count("\n", 0, m.start())
        found.append(Citation(f"{file}:{lineno}", m.group(0).strip("`"), doc, sec))
    return found


def _py_chunks(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every comment and string literal of a Python file."""
    kinds = {tokenize.COMMENT, tokenize.STRING}
    kinds |= {getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    src = path.read_text(encoding="utf-8")
    return [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(src).readline)
            if tok.type in kinds]


def scanned_files(scan: Path = SCAN) -> list[Path]:
    files = [p for d in PY_DIRS for p in sorted((scan / d).rglob("*.py"))]
    files += [p for d in MD_DIRS for p in sorted((scan / d).rglob("*.md"))]
    files += [scan / f for f in MD_FILES if (scan / f).exists()]
    # this file quotes bad citations on purpose
    return [p for p in files if "__pycache__" not in p.parts and p.name != Path(__file__).name]


def all_citations(scan: Path = SCAN) -> list[Citation]:
    out: list[Citation] = []
    for path in scanned_files(scan):
        rel = path.relative_to(scan).as_posix()
        if path.suffix == ".py":
            chunks = _py_chunks(path)
        else:
            chunks = [(1, path.read_text(encoding="utf-8"))]
        for line, text in chunks:
            out.extend(citations_in(text, f"{rel}:{line}"))
    return out


def resolve(document: str, citing: str, root: Path = ROOT) -> Path | None:
    """The repository file a citation names, or None if it names none (or one outside)."""
    if document.startswith("/") or ".." in Path(document).parts or "shared/" in document:
        return None
    if "/" in document:
        candidates = [root / document]
    else:
        name = document if "." in document else f"{document}.md"
        citing_dir = (root / citing).parent
        candidates = [root / "docs" / name, root / name, citing_dir / name]
    for c in candidates:
        if c.is_file() and root in c.resolve().parents:
            return c
    return None


def headings(path: Path) -> set[str]:
    nums = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        m = HEADING.match(line)
        if m:
            nums.add(m.group("num"))
    return nums


def problems(cites: list[Citation], root: Path = ROOT) -> list[str]:
    bad = []
    for c in cites:
        target = resolve(c.document, c.where.rpartition(":")[0], root)
        if target is None:
            bad.append(f"{c.where}: {c.text!r}: {c.document} is not a document of this repository")
            continue
        missing = [s for s in c.sections if s not in headings(target)]
        if missing:
            rel = target.relative_to(root).as_posix()
            bad.append(f"{c.where}: {c.text!r}: no section {', '.join(missing)} in {rel}")
    return bad


# ---------------------------------------------------------------------------------------
# the checker itself, on made-up text
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, document, sections", [
    ("(math-spec §7)", "math-spec", ("7",)),
    ("math-spec §12 item 9", "math-spec", ("12",)),
    ("math-spec §12.8", "math-spec", ("12.8",)),
    ("The math is math-spec §§7–8.", "math-spec", ("7", "8")),
    ("(math-spec §6-7)", "math-spec", ("6", "7")),
    ("grows like 1/γ (math-spec §3, §11)", "math-spec", ("3", "11")),
    ("math-spec §11's worked example", "math-spec", ("11",)),
    ("perf-notes §5 (a): 64-row chunks", "perf-notes", ("5",)),
    ("the sense of design.md §3.", "design.md", ("3",)),
    ("design.md §2's probe", "design.md", ("2",)),
    ("a design §4 rule", "design", ("4",)),
    ("see `docs/certificate.md`", "docs/certificate.md", ()),
    ("the math-spec toy chain", "math-spec", ()),
    ("../shared/docs/math-spec.md §7", "../shared/docs/math-spec.md", ("7",)),
    ("landscape.md §A1", "landscape.md", ()),
    ("paper-main-text §3", "paper-main-text", ("3",)),
])
def test_the_pattern_reads_the_forms_in_use(text, document, sections):
    (c,) = citations_in(text, "x.py:1")
    assert (c.document, c.sections) == (document, sections)


@pytest.mark.parametrize("text", [
    "the lift onto X (§3.2, footnote 5)",  # the paper's own section
    "Higham, Accuracy and Stability, §3.1",
    "a data set on X",  # plain words
    "certificate design and training data",
    "https://github.com/owner/repo/blob/main/README.md",
])
def test_the_pattern_ignores_what_is_not_a_document_citation(text):
    assert citations_in(text, "x.py:1") == []


@pytest.mark.parametrize("text", [
    "see ../shared/docs/math-spec.md §7",
    "/work/shared/docs/design.md §3",
    "landscape.md",
    "landscape §A1",
    "paper-main-text §3",
    "math-spec §99",
    "math-spec §7.9",
    "perf-notes §42",
    "design.md §3.4",
    "docs/nowhere.md",
])
def test_a_citation_outside_the_repository_or_of_a_missing_section_fails(text):
    assert problems(citations_in(text, "advcert/x.py:1"))


def test_the_documents_have_the_sections_the_code_cites():
    spec = headings(ROOT / "docs" / "math-spec.md")
    assert {str(k) for k in range(1, 13)} <= spec
    assert {"12.8", "12.9"} <= spec
    assert {"2", "3"} <= headings(ROOT / "docs" / "design.md")
    assert {"3", "5"} <= headings(ROOT / "docs" / "perf-notes.md")


# ---------------------------------------------------------------------------------------
# the repository
# ---------------------------------------------------------------------------------------


def test_the_scan_sees_the_code():
    files = scanned_files()
    assert any(p.suffix == ".py" and "advcert" in p.parts for p in files)
    assert any(p.name == "lemma-map.md" for p in files)


def test_every_citation_resolves_inside_the_repository():
    cites = all_citations()
    assert cites, "no citation found: the pattern or the scanned folders are wrong"
    bad = problems(cites)
    assert not bad, "citations that do not resolve:\n" + "\n".join(bad)


def test_no_file_points_outside_the_repository():
    outside = re.compile(r"(?:\.\./)+shared/|/work/(?:shared|main|wt)/|\bshared/docs\b")
    hits = []
    for path in scanned_files():
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if outside.search(line):
                hits.append(f"{path.relative_to(SCAN).as_posix()}:{i}: {line.strip()}")
    assert not hits, "paths outside the repository:\n" + "\n".join(hits)
