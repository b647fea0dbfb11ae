"""The HTML report's content: pinned by a golden file, self-contained, headline and charts before the tables."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from costcalc.render import html as render_html
from tests.test_html_chromium import report_with_long_names
from tests.test_render import example_report, example_report_with_scenarios


def test_example_html_golden(golden: Callable[[str, str], None]) -> None:
    golden("example-report-scenarios.html", render_html.render(example_report_with_scenarios()))


def test_page_is_self_contained() -> None:
    page = render_html.render(report_with_long_names())
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    assert re.search(r"\ssrc=", page) is None
    assert f'content="{render_html.CONTENT_SECURITY_POLICY}"' in page
    for note in example_report_with_scenarios().pricing.notes:
        assert html.escape(note, quote=True) in page
    assert (
        "@media print" in page and "Scanned 2026-11-20 06:00 UTC" in page and "generated 2026-11-27 12:00 UTC" in page
    )


def test_headline_then_charts_then_every_row() -> None:
    report = example_report_with_scenarios()
    page = render_html.render(report)
    order = [page.index(marker) for marker in ('class="cards"', 'id="chart-cost"', 'id="chart-savings"', "<table>")]
    assert order == sorted(order)
    assert "Best saving" in page and "16.74 USD/mo" in page  # combined saves the most
    assert all(f"<td>{html.escape(r.name)}</td>" in page for r in report.rows)
    assert f"By repository ({len(report.rows)} of {len(report.rows)})" in page


def test_without_scenarios_or_teams_one_chart_and_no_saving() -> None:
    report = example_report()
    rows = tuple(r.model_copy(update={"team": None}) for r in report.rows)
    page = render_html.render(report.model_copy(update={"rows": rows}))
    # the cost by repository, and storage over time (the example fleet grows)
    assert page.count('<figure class="chart"') == 2 and 'id="chart-savings"' not in page
    assert 'id="chart-storage-months"' in page
    assert "not projected" in page
    assert len(re.findall(r"<rect ", page)) == render_html.CHART_BARS + len(report.monthly)
