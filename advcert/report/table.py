"""Terminal tables of a certificate: the headline, every check with its verdict, the estimates'
reasons and the constants (Definition 3.4 to Theorem 4.1, as the certificate stores them).

Verdict first; columns sized to the terminal (80 columns keep every verdict, check id and value
whole; the claim gets what is left, cut with "…" unless ``wide``); plain text with no box
drawing and no colour when the stream is not a terminal. Text from the certificate is never
read as rich markup. The words are the certificate's own (docs/verdicts.md).
"""

from __future__ import annotations

import math
import os
import textwrap
from fractions import Fraction

from rich.console import Console
from rich.table import Table
from rich.text import Text

from advcert.report.words import estimate_notes, fmt, headline, source_name

_RED = ("fails", "violated")
_MIN_CLAIM = 24  # below this a claim column says nothing: claims go below the table (wide) or away


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _Stripped:
    """A file-like that drops the pad spaces rich leaves at line ends (plain text for pipes)."""

    def __init__(self, stream):
        self.stream, self.buf = stream, ""

    def write(self, s: str) -> int:
        self.buf += s
        *done, self.buf = self.buf.split("\n")
        for ln in done:
            self.stream.write(ln.rstrip() + "\n")
        return len(s)

    def flush(self) -> None:
        if self.buf:
            self.stream.write(self.buf.rstrip())
            self.buf = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def console_for(stream, width: int | None = None, plain: bool | None = None) -> Console:
    """A rich console on ``stream``: the terminal's width, or COLUMNS (else 100) on a pipe."""
    plain = not _is_tty(stream) if plain is None else plain
    if width is None:
        if plain:
            try:
                width = int(os.environ.get("COLUMNS", "100"))
            except ValueError:
                width = 100
        else:
            width = Console(file=stream).width
    width = max(40, width)
    if plain:
        return Console(file=_Stripped(stream), width=width, no_color=True, force_terminal=False, color_system=None,
                       highlight=False, markup=False, emoji=False, legacy_windows=False)
    return Console(file=stream, width=width, force_terminal=True, highlight=False, markup=False, emoji=False)


def _sixth_root(value) -> str | None:
    try:
        x = Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if x < 0:
        return None
    try:
        r = float(x) ** (1 / 6)
    except OverflowError:  # beyond float range: math.log2 takes the integers whole
        r = 2.0 ** ((math.log2(x.numerator) - math.log2(x.denominator)) / 6)
    return f"{r:.4g}"


def value_vs_bound(c: dict, wide: bool = False) -> str:
    """``value relation bound`` of a check; with ``wide`` an enclosure shows both ends.

    The exact radius of Lemma 6.5 compares m⁴(max_r ‖W*_r − W0_r‖²)³ with R⁶ (rationals, no
    root); it is shown as the sixth roots, m^{2/3}‖W* − W0‖_{2,∞} against R, which is what it means."""
    digits = 6 if wide else 4
    if c.get("id") == "lemma-6.5/radius" and c.get("label") == "exact":
        v, b = _sixth_root(c.get("value")), _sixth_root(c.get("bound"))
        if v is not None and b is not None:
            return f"radius {v} {c.get('relation', '')} R = {b}"
    if wide and "enclosure" in c:
        val = f"[{fmt(c['enclosure']['lo'], digits)}, {fmt(c['enclosure']['hi'], digits)}]"
    else:
        val = fmt(c.get("value"), digits)
    return f"{val} {c.get('relation', '')} {fmt(c.get('bound'), digits)}"


def rows(doc: dict, wide: bool = False) -> list[tuple[str, str, str, str, str, str]]:
    """(verdict, check id, label, value vs bound, seconds, claim) per check, in file order."""
    out = []
    for c in doc.get("checks", []):
        out.append((str(c.get("verdict")), str(c.get("id")), str(c.get("label")), value_vs_bound(c, wide),
                    f"{float(c.get('seconds') or 0):.2f}", str(c.get("claim", ""))))
    return out


def _title(doc: dict) -> str:
    inst = doc.get("instance", {})
    return (f"advcert certificate: n={inst.get('n')} d={inst.get('d')} γ={fmt(inst.get('gamma'))} "
            f"ε={fmt(inst.get('eps'))} ρ={fmt(inst.get('rho'))} seed={inst.get('seed')}, data: {source_name(doc)}")


def checks_table(doc: dict, width: int, wide: bool = False, plain: bool = False) -> tuple[Table, list]:
    """The checks table for a page ``width`` columns wide, and the claims it could not hold.

    Columns: verdict, check, label, value vs bound, seconds (when there is room), claim (what is
    left). Returns the table and, when the claim column is too narrow, [(id, claim)] to print below.
    """
    pad = 2  # one space either side of every column (no vertical rules)
    heads = ("verdict", "check", "label", "value vs bound")
    for wide_values in ((True, False) if wide else (False,)):
        rs = rows(doc, wide_values)
        fixed = [max([len(h)] + [len(r[i]) for r in rs]) for i, h in enumerate(heads)]
        if sum(fixed) + pad * len(fixed) <= width:
            break  # both ends of every enclosure fit; else the decisive end alone
    used = sum(fixed) + pad * len(fixed)
    show_s = width - used - (6 + pad) >= _MIN_CLAIM
    if show_s:
        used += 6 + pad
    claim_w = width - used - pad
    claim_col = claim_w >= _MIN_CLAIM or (not wide and claim_w >= 8)
    table = Table(title=Text(_title(doc)), box=None, show_edge=False, pad_edge=False, padding=(0, 1),
                  expand=False, title_justify="left", header_style=None if plain else "bold underline")
    names = ["verdict", "check", "label", "value vs bound"]
    for name, w in zip(names, fixed):
        # a value is folded, never cut, on a page too narrow even for the short form
        table.add_column(name, no_wrap=name != "value vs bound", overflow="fold", min_width=w if name != names[-1] else None)
    if show_s:
        table.add_column("s", justify="right", no_wrap=True, min_width=4)
    if claim_col:
        fold = wide or plain
        table.add_column("claim", no_wrap=not fold, overflow="fold" if fold else "ellipsis",
                         max_width=max(claim_w, 8), min_width=min(claim_w, _MIN_CLAIM))
    below = []
    prev_rigorous = None
    for r, c in zip(rs, doc.get("checks", [])):
        rigorous = c.get("label") != "estimate"
        if prev_rigorous is not None and rigorous != prev_rigorous:
            table.add_section()
        prev_rigorous = rigorous
        style = "bold red" if r[0] in _RED and not plain else None
        cells = [Text(r[0], style=style), Text(r[1]), Text(r[2]), Text(r[3])]
        if show_s:
            cells.append(Text(r[4]))
        if claim_col:
            cells.append(Text(r[5]))
        else:
            below.append((r[1], r[5]))
        table.add_row(*cells)
    return table, below


