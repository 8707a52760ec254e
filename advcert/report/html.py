"""``advcert report``: one self-contained page of a certificate (HTML or Markdown).

The page holds, in order: the headline in words (Definition 3.4 to Theorem 5.3 / Theorem 4.1,
from :mod:`advcert.report.words`), the checks with their labels and verdicts, why each estimate
says what it says, the figures (the certified plane of Lemma 6.4 and Claim 6.3, the measured
plane of Lemma 6.5, Theorem 5.1 and Theorem 5.3, or Algorithm 1's curves for Theorems 5.2 and
4.1) embedded as base64 PNG data URIs, the constants, the parameters and the provenance
(commit, dirty flag, CPU, packages).

Every string taken from the certificate is escaped (a certificate is input, possibly hostile: a
claim holding ``<script>`` renders as text), and the page's Content-Security-Policy allows no
script and no resource outside the file.
"""

from __future__ import annotations

import base64
import html
import re

from advcert.certificate import write_atomic
from advcert.errors import InputError
from advcert.report.plots import figures
from advcert.report.table import value_vs_bound
from advcert.report.words import estimate_notes, fmt, headline, source_name

VERDICTS = ("holds", "fails", "observed", "violated", "vacuous", "infeasible")
_LEGEND = (
    ("holds", "a rigorous check (exact, enclosure, sound-bound): value relation bound is proved"),
    ("fails", "a rigorous check whose proved value breaks its bound: the claim is refuted for this input"),
    ("observed", "an estimate that meets the claim (evidence, not proof)"),
    ("violated", "an estimate that breaks the claim at a size where the theorem applies"),
    ("vacuous", "the claim is weaker than a trivial bound at this size: it says nothing here"),
    ("infeasible", "the claim needs a size (width, precision) no machine holds; the theorem does not apply here"),
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.2em auto;max-width:1200px;padding:0 1em;
color:#1a1a1a;line-height:1.4}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:1.6em}
#headline{background:#f3f6fa;border-left:5px solid #2b6cb0;padding:.6em 1em;font-size:1.05em}
#headline p{margin:.35em 0}
table{border-collapse:collapse;font-size:.88em;width:100%}th,td{border:1px solid #ddd;padding:3px 6px;
vertical-align:top;text-align:left}th{background:#f0f0f0}td.num{font-family:ui-monospace,monospace;white-space:nowrap}
td.v{font-weight:600;white-space:nowrap}.v-holds{color:#17663a}.v-fails,.v-violated{color:#b00020}
.v-observed{color:#245}.v-vacuous,.v-infeasible{color:#8a5a00}.sub{color:#555;font-size:.9em}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{color:#555;font-size:.9em}
code{font-family:ui-monospace,monospace;font-size:.92em}
"""
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def esc(value) -> str:
    """HTML-escaped text of any certificate value (quotes too: safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _vclass(verdict) -> str:
    return f"v-{verdict}" if verdict in VERDICTS else "v-other"


def _table(head: list[str], rows: list[list[tuple[str, str]]]) -> str:
    """An HTML table; each cell is (css class, already-escaped html)."""
    out = ["<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>" for cls, text in r)
                   + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _provenance(doc: dict) -> list[tuple[str, str]]:
    p = doc.get("producer") or {}
    git = p.get("git") or {}
    return [("advcert version", p.get("version")), ("git commit", git.get("commit")),
            ("working tree dirty", git.get("dirty")), ("CPU", p.get("cpu")), ("platform", p.get("platform")),
            ("python", p.get("python")), ("argv", " ".join(str(a) for a in p.get("argv") or [])),
            ("created", doc.get("created")), ("certificate sha256", doc.get("sha256")),
            ("format", f"{doc.get('format')} version {doc.get('version')}")]


def _instance(doc: dict) -> list[tuple[str, str]]:
    inst = doc.get("instance") or {}
    keep = [(k, inst.get(k)) for k in ("n", "d", "gamma", "eps", "rho", "seed", "entropy") if k in inst]
    return keep + [("data source", source_name(doc))] + [(f"parameters.{k}", v) for k, v in (doc.get("parameters") or {}).items()]


def render_html(doc: dict) -> str:
    """The whole page as one HTML string (no script, no external resource)."""
    checks = doc.get("checks") or []
    title = f"advcert certificate: {source_name(doc)}"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>",
             f'<p class="sub">sha256 <code>{esc(doc.get("sha256"))}</code>, created {esc(doc.get("created"))}</p>',
             '<section id="headline">' + "".join(f"<p>{esc(ln)}</p>" for ln in headline(doc)) + "</section>"]
    rows = [[("v " + _vclass(c.get("verdict")), esc(c.get("verdict"))), ("num", esc(c.get("id"))),
             ("", esc(c.get("label"))), ("num", esc(value_vs_bound(c, wide=True))), ("", esc(c.get("claim"))),
             ("", esc(c.get("method")))] for c in checks]
    parts += ['<section id="checks"><h2>Checks</h2>',
              _table(["verdict", "check", "label", "value vs bound", "claim", "method"], rows), "</section>"]
    notes = estimate_notes(doc)
    if notes:
        parts.append('<section id="estimates"><h2>Why the estimates say what they say</h2><ul>')
        parts += [f'<li><span class="v {_vclass(v)}">{esc(v)}</span> <code>{esc(cid)}</code>: {esc(n)}</li>'
                  for cid, v, n in notes]
        parts.append("</ul></section>")
    parts.append('<section id="figures"><h2>Figures</h2>')
    for caption, png in figures(doc):
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
                     f"<figcaption>{esc(caption)}; data: {esc(source_name(doc))}</figcaption></figure>")
    parts.append("</section>")
    consts = doc.get("constants") or {}
    if consts:
        crow = [[("num", esc(k)), ("num", esc(fmt(v.get("value") if isinstance(v, dict) else v))),
                 ("", esc(v.get("label") if isinstance(v, dict) else "")),
                 ("", esc(v.get("note") if isinstance(v, dict) else ""))] for k, v in consts.items()]
        parts += ['<section id="constants"><h2>Constants</h2>', _table(["constant", "value", "label", "note"], crow),
                  "</section>"]
    parts += ['<section id="instance"><h2>Instance and parameters</h2>',
              _table(["field", "value"], [[("num", esc(k)), ("num", esc(fmt(v)))] for k, v in _instance(doc)]),
              "</section>"]
    pkgs = (doc.get("producer") or {}).get("packages") or {}
    prov = [[("", esc(k)), ("num", esc(v))] for k, v in _provenance(doc)]
    prov += [[("", esc(f"package {k}")), ("num", esc(v))] for k, v in sorted(pkgs.items())]
    parts += ['<section id="provenance"><h2>Provenance</h2>', _table(["field", "value"], prov), "</section>"]
    parts += ['<section id="verdicts"><h2>The verdict words</h2><ul>']
    parts += [f'<li><span class="v {_vclass(w)}">{esc(w)}</span>: {esc(m)}</li>' for w, m in _LEGEND]
    parts += ["</ul><p class=\"sub\">Defined once in docs/verdicts.md, with the mapping to α,β-CROWN's "
              "safe / unsafe / unknown.</p></section>", "</body></html>", ""]
    return "\n".join(parts)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_esc(value) -> str:
    """Markdown text of a certificate value: HTML-escaped, then markdown's specials backslashed."""
    text = html.escape("" if value is None else str(value), quote=False).replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(md_esc(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(md_esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def render_md(doc: dict) -> str:
    """The same page as Markdown (figures as data-URI images)."""
    out = [f"# {md_esc('advcert certificate: ' + source_name(doc))}", "",
           f"sha256 {md_esc(doc.get('sha256'))}, created {md_esc(doc.get('created'))}", ""]
    out += [f"> {md_esc(ln)}\n>" for ln in headline(doc)] + [""]
    out += ["## Checks", "", _md_table(["verdict", "check", "label", "value vs bound", "claim"],
                                       [[c.get("verdict"), c.get("id"), c.get("label"), value_vs_bound(c, wide=True),
                                         c.get("claim")] for c in doc.get("checks") or []]), ""]
    notes = estimate_notes(doc)
    if notes:
        out += ["## Why the estimates say what they say", ""] + [f"* **{md_esc(v)}** {md_esc(cid)}: {md_esc(n)}"
                                                                 for cid, v, n in notes] + [""]
    out += ["## Figures", ""]
    for caption, png in figures(doc):
        out += [f"![{md_esc(caption)}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})", ""]
    consts = doc.get("constants") or {}
    if consts:
        out += ["## Constants", "", _md_table(["constant", "value", "label", "note"], [
            [k, fmt(v.get("value")), v.get("label"), v.get("note")] for k, v in consts.items() if isinstance(v, dict)]), ""]
    out += ["## Instance and parameters", "", _md_table(["field", "value"], [[k, fmt(v)] for k, v in _instance(doc)]), ""]
    pkgs = (doc.get("producer") or {}).get("packages") or {}
    prov = [[k, v] for k, v in _provenance(doc)] + [[f"package {k}", v] for k, v in sorted(pkgs.items())]
    out += ["## Provenance", "", _md_table(["field", "value"], prov), ""]
    out += ["## The verdict words", ""] + [f"* **{w}**: {md_esc(m)}" for w, m in _LEGEND] + [""]
    return "\n".join(out)


def write_report(doc: dict, out, kind: str = "html") -> None:
    """Write the page for ``doc`` to ``out`` atomically (``kind`` is ``html`` or ``md``)."""
    if kind not in ("html", "md"):
        raise InputError(f"unknown report format {kind!r}", "pass --format html or --format md")
    write_atomic(out, render_html(doc) if kind == "html" else render_md(doc))
