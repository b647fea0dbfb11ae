"""HTML pages in real headless Chromium: no console message, no horizontal overflow, charts drawn, nothing fetched."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from costcalc.render import diff as render_diff
from costcalc.render import html as render_html
from costcalc.report import Report
from tests.test_diff import example_diff
from tests.test_render import example_report_with_scenarios

CHROMIUM = "/usr/bin/chromium"
LONG_URL = "https://example.com/" + "a-very-long-path-segment-without-any-break-" * 6 + "end"

# Headless Chromium will not make a window narrower than 500 px, so the page is measured inside an
# iframe of the wanted width (srcdoc: same origin, so the probe can read its layout).
PROBE = """
<script>
function measure() {
  const frame = document.getElementById("page");
  const doc = frame.contentDocument, win = frame.contentWindow;
  const result = {
    scrollWidth: doc.documentElement.scrollWidth,
    innerWidth: win.innerWidth,
    charts: doc.querySelectorAll("figure.chart").length,
    bars: Array.from(doc.querySelectorAll("figure.chart svg rect")).map(r => r.getBoundingClientRect().width),
    tables: doc.querySelectorAll("table").length,
    fetched: win.performance.getEntriesByType("resource").length,
    title: doc.title,
    headline: Array.from(doc.querySelectorAll(".card .n")).map(n => n.textContent),
  };
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
}
</script>
"""


def chromium_available() -> str:
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if found is None:
        pytest.fail("chromium is not installed (apt-get install chromium); .ci/run installs it")
    return found


def measure(page: str, width: int, tmp_path: Path) -> tuple[dict[str, Any], list[str]]:
    """PAGE laid out WIDTH px wide in headless Chromium: the probe's figures and every console line."""
    wrapper = tmp_path / f"wrapper-{width}.html"
    wrapper.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">'
        f'<iframe id="page" onload="measure()" style="width:{width}px;height:900px;border:0" '
        f'srcdoc="{html.escape(page, quote=True)}"></iframe>{PROBE}</body></html>',
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            chromium_available(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / f'profile-{width}'}",
            "--window-size=2000,1000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            wrapper.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found is not None, result.stdout[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return json.loads(html.unescape(found.group(1))), console


def report_with_long_names() -> Report:
    """The example report with scenarios, a long unbroken source URL and a long repository name."""
    report = example_report_with_scenarios()
    pricing = report.pricing.model_copy(update={"sources": (*report.pricing.sources, LONG_URL)})
    first = report.rows[0].model_copy(update={"name": "acme/" + "x" * 120})
    return report.model_copy(update={"pricing": pricing, "rows": (first, *report.rows[1:])})


@pytest.mark.parametrize("width", [1920, 1280, 390])
def test_report_page_fits_and_draws_its_charts(width: int, tmp_path: Path) -> None:
    report = report_with_long_names()
    page = render_html.render(report)
    probe, console = measure(page, width, tmp_path)
    assert console == []
    assert probe["innerWidth"] == width
    assert probe["scrollWidth"] <= probe["innerWidth"]
    assert probe["fetched"] == 0
    assert probe["title"] == "Registry cost: registry.example.com/acme"
    assert probe["charts"] == 4  # by team, by repository, savings by scenario, storage over time
    teams = len({r.team for r in report.rows})
    assert len(probe["bars"]) == teams + render_html.CHART_BARS + len(report.scenarios) + len(report.monthly)
    assert max(probe["bars"]) > 50 and min(probe["bars"]) >= 0
    assert probe["headline"][0] == "46.53 USD" and probe["headline"][1] == "576.24 USD"
    assert probe["tables"] == 4  # costs, repositories, scenarios, versions retention:5 drops (combined: the same)


@pytest.mark.parametrize("width", [1280, 390])
def test_diff_page_fits(width: int, tmp_path: Path) -> None:
    diff, _, _ = example_diff(tmp_path)
    probe, console = measure(render_diff.render_html(diff), width, tmp_path)
    assert console == [] and probe["fetched"] == 0
    assert probe["innerWidth"] == width and probe["scrollWidth"] <= probe["innerWidth"]
    assert probe["tables"] == 2