def constants_table(doc: dict, width: int, wide: bool = False, plain: bool = False) -> Table | None:
    """The certificate's ``constants`` (name, value, label, note), the note cut unless ``wide``."""
    consts = doc.get("constants") or {}
    if not consts:
        return None
    table = Table(title=Text("constants"), box=None, show_edge=False, pad_edge=False, padding=(0, 1),
                  title_justify="left", header_style=None if plain else "bold underline")
    table.add_column("constant", no_wrap=True)
    table.add_column("value", no_wrap=True)
    table.add_column("label", no_wrap=True)
    fold = wide or plain
    table.add_column("note", no_wrap=not fold, overflow="fold" if fold else "ellipsis", ratio=1)
    for k, v in consts.items():
        v = v if isinstance(v, dict) else {"value": v}
        table.add_row(Text(str(k)), Text(fmt(v.get("value"))), Text(str(v.get("label", ""))), Text(str(v.get("note", ""))))
    return table


def _wrapped(console: Console, first: str, text: str, indent: int = 4) -> None:
    lines = textwrap.wrap(f"{first}{text}", width=console.width, subsequent_indent=" " * indent,
                          break_long_words=True, break_on_hyphens=False) or [first]
    for ln in lines:
        console.print(Text(ln), soft_wrap=True)


def _checks(console: Console, doc: dict, wide: bool, plain: bool) -> None:
    table, below = checks_table(doc, console.width, wide, plain)
    console.print(table)
    if below and wide:
        console.print(Text("claims:"))
        for cid, claim in below:
            _wrapped(console, f"  {cid}: ", claim, indent=4)
    elif below:
        console.print(Text("(claims need a wider terminal: advcert show --wide prints them in full)"))


def print_table(doc: dict, stream, *, width: int | None = None, wide: bool = False, plain: bool | None = None) -> None:
    """The checks (verdict first) and the constants of a certificate, fitted to ``stream``."""
    console = console_for(stream, width, plain)
    _checks(console, doc, wide, console.no_color)
    ct = constants_table(doc, console.width, wide, console.no_color)
    if ct is not None:
        console.print(ct)


def show(doc: dict, stream, *, width: int | None = None, wide: bool = False, plain: bool | None = None) -> None:
    """What ``advcert show`` prints: the headline in words, the checks, why each estimate says
    what it says (its reason, the width it needs, its infeasible note), then the constants."""
    console = console_for(stream, width, plain)
    for ln in headline(doc):
        _wrapped(console, "", ln, indent=2)
    console.print(Text(""))
    _checks(console, doc, wide, console.no_color)
    notes = estimate_notes(doc)
    if notes:
        console.print(Text(""))
        console.print(Text("why the estimates say what they say (docs/verdicts.md):"))
        for cid, verdict, note in notes:
            _wrapped(console, f"  {verdict} {cid}: ", note, indent=4)
    ct = constants_table(doc, console.width, wide, console.no_color)
    if ct is not None:
        console.print(Text(""))
        console.print(ct)
    console.file.flush()


def print_sandwich(doc: dict, chk: dict, domain: str, stream) -> None:
    """The per-point table of a re-run ``theorem-5.3`` (Theorem 5.3): attack below, sound bound above."""
    det = chk["details"]
    pts = doc["instance"]["points"]
    m = doc.get("objects", {}).get("network", {}).get("m")
    print(f"theorem 5.3 sandwich, {len(pts)} points, m = {m}, d = {len(pts[0])}, "
          f"rho = {float(Fraction(doc['instance']['rho'])):g}, domain {domain}", file=stream)
    print(f"{'i':>4} {'attack (estimate)':>18} {'upper (sound)':>15} {'gap':>11} {'upper/attack':>13}  masking",
          file=stream)
    for i, p in enumerate(det["per_point"]):
        r = "-" if p["ratio"] is None else f"{p['ratio']:.4f}"
        print(f"{i:4d} {p['attack']:18.8g} {float(Fraction(p['upper'])):15.8g} {p['gap']:11.3g} {r:>13}  "
              f"{'yes' if p['gradient_masking'] else 'no'}", file=stream)
    print(f"L_A = {det['attack']:.8g} (estimate)  <=  L_A* <=  {det['upper_float']:.8g} (sound-bound);  "
          f"eps = {float(Fraction(doc['instance']['eps'])):g}: {chk['verdict']} ({det['reason']})", file=stream)
