"""The browser check finds what it promises to find, on a small site with planted faults.

Skipped without Chromium (install Debian's `chromium`); `make test-browser` runs the real check on
the built book.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from redundancy import browser

CHROMIUM = browser.find_browser()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")

# A 1 x 1 PNG.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
FILLER = "<p>" + "Readable text for the page. " * 20 + "</p>"


def _page(body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>t</title></head><body><main>{body}{FILLER}</main></body></html>"


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    root = tmp_path / "html"
    (root / "sub").mkdir(parents=True)
    (root / "pixel.png").write_bytes(PIXEL)
    (root / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=good.html" />')
    (root / "good.html").write_text(_page('<h1 id="top">Good</h1><img src="pixel.png">'
                                          '<a href="sub/bad.html#here">bad</a> <a href="good.html#top">self</a>'))
    (root / "sub" / "bad.html").write_text(_page(
        '<h1 id="here">Bad</h1><img src="../missing.png"><a href="../nowhere.html">gone</a>'
        '<a href="../good.html#no-such-anchor">anchor</a>'
        "<p>wrote /home/someone/checkout/results/mini/x.json</p>"
        '<div class="cell_input"><pre>' + "x = 1  # " + "a very long line " * 40 + "</pre></div>"
        "<script>undefinedFunction()</script>"))
    return root


@needs_chromium
def test_good_page_passes_and_planted_faults_are_found(site: Path, tmp_path: Path) -> None:
    reports = {r.path: r for r in browser.crawl(site, CHROMIUM, tmp_path / "shots", machine_paths=[])}
    assert set(reports) == {"index.html", "good.html", "sub/bad.html"}
    assert reports["good.html"].problems == []
    assert reports["good.html"].images == 1
    problems = "\n".join(reports["sub/bad.html"].problems)
    assert "image did not load: missing.png" in problems
    assert "broken link to nowhere.html" in problems
    assert "broken anchor good.html#no-such-anchor" in problems
    assert "JavaScript exception" in problems and "undefinedFunction" in problems
    assert "shows the machine path /home/someone/checkout/" in problems
    assert "HTTP 404 for missing.png" in problems
    assert "code block scrolls sideways" in problems
    assert (tmp_path / "shots" / "good.png").stat().st_size > 0


def test_skips_without_a_browser_unless_ci(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setattr(browser, "find_browser", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    assert browser.main([str(tmp_path)]) == 0
    assert "SKIPPED" in capsys.readouterr().out
    monkeypatch.setenv("CI", "1")
    assert browser.main([str(tmp_path)]) == 1
