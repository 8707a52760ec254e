"""Print the markdown tables of docs/theory-vs-practice.md from the shipped scans.

    PYTHONPATH=$PWD python certificates/scans/tables.py certificates/scans/two-point.json ...

Every number on the page comes from these files; tests/test_scan.py parses the page back and
checks each number against them.
"""

from __future__ import annotations

import math
import sys

from advcert.scan import merge


def width(m) -> str:
    if m is None:
        return "—"
    e = math.log2(m)
    return f"2^{int(e)}" if e == int(e) else str(int(m))


def log10(x) -> str:
    return "—" if x is None else f"10^{x:.1f}"


def num(x, digits: int = 3) -> str:
    return "—" if x is None else f"{x:+.{digits}f}"


def law_table(doc: dict) -> list[str]:
    lines = ["| link value | label | theorem's width | works from | fails at | fitted exponent | theorem's exponent "
             "| fit reaches it at |", "|---|---|---|---|---|---|---|---|"]
    for name, e in doc["results"]["instances"].items():
        for link, entry in e["links"].items():
            for value, law in entry["laws"].items():
                fit = law["fit"] or {}
                works = width(law["m_work"]) if law["m_work"] else f"> {width(law['m_fail'])}"
                lines.append(f"| {name}: `{value}` | {law['label']} | {log10(law['log10_m_theorem'])} | {works} | "
                             f"{width(law['m_fail'])} | {num(fit.get('exponent'))} | {num(law['theorem_rate'])} | "
                             f"{log10(law['log10_m_extrapolated'])} |")
    return lines


def quantity_table(doc: dict) -> list[str]:
    lines = ["| quantity | theorem | working |", "|---|---|---|"]
    for name, e in doc["results"]["instances"].items():
        th = {k: v for entry in e["links"].values() for k, v in entry["theorem"].items()}
        if "D_paper_claim63" in th:
            lines.append(f"| {name}: degree | {th['D_paper_claim63']:.1f} | {th['D_used']:.0f} |")
        if "T_theorem" in th:
            lines.append(f"| {name}: steps | {th['T_theorem']:.0f} | {th['steps_done']:.0f} |")
    return lines


def grid_width_table(doc: dict, value: str = "theorem-4.1") -> list[str]:
    """One row per instance of a grid: the theorem's width against the working one of ``value``."""
    lines = ["| link value | n | d | ε | theorem's width | works from | fails at |", "|---|---|---|---|---|---|---|"]
    for r in doc["results"]["grid"][value]["rows"]:
        law = doc["results"]["instances"][r["instance"]]["links"]["train"]["laws"][value]
        works = width(law["m_work"]) if law["m_work"] else f"> {width(law['m_fail'])}"
        lines.append(f"| {r['instance']}: `{value}` | {r['n']} | {r['d']} | {r['eps']:g} | "
                     f"{log10(law['log10_m_theorem'])} | {works} | {width(law['m_fail'])} |")
    return lines


def _exp(law: dict, var: str) -> str:
    if var not in law["exponents"]:
        return "—"
    ci = law["ci95"].get(var)
    return num(law["exponents"][var], 2) + ("" if ci is None else f" [{num(ci[0], 2)}, {num(ci[1], 2)}]")


def grid_law_table(doc: dict, values=("theorem-4.1", "theorem-4.1/min_L_A")) -> list[str]:
    """The fitted m_min ∝ n^a d^b ε^{-c} of each value, then the same fit of the theorem's widths."""
    lines = ["| grid law | instances fitted | a (n^a) | b (d^b) | c (ε^-c) | rms residual (ln) |",
             "|---|---|---|---|---|---|"]
    g = doc["results"]["grid"]
    fits = [(f"`{v}`", g[v]["law"]) for v in values] + [("theorem's width", g[values[0]]["theorem_law"])]
    for key, law in fits:
        if law is not None:
            lines.append(f"| grid: {key} | {law['rows']} | {_exp(law, 'n')} | {_exp(law, 'd')} | {_exp(law, 'eps')} "
                         f"| {law['rms_residual_log']:.2f} |")
    return lines


def main(paths: list[str]) -> int:
    for p in paths:
        doc = merge.read(p)
        print(f"\n{p}\n")
        if doc["results"].get("grid"):
            print("\n".join(grid_law_table(doc)))
            print()
            print("\n".join(grid_width_table(doc)))
            continue
        print("\n".join(law_table(doc)))
        print()
        print("\n".join(quantity_table(doc)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
