"""The built site in a real browser: Debian's Chromium driven by Playwright, the site served from
127.0.0.1 and every request to any other address blocked and reported. Each page is visited once
at desktop width (what it loads, logs, renders and links is recorded, and a screenshot taken),
each chapter once more at phone width; the tests below judge those records.

Screenshots land in ``_build/screenshots/<page>-desktop.png`` and ``<page>-phone.png``.
"""
import functools
import html
import http.server
import re
import shutil
import struct
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.built_site import ROOT, SITE_TESTS, site_dir  # noqa: F401 (fixture)

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-quic", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SOFTMAX_CHAPTER = "book/03_softmax.html"
EDITIONS = ("", "zh_CN/")  # where each edition's pages are under the site root

pytestmark = [
    pytest.mark.slow,
    SITE_TESTS,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (`make system-deps`)"),
]

# Runs in the page once it has loaded: waits for MathJax and the images, then reports.
INSPECT_JS = """async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const mathNodes = document.querySelectorAll('.math');
  let mathjax = 'not needed';
  if (mathNodes.length) {
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) await sleep(50);
    mathjax = window.MathJax && MathJax.startup ? 'loaded' : 'missing';
    if (mathjax === 'loaded') await MathJax.startup.promise;
  }
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null :
    new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); setTimeout(r, 10000); })));
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('pre, code, script, style, textarea, mjx-container, .highlight')) continue;
    const text = node.textContent;
    if (/\\$\\$|\\\\\\(|\\\\\\[|\\\\begin\\{|\\$[^$\\s][^$]*\\\\[a-zA-Z]+[^$]*\\$/.test(text)) raw.push(text.trim().slice(0, 120));
  }
  const script = document.querySelector('script[src*="mathjax"]');
  const href = sel => { const a = document.querySelector(sel); return a ? a.href : null; };
  return {
    mathNodes: mathNodes.length,
    unrendered: Array.from(mathNodes).filter(n => !n.querySelector('mjx-container')).map(n => n.textContent.trim().slice(0, 80)),
    mathjax, mathjaxSrc: script ? script.src : null, raw,
    images: images.map(img => ({src: img.currentSrc || img.src, alt: (img.getAttribute('alt') || '').trim(),
                                complete: img.complete, width: img.naturalWidth})),
    links: Array.from(document.querySelectorAll('a[href]'), a => a.href),
    prev: href('.prev-next-area a.left-prev'), next: href('.prev-next-area a.right-next'),
    switch: Array.from(document.querySelectorAll('a.edition-switch'), a => a.href),
  };
}"""

# The outermost elements that stick out past the right edge of the window (ignoring those inside
# a box that scrolls or clips), to say what makes a page too wide.
OVERFLOW_JS = """(width) => {
  const out = [], clips = el => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(el).overflowX);
  const describe = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect(), right = box.right, parent = el.parentElement;
    if (right <= width + 1 || parent.getBoundingClientRect().right > width + 1) continue;
    // boxes that follow a widened window, fixed ones and clipped ones do not widen the page
    if (box.left <= 1 && right >= window.innerWidth - 1) continue;
    let a = el, clipped = false;
    for (; a && a !== document.body && !clipped; a = a.parentElement)
      clipped = getComputedStyle(a).position === 'fixed' || (a !== el && clips(a));
    if (!clipped) out.push(`${describe(el)} in ${describe(parent)} reaches ${Math.round(right)} px: ` +
                           JSON.stringify(el.textContent.trim().slice(0, 60)));
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, culprits: out.slice(0, 5)};
}"""


@dataclass
class Visit:
    """What one page did in the browser."""
    page: str
    errors: list = field(default_factory=list)      # console errors, uncaught exceptions, failed local loads
    outside: list = field(default_factory=list)     # requests to anywhere but the local server (blocked)
    report: dict = field(default_factory=dict)      # INSPECT_JS's answer


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def toc_pages(root):
    """The site pages in the order of ``_toc.yml``: root, then every part's chapters and their sections."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text())

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                yield str(Path(entry["file"]).with_suffix(".html"))
            elif "glob" in entry:
                raise ValueError(f"_toc.yml: expected file entries, got a glob {entry['glob']!r}; list the files")
            yield from walk(entry.get("sections"))

    return [str(Path(toc["root"]).with_suffix(".html"))] + [
        page for part in toc.get("parts", [{"chapters": toc.get("chapters")}]) for page in walk(part["chapters"])]


def site_pages(site):
    """Every HTML page of the built site (theme templates under _static and copies under _sources left out)."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not any(part.startswith("_") for part in p.relative_to(site).parts))


def redirects(site):
    """{page: target} for the pages that only forward the reader (the site's root index.html)."""
    out = {}
    for page in site_pages(site):
        found = re.search(r"""http-equiv=["']refresh["'][^>]*url=([^"'>\s]+)""", (site / page).read_text(errors="replace"), re.I)
        if found:
            out[page] = found.group(1)
    return out


def slug(page):
    return page.removesuffix(".html").replace("/", "-")


