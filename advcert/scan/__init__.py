"""``advcert scan``: the width law of the proof's links, over widths, seeds and instances (issue 12).

:mod:`.config` (flags/TOML → a frozen :class:`~advcert.scan.config.ScanConfig`), :mod:`.shards`
(one task per (instance, width, seed, link), its record and file), :mod:`.execute` (a task
through :mod:`advcert.pipeline`), :mod:`.runner` (process pool or Dask, resume), :mod:`.merge`
(re-check every shard, aggregate into scan.json), :mod:`.laws` (working widths, fits against the
theorem's rates, Theorems 5.1/5.3 and Lemma 6.5 of the paper), :mod:`.plots`.
Results and method: docs/theory-vs-practice.md.
"""
