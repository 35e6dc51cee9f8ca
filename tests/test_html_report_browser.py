"""The HTML page as a real browser lays it out (issue 14): Debian's Chromium, headless, driven over
the DevTools protocol (headless_chromium.py).

At a phone's width (375 px, as a phone shows it: the page's viewport tag honoured) and a
desktop's (1280 px), with every fold open (a reader may open them all): nothing is wider than the
screen, every chart and each of its parts fit in the chart's box, chart text stays readable
(never under 12 px: a chart scaled down with the screen would shrink it), and the headings come
business first. In print (A4): every chart section is kept whole with its heading, the warnings'
folded rows unfold, the passed checks stay folded.

Marked ``browser``: without Chromium these tests skip, and a skip fails CI (tests/conftest.py),
where .ci/run installs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from headless_chromium import Chromium, chromium_path
from month_builders import planted_month, published_months, run_month
from test_html_report import BUSINESS_FIRST

pytestmark = pytest.mark.browser

PHONE, DESKTOP = 375, 1280
A4_WIDTH = 680  # CSS pixels between the 1.5 cm margins of an A4 page (210 mm - 30 mm at 96 dpi)
MIN_CHART_TEXT = 12  # px

MEASURE = r"""(() => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  const root = document.documentElement, width = root.clientWidth;
  const box = (e) => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width, height: r.height}; };
  const textNodes = (node) => { const found = [], walk = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) if (walk.currentNode.textContent.trim() && !walk.currentNode.parentElement.closest('title, style'))
      found.push(walk.currentNode);
    return found; };
  const textBox = (node) => { const range = document.createRange(); range.selectNodeContents(node); return range.getBoundingClientRect(); };
  const beyond = [...document.body.querySelectorAll('*')].filter(e => { const r = e.getBoundingClientRect();
      return r.width > 0 && (r.right > width + 0.5 || r.left < -0.5); })
    .concat(textNodes(document.body).filter(n => textBox(n).right > width + 0.5))
    .map(e => (e.tagName || 'text') + ': ' + e.textContent.trim().slice(0, 60));
  const figures = [...document.querySelectorAll('figure')].map(f => {
    const frame = f.getBoundingClientRect();
    const parts = [...f.querySelectorAll('*')].filter(e => !e.closest('title'))
      .map(e => [e, e.getBoundingClientRect()]).concat(textNodes(f).map(n => [n.parentElement, textBox(n)]))
      .filter(([, r]) => r.width > 0 && (r.left < frame.left - 0.5 || r.right > frame.right + 0.5))
      .map(([e]) => e.tagName + '.' + e.getAttribute('class') + ': ' + e.textContent.trim().slice(0, 40));
    const sizes = textNodes(f).map(n => parseFloat(getComputedStyle(n.parentElement).fontSize));
    return {id: f.id, box: box(f), outside: parts, minText: Math.min(...sizes), texts: sizes.length};
  });
  const plot = document.querySelector('.hist .plot'), svg = plot && plot.querySelector('svg');
  return {width, scrollWidth: root.scrollWidth, beyond: beyond.slice(0, 10), figures,
          plot: plot && box(plot), svg: svg && box(svg),
          headings: [...document.querySelectorAll('h2')].map(h => h.textContent)};
})()"""

FOLDS = r"""(() => {
  // checkVisibility: false inside a closed fold (content-visibility: hidden), whose boxes keep their size
  const shown = (d) => [...d.children].filter(c => c.tagName !== 'SUMMARY').some(c => c.checkVisibility());
  const section = (f) => f.closest('section');
  return {
    warnings: [...document.querySelectorAll('.warning details, table.kv details')].map(shown),
    passed: [...document.querySelectorAll('details:not(.unfold)')].map(shown),
    charts: [...document.querySelectorAll('figure')].map(f => ({
      heading: section(f).querySelector('h2').textContent,
      keptWhole: getComputedStyle(section(f)).breakInside,
      headingKeptWithNext: getComputedStyle(section(f).querySelector('h2')).breakAfter})),
  };
})()"""


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        pytest.skip("chromium not installed (apt-get install -y chromium; .ci/run does it)")
    with Chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def sample_page(tmp_path_factory) -> Path:
    return published_months(tmp_path_factory)["out"] / "2026-11" / "rapport_qualite.html"


@pytest.fixture(scope="module")
def planted_page(tmp_path_factory) -> Path:
    return planted_month(tmp_path_factory) / "rapport_qualite.html"


def layout(browser: Chromium, page: Path, width: int) -> dict:
    browser.open(page.as_uri(), width, mobile=width == PHONE)
    return browser.evaluate(MEASURE)


def assert_fits(m: dict, width: int) -> None:
    assert m["width"] == width
    assert m["scrollWidth"] <= width, f"page {m['scrollWidth']} px wide on a {width} px screen: {m['beyond']}"
    assert [f["id"] for f in m["figures"]] == ["repartition", "top-produits", "distribution-prix", "volumes"]
    for figure in m["figures"]:
        assert 0 <= figure["box"]["left"] and figure["box"]["right"] <= width, figure
        assert figure["box"]["height"] > 0 and figure["outside"] == [], figure
        assert figure["texts"] > 0 and figure["minText"] >= MIN_CHART_TEXT, figure
    assert m["plot"]["width"] > 0.6 * m["figures"][2]["box"]["width"] and m["plot"]["height"] >= 150
    assert m["svg"] == m["plot"] or all(abs(m["svg"][k] - m["plot"][k]) <= 2 for k in m["plot"])  # bars fill the plot
    assert [h.split(" :")[0] for h in m["headings"]] == BUSINESS_FIRST


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_sample_page_fits_the_screen(browser, sample_page, width):
    assert_fits(layout(browser, sample_page, width), width)


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_planted_page_fits_the_screen(browser, planted_page, width):
    assert_fits(layout(browser, planted_page, width), width)


@pytest.mark.slow
def test_real_page_fits_the_screen(browser, real_dir, tmp_path):
    run_month(real_dir, tmp_path, "2026-11")
    for width in (PHONE, DESKTOP):
        assert_fits(layout(browser, tmp_path / "2026-11" / "rapport_qualite.html", width), width)


def test_the_check_can_fail(browser, sample_page, tmp_path):
    """The same page with one table forced wider than a phone: the measure sees it."""
    page = tmp_path / "wide.html"
    text = sample_page.read_text(encoding="utf-8")
    page.write_text(text.replace("<table ", '<table style="min-width:600px" ', 1), encoding="utf-8")
    m = layout(browser, page, PHONE)
    assert m["scrollWidth"] > PHONE and m["beyond"]


def test_print_keeps_each_chart_with_its_heading_and_unfolds_the_warnings(browser, sample_page, tmp_path):
    browser.open(sample_page.as_uri(), A4_WIDTH, media="screen")
    screen = browser.evaluate(FOLDS)
    assert screen["warnings"] and not any(screen["warnings"])  # folded on screen
    browser.open(sample_page.as_uri(), A4_WIDTH, media="print")
    printed = browser.evaluate(FOLDS)
    assert all(printed["warnings"])  # every warning's rows and every premium list on paper
    assert printed["passed"] and not any(printed["passed"])  # the passed checks stay folded
    assert [c["heading"] for c in printed["charts"]] == [
        "Répartition du CA",
        "Les 10 produits au plus fort chiffre d'affaires",
        "Distribution des prix et seuil premium",
        "Volumes à chaque étape",
    ]
    assert all(c["keptWhole"] == "avoid" and c["headingKeptWithNext"] == "avoid" for c in printed["charts"])
    pdf = browser.pdf(tmp_path / "page.pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
