"""The report rendered by headless Chromium: every figure decodes and shows, and the page is not blank.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); skipped, saying so, only when no Chromium is installed.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainer.report import write_report
from trainer.report.plots import KNOWN_STYLES
from tests.synthetic_runs import METHODS, write_synthetic_sweep

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install -y chromium)")

# Test-only probe: after load, record the size Chromium decoded each image to, where --dump-dom shows it.
PROBE = """<script>window.addEventListener('load', () => { document.body.setAttribute('data-decoded',
  Array.from(document.images).map(i => (i.complete ? i.naturalWidth + 'x' + i.naturalHeight : 'pending')).join(','));
});</script>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


class Images(HTMLParser):
    """The <img> tags of a page and the data-decoded attribute of <body>."""

    def __init__(self):
        super().__init__()
        self.srcs: list[str] = []
        self.decoded = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.srcs.append(a.get("src") or "")
        elif tag == "body":
            self.decoded = a.get("data-decoded") or ""


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("render")
    write_synthetic_sweep(root / "sweep", steps=40)
    return write_report([root / "sweep"], root / "out")


def test_every_figure_is_present_decodes_as_a_png_and_is_shown_by_chromium(report, tmp_path):
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    dom = chromium(tmp_path, "--dump-dom", probed.as_uri()).stdout
    page = Images()
    page.feed(dom)
    assert len(page.srcs) == 4
    sizes = []
    for src in page.srcs:
        m = re.fullmatch(r"data:image/png;base64,([A-Za-z0-9+/=]+)", src)
        assert m, f"not an inline PNG: {src[:60]!r}"
        png = base64.b64decode(m.group(1), validate=True)
        with Image.open(io.BytesIO(png)) as im:
            im.verify()
        with Image.open(io.BytesIO(png)) as im:
            assert im.format == "PNG" and im.width > 400 and im.height > 200
            sizes.append(f"{im.width}x{im.height}")
    assert page.decoded.split(",") == sizes, "Chromium did not decode every figure at its size"


def test_the_screenshot_shows_the_figures_and_the_table(report, tmp_path):
    shot = tmp_path / "shot.png"
    chromium(tmp_path, "--hide-scrollbars", "--window-size=1280,3000", f"--screenshot={shot}", report.as_uri())
    with Image.open(shot) as im:
        rgb = im.convert("RGB")
    assert rgb.size == (1280, 3000)
    pixels = np.asarray(rgb, dtype=np.int32).reshape(-1, 3)
    non_white = float((pixels.min(axis=1) < 235).mean())
    assert non_white > 0.05, f"screenshot almost blank ({non_white:.1%} non-white)"
    assert len(np.unique(pixels[::7], axis=0)) > 500, "screenshot has too few colours for plotted curves"
    # the method colours appear on screen, not only black text
    for method in METHODS[1:]:
        colour = np.array([int(KNOWN_STYLES[method][0][i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(pixels - colour).sum(axis=1) < 40).any(), f"no {method} colour on screen"
