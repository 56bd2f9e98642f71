"""Opening pages in headless Chromium (Debian's package) for the page tests."""

import dataclasses
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

CHROMIUM = next(
    (path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None
)
requires_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install chromium; .ci/run installs it)",
)
# Flags that work on a machine without network, display, D-Bus or GPU.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Console messages of the page go to stderr as "...:INFO:CONSOLE:12] "text", source: ..."
    "--enable-logging=stderr",
    "--v=0",
)
CONSOLE = re.compile(r":CONSOLE[(:]")
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//""")


@dataclasses.dataclass
class Rendered:
    """What Chromium made of a page: the DOM after scripts ran, console lines, screenshot."""

    dom: str
    console: list[str]
    screenshot: pathlib.Path


def render(
    page: pathlib.Path, screenshot: pathlib.Path, size=(1280, 2000), fragment: str = ""
) -> Rendered:
    """Opens `page` (and `#fragment`) in a fresh headless Chromium profile; saves a screenshot."""
    profile = screenshot.parent / f"{screenshot.stem}-profile"
    proc = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}",
            f"--screenshot={screenshot}",
            "--dump-dom",
            page.resolve().as_uri() + (f"#{fragment}" if fragment else ""),
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=120,
    )
    shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if CONSOLE.search(line)]
    return Rendered(proc.stdout, console, screenshot)


def assert_renders_cleanly(
    page: pathlib.Path, screenshot: pathlib.Path, fragment: str = ""
) -> Rendered:
    """The page loads without console messages and its screenshot is not blank."""
    rendered = render(page, screenshot, fragment=fragment)
    assert rendered.console == [], rendered.console
    with Image.open(screenshot) as image:
        assert image.size == (1280, 2000)
        pixels = np.asarray(image.convert("RGB"))
    # Text, tables and colours: well over 1% of the pixels are not white.
    assert (pixels.min(axis=2) < 240).mean() > 0.01
    return rendered


def assert_offline(html: str) -> None:
    """The page references nothing on the network (scripts, styles, fonts, images)."""
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "@import" not in html and "@font-face" not in html
