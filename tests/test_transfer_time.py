"""Transfer time: the hours a scenario saves a month at --bandwidth, and the rate's grammar."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.report import build
from costcalc.scenarios.spec import parse_spec
from costcalc.units import format_bandwidth, parse_bandwidth
from tests.test_costs import usage, write_book
from tests.test_growth import GB, MONTH_DAYS, app_inventory


@pytest.mark.parametrize(
    ("text", "bits"),
    [("1Gbit/s", 10**9), ("500Mbit/s", 5 * 10**8), ("10Gbps", 10**10), ("2.5 Gbit/s", 25 * 10**8), ("64kbps", 64000)],
)
def test_a_bandwidth_has_a_unit(text: str, bits: int) -> None:
    assert parse_bandwidth(text) == bits


@pytest.mark.parametrize("text", ["1", "fast", "1GB/s", "0Mbit/s", "-1Gbit/s"])
def test_a_bandwidth_without_a_rate_unit_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="bandwidth"):
        parse_bandwidth(text)


def test_bandwidth_is_shown_in_the_unit_it_fills() -> None:
    assert (format_bandwidth(10**9), format_bandwidth(25 * 10**7)) == ("1 Gbit/s", "250 Mbit/s")


def test_hours_saved_count_cold_pulls_deploys_and_pushes(tmp_path: Path) -> None:
    book = write_book(tmp_path)
    # 10 cold pulls, 2 deploys x 5 nodes = 10 warm pulls a month
    pulls = usage("acme/app,,internet,10,2,5,\n")
    scenarios = [parse_spec("ratio:0.5"), parse_spec("retention:2")]
    report = build(app_inventory(), pulls, [book], scenarios=scenarios)
    half, kept, _ = report.scenarios
    # a version is 1.5 GB (1 GB base + 0.5 GB own); half of it: cold 10 x 0.75 GB, warm 10 x
    # 0.25 GB (half the 0.5 GB delta), pushes 3.0417 a month x 0.25 GB
    saved_bytes = 10 * Decimal("0.75") * GB + 10 * Decimal("0.25") * GB + 3 * MONTH_DAYS / 30 * Decimal("0.25") * GB
    expected = saved_bytes * 8 / 10**9 / 3600
    assert half.transfer_hours_saved is not None and abs(half.transfer_hours_saved - expected) < Decimal("1e-20")
    assert kept.transfer_hours_saved == 0  # retention transfers the same images
    slower = build(app_inventory(), pulls, [book], scenarios=scenarios[:1], bandwidth_bits_per_second=10**8)
    slow_hours = slower.scenarios[0].transfer_hours_saved
    assert slow_hours is not None and abs(slow_hours - 10 * half.transfer_hours_saved) < Decimal("1e-20")
    assert any("at 100 Mbit/s per node" in a for a in slower.assumptions)
    assert any("at 1 Gbit/s per node" in a for a in report.assumptions)


def test_the_cli_reads_bandwidth_and_refuses_a_bad_one() -> None:
    runner = CliRunner()
    args = ["report", "examples/fleet.json", "--usage", "examples/usage.csv", "--scenario", "alpine"]
    result = runner.invoke(app, [*args, "--bandwidth", "100Mbit/s", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"transfer_hours_saved": ' in result.stdout and "at 100 Mbit/s per node" in result.stdout
    bad = runner.invoke(app, [*args, "--bandwidth", "fast"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("costcalc: error: --bandwidth: 'fast' is not a bandwidth")