def png_width(path):
    """Width in pixels from a PNG file's header."""
    header = Path(path).read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    return struct.unpack(">I", header[16:20])[0]


@pytest.fixture(scope="session")
def server(site_dir):  # noqa: F811
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site_dir)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Session:
    """A browser context that serves only the local site and records what each page does."""

    def __init__(self, browser, base, redirects=None, **options):
        self.base, self.outside, self.redirects = base, [], redirects or {}
        self.context = browser.new_context(**options)
        self.context.route("**/*", self._route)

    def _route(self, route):
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort("blockedbyclient")

    def open(self, page_path, query=""):
        """(Visit, the open Playwright page) after loading ``page_path`` and running INSPECT_JS."""
        visit, page = Visit(page_path), self.context.new_page()
        page.on("console", lambda msg: msg.type == "error" and visit.errors.append(f"console: {msg.text}"))
        page.on("pageerror", lambda err: visit.errors.append(f"uncaught: {err}"))
        page.on("response", lambda r: r.status >= 400 and visit.errors.append(f"HTTP {r.status}: {r.url}"))
        page.on("websocket", lambda ws: self.outside.append(ws.url))
        start = len(self.outside)
        page.goto(self.base + page_path + query, wait_until="load")
        if page_path in self.redirects:
            page.wait_for_url(urllib.parse.urljoin(self.base + page_path, self.redirects[page_path]), wait_until="load")
        visit.report = page.evaluate(INSPECT_JS)
        visit.outside = self.outside[start:]
        return visit, page


@pytest.fixture(scope="session")
def screenshots(site_dir):  # noqa: F811
    folder = site_dir.parent / "screenshots"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


@pytest.fixture(scope="session")
def editions(site_dir):  # noqa: F811
    """{edition prefix: its pages in its _toc.yml's order}: "" for English, "zh_CN/" for Chinese."""
    out = {prefix: [prefix + page for page in toc_pages(ROOT / prefix)] for prefix in EDITIONS}
    missing = [p for pages in out.values() for p in pages if not (site_dir / p).exists()]
    assert not missing, f"a _toc.yml lists pages the built site lacks: {missing}"
    return out


@pytest.fixture(scope="session")
def chapters(editions):
    return [page for pages in editions.values() for page in pages]


@pytest.fixture(scope="session")
def visits(browser, server, site_dir, chapters, screenshots):  # noqa: F811
    """{page: Visit} for every page of the site, at desktop width; chapters are photographed."""
    session, out = Session(browser, server, redirects(site_dir), viewport=DESKTOP), {}
    for page_path in site_pages(site_dir):
        out[page_path], page = session.open(page_path)
        if page_path in chapters:
            page.screenshot(path=screenshots / f"{slug(page_path)}-desktop.png", full_page=True)
        page.close()
    session.context.close()
    return out


def test_every_page_loads_offline_without_errors(visits, chapters):
    assert set(chapters) <= set(visits)
    problems = [f"{v.page}: {e}" for v in visits.values() for e in v.errors]
    problems += [f"{v.page}: request leaving 127.0.0.1 (blocked): {url}" for v in visits.values() for url in v.outside]
    assert not problems, "\n".join(problems)


def test_formulas_render_from_bundled_assets(visits, server):
    with_math = [v for v in visits.values() if v.report["mathNodes"]]
    assert with_math, "no page of the site has a formula; the math check would test nothing"
    problems = []
    for v in with_math:
        r = v.report
        if r["mathjax"] != "loaded" or not (r["mathjaxSrc"] or "").startswith(server):
            problems.append(f"{v.page}: MathJax {r['mathjax']}, script {r['mathjaxSrc']!r} (expected one under {server})")
        problems += [f"{v.page}: formula not rendered: {text!r}" for text in r["unrendered"]]
    problems += [f"{v.page}: raw TeX left in the text: {text!r}" for v in visits.values() for text in v.report["raw"]]
    assert not problems, "\n".join(problems)


