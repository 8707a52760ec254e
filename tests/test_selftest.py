"""``advcert selftest`` passes on this installation and reports each step."""

import io

from advcert.selftest import run


def test_selftest_passes():
    buf = io.StringIO()
    assert run(stream=buf) == 0
    text = buf.getvalue()
    assert "FAIL" not in text and text.count("ok  ") == 5
