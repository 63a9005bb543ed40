"""fastprdc.report: the HTML report's structure (facts, metric table, per-class tables,
figures as data: PNGs, nothing external, every string escaped), and the page opened in a
real headless Chromium: every figure decodes, nothing is fetched, no error is logged; the
same for the report written by ``fastprdc eval REF FAKE --report``.

The browser test drives Chromium through the DevTools protocol over
``--remote-debugging-pipe`` (JSON messages on file descriptors 3 and 4; no websocket, no
extra package). It skips when no Chromium is installed, except with
``FASTPRDC_REQUIRE_BROWSER=1`` (set by ``.ci/run``), when it fails instead.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import io
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image
import numpy as np
import pytest

import fastprdc
from fastprdc import plot
from fastprdc.cli import main
from fastprdc.report import render_report, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result():
    """Every family, three ks, sample level, five classes: 0, 1 evaluated, 2 skipped (one
    fake), 3 dropped (no fake), 4 without real samples."""
    rng = np.random.default_rng(21)
    real_labels = np.repeat([0, 1, 2, 3], 50)
    fake_labels = np.repeat([0, 1, 2, 4], [50, 50, 1, 10])
    real = rng.standard_normal((real_labels.size, 8)) + real_labels[:, None]
    fake = rng.standard_normal((fake_labels.size, 8)) * 1.1 + fake_labels[:, None]
    return fastprdc.evaluate(
        real,
        fake,
        metrics="all",
        k=[1, 3, 5],
        sample_level=True,
        real_labels=real_labels,
        fake_labels=fake_labels,
    )


@pytest.fixture(scope="module")
def report_path(result, tmp_path_factory):
    return write_report(result, tmp_path_factory.mktemp("report") / "report.html", title="Run 7")


@pytest.fixture(scope="module")
def page(report_path):
    return _parse(report_path.read_text(encoding="utf-8"))


class _Page(HTMLParser):
    """Tags with attributes, text per element id / table, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.tables: list[dict] = []  # {"class", "rows": [[(tag, text, attrs), ...]]}
        self.text: list[str] = []
        self._table: dict | None = None
        self._cell: list | None = None
        self._title = False
        self.title = ""

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "table":
            self._table = {"class": a.get("class", ""), "rows": [], "caption": ""}
            self.tables.append(self._table)
        elif tag == "tr" and self._table is not None:
            self._table["rows"].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = [tag, "", a]
        elif tag == "title":
            self._title = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table["rows"][-1].append(tuple(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "title":
            self._title = False

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell[1] += data
        if self._title:
            self.title += data


def _parse(text: str) -> _Page:
    parser = _Page()
    parser.feed(text)
    parser.close()
    return parser


def _table(page: _Page, cls: str) -> list[dict]:
    return [t for t in page.tables if t["class"] == cls]


def _facts(page: _Page) -> dict[str, str]:
    (table,) = _table(page, "facts")
    return {row[0][1]: row[1][1] for row in table["rows"]}


# --------------------------------------------------------------------------- structure


def test_report_facts(page, result):
    assert page.title == "Run 7"
    facts = _facts(page)
    info = result.info
    assert facts["fastprdc version"] == fastprdc.__version__
    assert facts["real samples (N)"] == str(info["n_real"]) == "200"
    assert facts["fake samples (M)"] == str(info["n_fake"]) == "111"
    assert facts["feature dimension (d)"] == "8"
    assert facts["dtype"] == "float64"
    assert facts["backend"] == info["backend"]
    assert facts["exact (float64 recheck)"] == "True"
    assert facts["boundary"] == "inclusive"
    assert "precision_recall: 1, 3, 5" in facts["k per family"]
    assert "alpha_precision_beta_recall: no k" in facts["k per family"]
    assert "realism_score: prune=0.5" in facts["parameters"]
    assert "precision_recall_cover: C=3, variant=native" in facts["parameters"]
    assert facts["time"].endswith(" s") or facts["time"].endswith(" ms")
    assert "knn_real" in facts["time per pass"] and "cross" in facts["time per pass"]
    assert facts["float64 rechecks"] == str(info["n_rechecked"])
    assert facts["classes"] == "4 in real, 4 in fake, 2 evaluated, 1 missing from fake"


def test_report_metric_table_matches_the_result(page, result):
    (table,) = _table(page, "metrics")
    head, *rows = table["rows"]
    assert [text for _, text, _ in head] == ["metric", "k=1", "k=3", "k=5"]
    heads = [r for r in rows if r[0][2].get("scope") == "rowgroup"]
    families = [r[0][1] for r in heads]
    assert [f.split(" (")[0] for f in families] == list(result.scalars)
    assert "realism_score (prune=0.5)" in families
    # a family without k has its own "value (no k)" heading across the k columns (its
    # values never sit under a k column); the others span the whole row
    for row in heads:
        if row[0][1].startswith("alpha_precision_beta_recall"):
            assert [(tag, text) for tag, text, _ in row[1:]] == [("th", "value (no k)")]
            assert row[1][2]["colspan"] == "3"
        else:
            assert len(row) == 1 and row[0][2]["colspan"] == "4"
    values = {r[0][1]: r[1:] for r in rows if r[0][0] == "td"}
    for metrics in result.scalars.values():
        for metric, per_k in metrics.items():
            cells = values[metric]
            if None in per_k:  # no k: one cell across the k columns, under "value (no k)"
                ((_, text, attrs),) = cells
                assert attrs["colspan"] == "3" and "nok" in attrs["class"].split()
                assert text == f"{per_k[None]:.4f}"
            else:
                assert len(cells) == 3
                for (_, text, _), k in zip(cells, [1, 3, 5]):
                    v = per_k[k]
                    assert text == (str(v) if isinstance(v, int) else f"{v:.4f}"), (metric, k)
    assert values["alpha_precision_curve"][0][1].startswith("30 points in [")


def test_report_per_class_tables(page, result):
    pc = result.per_class
    tables = _table(page, "per-class")
    families = list(result.scalars)
    assert len(tables) == len(families)  # one table per family
    for table in tables:
        head, *rows = table["rows"]
        assert [text for _, text, _ in head[:4]] == ["class", "n_real", "n_fake", "status"]
        by_class = {r[0][1]: r for r in rows}
        assert list(by_class) == ["0", "1", "2", "3", "4", "mean"]
        assert by_class["3"][3][1] == "dropped (no fake samples)"
        assert by_class["4"][3][1] == "no real samples"
        assert by_class["2"][3][1] == "skipped"
        assert [by_class[c][1][1] for c in "01234"] == [str(pc["real_counts"][c]) for c in range(5)]
        assert [by_class[c][2][1] for c in "01234"] == [str(pc["fake_counts"][c]) for c in range(5)]
    (recall_table,) = [t for t in tables if any("recall@3" in c[1] for c in t["rows"][0])]
    head = [c[1] for c in recall_table["rows"][0]]
    col = head.index("recall@3")
    row0 = recall_table["rows"][1]
    assert row0[col][1] == f"{pc['scalars'][0]['precision_recall']['recall'][3]:.4f}"
    text = "".join(page.text)
    assert "Missing from fake (dropped modes): 3;" in text
    assert "class 2 skipped: needs at least 2 samples in each set" in text


def test_report_figures_are_inline_pngs(page, result):
    imgs = [a for tag, a in page.tags if tag == "img"]
    assert len(imgs) == len(plot.figures(result)) == 5
    for a in imgs:
        src = a["src"]
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data[:8] == PNG_SIGNATURE
        pixels = matplotlib.image.imread(io.BytesIO(data), format="png")  # a full decode
        height, width = pixels.shape[:2]
        assert (a["width"], a["height"]) == (str(width), str(height))
        assert struct.unpack(">II", data[16:24]) == (width, height)
        assert pixels.std() > 0.05  # not a blank image
        assert a["alt"]
    captions = [t for t in page.text if t.startswith("Figure ")]
    assert len(captions) == 5


def test_report_references_nothing_external(report_path, page):
    text = report_path.read_text(encoding="utf-8")
    assert not any(tag == "script" for tag, _ in page.tags)
    for tag, attrs in page.tags:
        for name in ("src", "href", "srcset", "action", "data", "poster"):
            if name in attrs:
                assert attrs[name].startswith("data:"), (tag, name, attrs[name][:60])
    rest = re.sub(r"data:[^\"']*", "", text)  # all but the data: URIs
    for marker in ("http:", "https:", "//", "url(", "@import", "file:"):
        assert marker not in rest, marker
    csp = [a for tag, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"]


def test_report_escapes_user_strings(tmp_path):
    rng = np.random.default_rng(22)
    real_labels = np.array(["<b>cat</b>"] * 20 + ['dog" onload="x'] * 20)
    fake_labels = np.array(["<b>cat</b>"] * 20 + ["fish & <i>chips</i>"] * 5)
    res = fastprdc.evaluate(
        rng.standard_normal((40, 4)),
        rng.standard_normal((25, 4)),
        k=3,
        real_labels=real_labels,
        fake_labels=fake_labels,
    )
    title = "<script>alert('x')</script> & co"
    text = render_report(res, title=title, figures=False)
    for raw in (title, "<b>cat</b>", "<i>chips</i>", 'dog" onload="x'):
        assert raw not in text
    page = _parse(text)
    assert page.title == title
    assert not any(tag in ("script", "b", "i") for tag, _ in page.tags)
    assert all("onload" not in attrs for _, attrs in page.tags)
    rows = _table(page, "per-class")[0]["rows"][1:]
    assert [r[0][1] for r in rows][:3] == ["<b>cat</b>", 'dog" onload="x', "fish & <i>chips</i>"]
    assert not any(tag == "img" for tag, _ in page.tags)


def test_report_without_labels_or_sample_level(tmp_path):
    rng = np.random.default_rng(23)
    res = fastprdc.evaluate(rng.standard_normal((60, 4)), rng.standard_normal((60, 4)))
    path = write_report(res, tmp_path / "r.html")
    assert path == tmp_path / "r.html"
    page = _parse(path.read_text(encoding="utf-8"))
    assert page.title == "fastprdc evaluation report"
    assert not _table(page, "per-class")
    assert len([t for t, _ in page.tags if t == "img"]) == len(plot.figures(res)) == 1
    (table,) = _table(page, "metrics")
    assert [c[1] for c in table["rows"][0]] == ["metric", "k=3", "k=5"]


def test_report_without_matplotlib(result, no_matplotlib):
    with pytest.raises(ImportError, match=r'pip install "fastprdc\[plot\]"'):
        render_report(result)
    page = _parse(render_report(result, figures=False))
    assert not any(tag == "img" for tag, _ in page.tags)
    assert _table(page, "metrics") and _table(page, "per-class")


# --------------------------------------------------------------------------- browser

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser() -> str:
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    reason = f"no Chromium found (looked for {', '.join(_BROWSERS)}; apt-get install chromium)"
    if os.environ.get("FASTPRDC_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " and FASTPRDC_REQUIRE_BROWSER=1")
    pytest.skip(reason)


# Started in the child: put the pipe ends on fds 3 and 4, then become the browser (no
# preexec_fn, which is unsafe once OpenMP threads exist; POSIX sh cannot name fds >= 10).
_EXEC_ON_FDS_3_4 = """
import os, sys
a, b = int(sys.argv[1]), int(sys.argv[2])
os.dup2(a, 3)
os.dup2(b, 4)
os.close(a)
os.close(b)
os.execv(sys.argv[3], sys.argv[3:])
"""


class _DevTools:
    """A headless Chromium driven over --remote-debugging-pipe: NUL-separated JSON
    messages, commands written to its fd 3, answers and events read from its fd 4."""

    def __init__(self, binary: str, profile: Path, timeout: float = 30.0) -> None:
        self.deadline = time.monotonic() + timeout
        self.events: list[dict] = []
        self._buf = b""
        self._id = 0
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()
        # numbers >= 10, so that moving them to 3 and 4 cannot clobber one with the other
        a = fcntl.fcntl(to_child, fcntl.F_DUPFD_CLOEXEC, 10)
        b = fcntl.fcntl(from_child, fcntl.F_DUPFD_CLOEXEC, 10)
        for fd in (to_child, from_child):
            os.close(fd)
        args = [
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        self.log = profile.parent / "chromium.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _EXEC_ON_FDS_3_4, str(a), str(b), binary, *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(a, b),
            )
        os.close(a)
        os.close(b)

    def _message(self) -> dict:
        while b"\0" not in self._buf:
            left = self.deadline - time.monotonic()
            ready, _, _ = select.select([self._read], [], [], max(0.0, left))
            if not ready:
                raise TimeoutError(f"Chromium did not answer in time; log:\n{self.log_tail()}")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise EOFError(f"Chromium closed the pipe; log:\n{self.log_tail()}")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        msg: dict = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._write, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str) -> dict:
        for i, seen in enumerate(self.events):
            if seen.get("method") == event:
                return self.events.pop(i)
        while True:
            msg = self._message()
            if msg.get("method") == event:
                return msg
            self.events.append(msg)

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._read)
        os.close(self._write)


_IMAGES_JS = """
Promise.all(Array.from(document.images).map(img =>
  img.decode().then(
    () => ({ok: true, width: img.naturalWidth, height: img.naturalHeight,
            shown: img.getBoundingClientRect().width}),
    err => ({ok: false, error: String(err), src: img.src.slice(0, 40)}))))
"""


def _open_in_browser(path: Path, tmp_path: Path) -> dict:
    """Load ``path`` in headless Chromium; returns what the page did: images (decoded or
    not, sizes), errors (exceptions, console and log errors, failed loads) and requests."""
    browser = _DevTools(_browser(), tmp_path / "profile")
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", None, session)
        nav = browser.call("Page.navigate", {"url": path.resolve().as_uri()}, session)
        assert "errorText" not in nav, nav
        browser.wait_for("Page.loadEventFired")
        images = browser.call(
            "Runtime.evaluate",
            {"expression": _IMAGES_JS, "awaitPromise": True, "returnByValue": True},
            session,
        )["result"]["value"]
        title = browser.call(
            "Runtime.evaluate", {"expression": "document.title", "returnByValue": True}, session
        )["result"]["value"]
    finally:
        browser.close()
    errors, requests = [], []
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(("exception", params["exceptionDetails"].get("text")))
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            errors.append(("console", params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(("log", params["entry"]["text"]))
        elif method == "Network.loadingFailed":
            errors.append(("load", params.get("errorText"), params.get("blockedReason")))
        elif method == "Network.requestWillBeSent":
            requests.append(params["request"]["url"])
    return {"images": images, "errors": errors, "requests": requests, "title": title}


def test_report_in_headless_chromium(report_path, page, tmp_path):
    """Every figure decodes at its PNG size and is laid out, the page fetches nothing but
    itself and its data: images, and logs no error."""
    seen = _open_in_browser(report_path, tmp_path)
    assert seen["errors"] == []
    assert seen["title"] == "Run 7"
    expected = [(int(a["width"]), int(a["height"])) for tag, a in page.tags if tag == "img"]
    assert len(seen["images"]) == len(expected) == 5
    for got, (width, height) in zip(seen["images"], expected):
        assert got["ok"], got
        assert (got["width"], got["height"]) == (width, height)
        assert got["shown"] > 100  # laid out, not collapsed
    page_url = report_path.resolve().as_uri()
    assert all(url == page_url or url.startswith("data:") for url in seen["requests"])
    assert seen["requests"][0] == page_url


@pytest.fixture(scope="module")
def cli_report(tmp_path_factory):
    """The report written by ``fastprdc eval REF FAKE --report``: a saved reference (with
    per-class real sides) evaluated against label files, the same data as ``result``."""
    tmp = tmp_path_factory.mktemp("cli_report")
    rng = np.random.default_rng(21)
    real_labels = np.repeat([0, 1, 2, 3], 50)
    fake_labels = np.repeat([0, 1, 2, 4], [50, 50, 1, 10])
    np.save(tmp / "real.npy", rng.standard_normal((real_labels.size, 8)) + real_labels[:, None])
    fake = rng.standard_normal((fake_labels.size, 8)) * 1.1 + fake_labels[:, None]
    np.save(tmp / "fake.npy", fake)
    np.save(tmp / "real_labels.npy", real_labels)
    np.save(tmp / "fake_labels.npy", fake_labels)
    ref, path = tmp / "real.ref.npz", tmp / "cli report.html"
    args = ["reference", tmp / "real.npy", "--out", ref, "--k", "1", "3", "5",
            "--real-labels", tmp / "real_labels.npy", "--include-features", "--quiet"]  # fmt: skip
    assert main([str(a) for a in args]) == 0
    args = ["eval", ref, tmp / "fake.npy", "--fake-labels", tmp / "fake_labels.npy",
            "--report", path, "--quiet"]  # fmt: skip
    assert main([str(a) for a in args]) == 0
    return path


def test_cli_report_structure(cli_report, result):
    page = _parse(cli_report.read_text(encoding="utf-8"))
    assert page.title == "fastprdc: fake.npy against real.ref.npz"
    facts = _facts(page)
    assert facts["fastprdc version"] == fastprdc.__version__
    assert facts["real samples (N)"] == "200" and facts["fake samples (M)"] == "111"
    assert "precision_recall: 1, 3, 5" in facts["k per family"]  # the reference's ks
    assert "'real_side': 'stored'" in facts["reference"]
    assert facts["classes"] == "4 in real, 4 in fake, 2 evaluated, 1 missing from fake"
    (table,) = _table(page, "metrics")
    values = {r[0][1]: r[1:] for r in table["rows"][1:] if r[0][0] == "td"}
    p3 = result.scalars["precision_recall"]["precision"][3]
    assert values["precision"][1][1] == f"{p3:.4f}"  # the same numbers as evaluate's
    assert len(_table(page, "per-class")) == len(result.scalars)
    # sample-level arrays were computed for the report: every figure, histograms included
    assert len([a for tag, a in page.tags if tag == "img"]) == len(plot.figures(result)) == 5


def test_cli_report_in_headless_chromium(cli_report, tmp_path):
    """The CLI-written report passes the same browser check as write_report's."""
    page = _parse(cli_report.read_text(encoding="utf-8"))
    seen = _open_in_browser(cli_report, tmp_path)
    assert seen["errors"] == []
    assert seen["title"] == "fastprdc: fake.npy against real.ref.npz"
    expected = [(int(a["width"]), int(a["height"])) for tag, a in page.tags if tag == "img"]
    assert len(seen["images"]) == len(expected) == 5
    for got, (width, height) in zip(seen["images"], expected):
        assert got["ok"], got
        assert (got["width"], got["height"]) == (width, height)
        assert got["shown"] > 100
    page_url = cli_report.resolve().as_uri()
    assert all(url == page_url or url.startswith("data:") for url in seen["requests"])


def test_browser_check_catches_broken_pages(tmp_path):
    """The same check on a page with a corrupt image, an external image and a script
    error reports all three (so a passing report is not a blind spot of the harness)."""
    bad = tmp_path / "bad.html"
    good = base64.b64encode(_tiny_png()).decode()
    bad.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
        "<title>bad</title></head><body>"
        f"<img src='data:image/png;base64,{good}'>"
        "<img src='data:image/png;base64,iVBORw0KGgoAAAAN'>"
        "<img src='http://127.0.0.1:9/x.png'>"
        "<script>undefinedFunction()</script></body></html>",
        encoding="utf-8",
    )
    seen = _open_in_browser(bad, tmp_path)
    assert [img["ok"] for img in seen["images"]] == [True, False, False]
    kinds = {e[0] for e in seen["errors"]}
    assert "exception" in kinds and "load" in kinds
    assert "http://127.0.0.1:9/x.png" in seen["requests"]


def _tiny_png() -> bytes:
    buf = io.BytesIO()
    matplotlib.image.imsave(buf, np.zeros((2, 2, 3)), format="png")
    return buf.getvalue()
