"""What a reader sees of a certificate, made from the file alone (never recomputed).

* :mod:`.words` — the headline in words (Definition 3.4 to Theorem 5.3 / Theorem 4.1);
* :mod:`.table` — terminal tables of the checks, the estimates' reasons, the constants;
* :mod:`.plots` — the certified plane (Lemma 6.4, Claim 6.3), the measured plane (Lemma 6.5,
  Theorem 5.1, Theorem 5.3) and the training curves (Theorems 5.2 and 4.1);
* :mod:`.html` — ``advcert report``: one self-contained HTML or Markdown page.

Numbers are shown with their labels; an estimate is never printed as if it held
(docs/verdicts.md).
"""

from advcert.report.html import render_html, render_md, write_report
from advcert.report.plots import figures, is_training, plot, plot_certificate, plot_training
from advcert.report.table import print_sandwich, print_table, rows, show
from advcert.report.words import estimate_notes, fmt, headline, robust_interval, source_name, widths

__all__ = ["estimate_notes", "figures", "fmt", "headline", "is_training", "plot", "plot_certificate", "plot_training",
           "print_sandwich", "print_table", "robust_interval", "rows", "show",
           "render_html", "render_md", "source_name", "widths", "write_report"]
