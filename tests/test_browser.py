"""``advcert report`` pages in a real headless Chromium (the headline of Theorem 5.3 / Theorem 4.1,
the figures of Lemma 6.4, Claim 6.3 and the measured plane, all from the certificate).

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: NUL-framed
JSON on file descriptors 3 and 4, no socket, no websocket), which gives the console errors and
uncaught exceptions as events, the layout (is the headline above the fold, did every image
decode) and a screenshot. ``--dump-dom`` gives the DOM as Chromium built it. A negative control
(a page with a failing script) proves the error detector can fail. Skips when Chromium is absent;
``.ci/run`` installs it.
"""

from __future__ import annotations

import base64
import copy
import fcntl
import io
import json
import os
import select
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from advcert import certificate
from advcert.cli import main
from advcert.report import render_html

HERE = Path(__file__).resolve().parent.parent / "certificates"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium; "
                                                         ".ci/run installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--window-size=1280,900"]
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


class Chromium:
    """One headless Chromium on a DevTools pipe, attached to one page."""

    def __init__(self, profile: Path):
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()
        # above 10 so that the dup2 onto 3 and 4 in the child cannot clobber one with the other
        hi_r, hi_w = fcntl.fcntl(to_r, fcntl.F_DUPFD_CLOEXEC, 10), fcntl.fcntl(from_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_r)
        os.close(from_w)

        def child():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                                      "about:blank"], preexec_fn=child, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(hi_r)
        os.close(hi_w)
        self._buf, self._id, self.events = b"", 0, []
        target = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session=True)

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from_r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, session: bool = False, timeout: float = 30.0, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]
            self.events.append(m)

    def wait_event(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        for m in self.events:
            if m.get("method") == method:
                return m
        while True:
            m = self._read(deadline)
            self.events.append(m)
            if m.get("method") == method:
                return m

    def load(self, url: str) -> None:
        self.call("Page.navigate", session=True, url=url)
        self.wait_event("Page.loadEventFired")
        self.call("Runtime.evaluate", session=True, expression="1", awaitPromise=True)  # let pending events land

    def evaluate(self, expression: str):
        res = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        assert "exceptionDetails" not in res, res
        return res["result"].get("value")

    def errors(self) -> list[str]:
        """Uncaught exceptions, console.error/assert and error-level log entries (CSP included)."""
        out = []
        for m in self.events:
            p = m.get("params", {})
            if m.get("method") == "Runtime.exceptionThrown":
                det = p.get("exceptionDetails", {})
                out.append(f"Uncaught: {det.get('exception', {}).get('description', det.get('text'))}"[:300])
            elif m.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.error: " + json.dumps(p.get("args"))[:300])
            elif m.get("method") == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log error: " + p["entry"].get("text", "")[:300])
        return out

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (TimeoutError, EOFError, RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_w)
        os.close(self._from_r)


@pytest.fixture
def browser(tmp_path):
    b = Chromium(tmp_path / "profile")
    yield b
    b.close()


def _page(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p.as_uri()


_FACTS = """JSON.stringify({
  imgs: [...document.images].map(i => ({src: i.getAttribute('src').slice(0, 22), complete: i.complete,
          w: i.naturalWidth, h: i.naturalHeight})),
  headline: (() => { const h = document.getElementById('headline'); const r = h.getBoundingClientRect();
             return {text: h.innerText, top: r.top, bottom: r.bottom, left: r.left, right: r.right}; })(),
  viewport: innerHeight, scripts: document.getElementsByTagName('script').length,
  pwned: window.__pwned === undefined ? null : window.__pwned,
  verdicts: [...document.querySelectorAll('#checks td.v')].map(td => td.textContent)})"""


def _decode_png(data: bytes):
    from PIL import Image

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    im = Image.open(io.BytesIO(data))
    im.load()
    return im.convert("RGB")


def test_headline_report_loads_renders_and_shows_the_headline(tmp_path, browser):
    out = tmp_path / "headline.html"
    assert main(["report", str(HERE / "headline.json"), "--format", "html", "--out", str(out), "--quiet"]) == 0
    browser.load(out.as_uri())
    facts = json.loads(browser.evaluate(_FACTS))
    assert browser.errors() == []
    assert len(facts["imgs"]) == 2, facts["imgs"]  # the certified and the measured plane
    for im in facts["imgs"]:
        assert im["src"].startswith("data:image/png;base64") and im["complete"] and im["w"] > 300 and im["h"] > 200, im
    assert facts["scripts"] == 0
    head = facts["headline"]
    assert "Certified at paper scale" in head["text"] and "orders of magnitude short" in head["text"]
    assert "theorem-5.3 infeasible" in head["text"]
    assert 0 <= head["top"] < head["bottom"] <= facts["viewport"], head  # above the fold
    doc = certificate.read(HERE / "headline.json")
    assert facts["verdicts"] == [c["verdict"] for c in doc["checks"]]
    # the screenshot: not blank, and the headline box (its tinted background) holds dark text pixels
    raw = base64.b64decode(browser.call("Page.captureScreenshot", session=True, format="png")["data"])
    (tmp_path / "shot.png").write_bytes(raw)  # kept for a person to look at (pytest --basetemp)
    shot = _decode_png(raw)
    assert shot.size[1] >= head["bottom"]
    box = shot.crop((int(head["left"]) + 8, int(head["top"]) + 4, int(head["right"]) - 4, int(head["bottom"]) - 4))
    px = np.asarray(box, dtype=int).reshape(-1, 3)
    dark = int((px.sum(axis=1) < 200).sum())
    tint = int((px == (0xf3, 0xf6, 0xfa)).all(axis=1).sum())
    assert dark > 2000, dark  # three lines of text
    assert tint > len(px) // 2, (tint, len(px))  # the box itself is there behind the text
    assert len(np.unique(np.asarray(shot).reshape(-1, 3), axis=0)) > 50  # not a blank page


def test_training_report_has_its_curves(tmp_path, browser):
    out = tmp_path / "train.html"
    assert main(["report", str(HERE / "train-regression.json"), "--out", str(out), "--quiet"]) == 0
    browser.load(out.as_uri())
    facts = json.loads(browser.evaluate(_FACTS))
    assert browser.errors() == []
    assert len(facts["imgs"]) == 1 and facts["imgs"][0]["complete"] and facts["imgs"][0]["w"] > 300
    assert "theorem-4.1 holds (sound-bound)" in facts["headline"]["text"]


def test_error_detector_can_fail(tmp_path, browser):
    url = _page(tmp_path, "bad.html", "<!DOCTYPE html><html><body><p id=headline>x</p>"
                                      "<img src='missing.png'><script>console.error('c'); throw new Error('boom')"
                                      "</script></body></html>")
    browser.load(url)
    errs = browser.errors()
    assert any(e.startswith("Uncaught") and "boom" in e for e in errs), errs
    assert any(e.startswith("console.error") for e in errs), errs
    assert any("ERR_FILE_NOT_FOUND" in e for e in errs), errs  # a missing resource is an error too
    facts = json.loads(browser.evaluate(_FACTS))
    assert facts["imgs"][0]["w"] == 0  # and a broken image is seen as broken


def test_hostile_certificate_text_renders_as_text(tmp_path, browser):
    doc = copy.deepcopy(certificate.read(HERE / "headline.json"))
    doc["checks"][0]["claim"] = HOSTILE
    doc["checks"][1]["method"] = HOSTILE
    doc["instance"]["source"] = {"kind": "file", "path": f"/data/{HOSTILE}.csv"}
    doc["constants"]["m"]["note"] = HOSTILE
    doc["producer"]["cpu"] = HOSTILE
    url = _page(tmp_path, "hostile.html", render_html(doc))
    browser.load(url)
    facts = json.loads(browser.evaluate(_FACTS))
    assert facts["scripts"] == 0 and facts["pwned"] is None
    assert len(facts["imgs"]) == 2 and all(i["src"].startswith("data:image/png") for i in facts["imgs"])
    assert browser.evaluate("document.body.innerText").count("<script>window.__pwned = 1</script>") >= 4
    assert browser.errors() == []


class _Imgs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.scripts = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))
        elif tag == "script":
            self.scripts += 1


def test_dump_dom_images_are_png_data_uris(tmp_path):
    doc = copy.deepcopy(certificate.read(HERE / "headline.json"))
    doc["checks"][-1]["claim"] = HOSTILE
    url = _page(tmp_path, "page.html", render_html(doc))
    res = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'p'}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=60, check=True)
    parser = _Imgs()
    parser.feed(res.stdout)
    assert parser.scripts == 0
    assert len(parser.imgs) == 2
    for im in parser.imgs:
        head, _, data = im["src"].partition(",")
        assert head == "data:image/png;base64"
        png = _decode_png(base64.b64decode(data, validate=True))
        assert png.size[0] > 300 and png.size[1] > 200
        assert "onerror" not in im
    assert "&lt;script&gt;window.__pwned" in res.stdout