def test_every_image_loads_and_has_alt_text(visits):
    problems = []
    for v in visits.values():
        for img in v.report["images"]:
            if not img["complete"] or img["width"] == 0:
                problems.append(f"{v.page}: image did not load: {img['src']}")
            if not img["alt"]:
                problems.append(f"{v.page}: image without alt text: {img['src']}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("edition, query", [("", "cross-entropy"), ("zh_CN/", "交叉熵")])
def test_search_finds_the_softmax_chapter(browser, server, edition, query):
    session = Session(browser, server, viewport=DESKTOP)
    visit, page = session.open(f"{edition}search.html", "?q=" + urllib.parse.quote(query))
    page.wait_for_function("() => { const s = document.querySelector('.search-summary'); return s && s.innerText.trim(); }",
                           timeout=20000)
    summary = page.inner_text(".search-summary")
    found = page.eval_on_selector_all("ul.search li a", "links => links.map(a => a.href)")
    session.context.close()
    assert not visit.errors and not visit.outside, visit
    pages = [urllib.parse.urlsplit(url).path.lstrip("/") for url in found]
    assert edition + SOFTMAX_CHAPTER in pages, f"search for {query!r} ({summary!r}) found {pages}"


def test_each_page_switches_language_at_the_same_section(browser, server, editions, visits):
    """Every page of one edition links to its counterpart; scrolled to a section, the link opens the
    other edition's page at the section of the same place, whose heading is that section's translation."""
    english, chinese = editions[""], editions["zh_CN/"]
    problems = []
    for source, target in [(english, chinese), (chinese, english)]:
        for page_path, other in zip(source, target):
            links = [link for link in visits[page_path].report["switch"]]
            if [urllib.parse.urljoin(server, other)] != links:
                problems.append(f"{page_path}: language switch {links}, expected {other}")
    session = Session(browser, server, viewport=DESKTOP)
    for source, target in [(SOFTMAX_CHAPTER, "zh_CN/" + SOFTMAX_CHAPTER), ("zh_CN/" + SOFTMAX_CHAPTER, SOFTMAX_CHAPTER)]:
        visit, page = session.open(source)
        headings = page.eval_on_selector_all("section[id] > h2", "hs => hs.map(h => h.parentElement.querySelector(\"span[id^='es-']\").id)")
        middle = headings[len(headings) // 2]
        page.eval_on_selector(f"#{middle}", "el => el.scrollIntoView({behavior: 'instant'})")
        with page.expect_navigation():  # a reader's click, without the scrolling Playwright's own click does
            page.eval_on_selector("a.edition-switch", "a => a.click()")
        landed = urllib.parse.urlsplit(page.url)
        if landed.path.lstrip("/") != target or landed.fragment != middle:
            problems.append(f"{source} at #{middle}: the switch opened {page.url}, expected {target}#{middle}")
        elif not page.eval_on_selector(f"#{middle}", "el => el.closest('section').querySelector('h2') !== null"):
            problems.append(f"{target}: #{middle} is not the start of a section with a heading")
        page.close()
    session.context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("edition", EDITIONS)
def test_previous_next_walk_the_table_of_contents(visits, editions, server, edition):
    def page_of(url):
        return url[len(server):].split("#")[0] if url else None

    chapters = editions[edition]
    walked, page = [], chapters[0]
    while page and page not in walked and page in visits:
        walked.append(page)
        page = page_of(visits[page].report["next"])
    assert walked == chapters, f"following 'next' from {chapters[0]} gives\n{walked}\nexpected _toc.yml's order\n{chapters}"
    backwards = [page_of(visits[p].report["prev"]) for p in chapters]
    assert backwards == [None] + chapters[:-1], f"'previous' links: {dict(zip(chapters, backwards))}"


@functools.lru_cache(maxsize=None)
def ids_in(path):
    """The id and name attributes of an HTML file (what a #fragment may point at)."""
    text = Path(path).read_text(errors="replace")
    return {html.unescape(m) for m in re.findall(r"""\b(?:id|name)\s*=\s*["']([^"']*)["']""", text)}


def test_every_internal_link_and_anchor_resolves(visits, server, site_dir):  # noqa: F811
    problems, checked = [], 0
    for v in visits.values():
        for url in sorted(set(v.report["links"])):
            if not url.startswith(server):
                continue
            checked += 1
            parts = urllib.parse.urlsplit(url)
            target = site_dir / urllib.parse.unquote(parts.path).lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            fragment = urllib.parse.unquote(parts.fragment)
            if not target.is_file():
                problems.append(f"{v.page}: link to a missing file: {url}")
            elif fragment and target.suffix == ".html" and fragment not in ids_in(target):
                problems.append(f"{v.page}: no id {fragment!r} in {target.relative_to(site_dir)}: {url}")
    assert checked, "no internal link found; the link check would test nothing"
    assert not problems, "\n".join(problems)


def test_chapters_fit_a_phone_and_are_photographed(browser, server, chapters, visits, screenshots):
    session, problems = Session(browser, server, viewport=PHONE, is_mobile=True, has_touch=True), []
    for page_path in chapters:
        visit, page = session.open(page_path)
        page.screenshot(path=screenshots / f"{slug(page_path)}-phone.png", full_page=True)
        # a phone browser widens its window to fit a page that is too wide: compare with the screen too
        fit = page.evaluate(OVERFLOW_JS, PHONE["width"])
        page.close()
        problems += [f"{page_path} (phone): {e}" for e in visit.errors + visit.outside]
        if fit["scrollWidth"] > min(fit["innerWidth"], PHONE["width"]) + 1:
            problems.append(f"{page_path}: {fit['scrollWidth']} px wide on a {PHONE['width']} px phone; "
                            f"too wide: {fit['culprits']}")
    session.context.close()
    for page_path in chapters:
        for kind, width in [("desktop", DESKTOP["width"]), ("phone", PHONE["width"])]:
            shot = screenshots / f"{slug(page_path)}-{kind}.png"
            if not shot.exists() or png_width(shot) != width:
                problems.append(f"{shot}: missing or not {width} px wide")
    assert not problems, "\n".join(problems)
