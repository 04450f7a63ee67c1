"""Debian's headless Chromium, driven through its own ChromeDriver, and what a page is checked for.

Nothing is downloaded here: the browser, its driver and axe-core are installed by
`bash .ci/setup`, and a missing one fails the tests with that command (never a skip).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("IVR_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("IVR_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
FIX = "run `bash .ci/setup`, which installs it"

# Started as the machine's notes say: no sandbox (root), no GPU, and no background
# connections (the network here is closed; Chromium would retry them all the time).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# WCAG 2.0, 2.1 and 2.2, levels A and AA, as axe-core tags its rules.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SERIOUS = {"serious", "critical"}


@dataclass(frozen=True)
class Size:
    """A window a page is checked in: CSS pixels wide and high, and pixels per CSS pixel."""

    name: str
    width: int
    height: int
    scale: float
    mobile: bool = False


DESKTOP = Size("desktop", 1280, 900, 1)
ZOOM_200 = Size("zoom200", 640, 450, 2)  # a 1280 x 900 window at 200% zoom
PHONE = Size("phone", 375, 812, 2, mobile=True)
SIZES = (DESKTOP, ZOOM_200, PHONE)


def missing() -> list[str]:
    """What the browser tests need and this machine lacks, each with how to get it."""
    needs = [
        (CHROMIUM, f"Chromium is not installed at {CHROMIUM} (Debian's `chromium`)"),
        (CHROMEDRIVER, f"ChromeDriver is not at {CHROMEDRIVER} (Debian's `chromium-driver`)"),
        (AXE, f"axe-core is not installed at {AXE}"),
    ]
    return [f"{problem}; {FIX}" for path, problem in needs if not path.exists()]


class Browser:
    """One headless Chromium for the test session, with a fresh profile of its own."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="ivr-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in [*FLAGS, f"--user-data-dir={self.profile}"]:
            options.add_argument(flag)
        service = Service(executable_path=str(CHROMEDRIVER))  # no Selenium Manager download
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.set_page_load_timeout(30)
        self.axe = AXE.read_text(encoding="utf-8")
        self.resize(DESKTOP)

    def quit(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def fresh(self) -> None:
        """Forget the last test's session cookies (every server's) and window size."""
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        self.resize(DESKTOP)

    def resize(self, size: Size) -> None:
        """Show pages as in `size`: its width in CSS pixels at its device scale."""
        metrics = {
            "width": size.width,
            "height": size.height,
            "deviceScaleFactor": size.scale,
            "mobile": size.mobile,
        }
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)

    def run_axe(self) -> list[dict]:
        """axe-core's WCAG 2.x A and AA violations on the page as it is now."""
        if not self.driver.execute_script("return typeof window.axe === 'object'"):
            self.driver.execute_script(self.axe)
        script = """
            const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: "tag", values: arguments[0]}})
              .then((r) => done(JSON.stringify(r.violations)))
              .catch((e) => done(JSON.stringify({error: String(e)})));
        """
        self.driver.set_script_timeout(30)
        found = json.loads(self.driver.execute_async_script(script, WCAG_TAGS))
        if isinstance(found, dict):
            raise AssertionError(f"axe-core failed on {self.driver.current_url}: {found}")
        return found

    def overflow(self) -> tuple[int, int]:
        """The page's scroll width and the window's width, in CSS pixels."""
        script = "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];"
        scroll, window = self.driver.execute_script(script)
        return scroll, window

    def screenshot(self, path: Path) -> None:
        """A PNG of the whole page, not only what the window shows."""
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def check_page(self, name: str) -> None:
        """At each size: no serious or critical axe violation, no sideways scroll; a screenshot."""
        problems = []
        try:
            for size in SIZES:
                self.resize(size)
                self.screenshot(SCREENSHOTS / f"{name}-{size.name}.png")
                serious = [v for v in self.run_axe() if v.get("impact") in SERIOUS]
                problems += [f"[{size.name}] {line}" for line in describe(serious)]
                scroll, window = self.overflow()
                if scroll > window:
                    problems.append(
                        f"[{size.name}] the page scrolls sideways: {scroll} px wide "
                        f"in a {window} px window ({widest(self.driver, window)})"
                    )
        finally:
            self.resize(DESKTOP)
        assert not problems, f"{name} ({self.driver.current_url}):\n  " + "\n  ".join(problems)


def describe(violations: list[dict]) -> list[str]:
    """axe-core's violations, one readable line per element."""
    lines = []
    for v in violations:
        for node in v.get("nodes", [])[:5]:
            target = " ".join(map(str, node.get("target", [])))
            summary = re.sub(r"\s+", " ", node.get("failureSummary", ""))[:300]
            lines.append(f"{v['impact']} {v['id']} ({v['help']}) at {target}: {summary}")
    return lines


def widest(driver, window: int) -> str:
    """The elements wider than the window, to say what makes a page scroll sideways."""
    return driver.execute_script(
        """
        const w = arguments[0];
        return [...document.querySelectorAll("body *")]
          .filter((e) => e.getBoundingClientRect().right > w + 1)
          .slice(0, 5)
          .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : ""))
          .join(", ") || "nothing found";
        """,
        window,
    )
