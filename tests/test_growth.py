"""Growth over the horizon: push rates from version history, storage month by month, scenarios capping or slowing it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from costcalc.inventory.model import Inventory, build_inventory
from costcalc.pricing.book import PriceBook
from costcalc.report import build, measure
from costcalc.report.growth import push_rate
from costcalc.scenarios.spec import parse_spec
from costcalc.units import money, to_units
from costcalc.usage.file import loads_csv
from tests.inventory_builders import d, image, layer
from tests.test_costs import write_book

START = datetime(2026, 9, 1, tzinfo=UTC)
GB = 10**9
MONTH_DAYS = Decimal(730) / 24


def app_inventory(versions: int = 4, every_days: int = 10) -> Inventory:
    """acme/app: VERSIONS versions, one every EVERY_DAYS days, each a 1 GB base plus its own 0.5 GB
    layer; acme/once: a single version (no growth)."""
    manifests = {
        d(f"app{i}"): image(
            f"capp{i}",
            0,
            layer("base", GB),
            layer(f"own{i}", GB // 2),
            size=0,
            created=START + timedelta(days=i * every_days),
        )
        for i in range(versions)
    }
    manifests[d("once")] = image("conce", 0, layer("once", GB), size=0, created=START)
    tags = {
        "acme/app": [(f"v{i}", d(f"app{i}")) for i in range(versions)],
        "acme/once": [("latest", d("once"))],
    }
    return build_inventory("r.example", "acme", START + timedelta(days=100), tags, manifests)


def tiered(tmp_path: Path) -> PriceBook:
    return write_book(tmp_path, storage="tiers = [{ up_to = 4, price = 1.00 }, { price = 0.50 }]")


def test_push_rate_from_the_last_90_days_or_all_history() -> None:
    assert push_rate([START]) == (Decimal(0), "one version")
    assert push_rate([None, None, START]) == (Decimal(0), "no dates")
    rate, basis = push_rate([START + timedelta(days=10 * i) for i in range(4)])
    assert basis == "all history (30 days)" and rate == 3 * MONTH_DAYS / 30
    daily = [START + timedelta(days=i) for i in range(200)]
    rate, basis = push_rate(daily)
    assert basis == "last 90 days" and rate == 90 * MONTH_DAYS / 90


def test_storage_grows_month_by_month_and_the_horizon_is_the_sum(tmp_path: Path) -> None:
    book = tiered(tmp_path)
    report = build(app_inventory(), None, [book], months=4)
    app = next(g for g in report.growth if g.repository == "acme/app")
    assert app.bytes_per_version == GB // 2 and app.versions == 4
    rate = 3 * MONTH_DAYS / 30
    today = Decimal(GB + 4 * GB // 2 + GB)  # app's base and four own layers, once's layer
    assert [m.month for m in report.monthly] == [1, 2, 3, 4]
    assert report.totals.storage_bytes == today
    # month 1 starts from today's inventory and is priced on its average: half a month's growth
    assert report.monthly[0].monthly_cost > report.totals.monthly_cost
    for month in report.monthly:
        expected = today + rate * (month.month - Decimal("0.5")) * GB // 2
        assert abs(month.storage_bytes - expected) < 1
        # each month on the book's tiers: 4 GB at 1.00, the rest at 0.50
        gb = to_units(month.storage_bytes, "GB")
        assert month.storage_cost == money(min(gb, 4) + max(gb - 4, 0) * Decimal("0.5"))
    assert report.totals.horizon_cost == sum(m.monthly_cost for m in report.monthly)
    assert report.totals.horizon_cost > report.totals.monthly_cost * 4
    said = " ".join(report.assumptions)
    assert "last 90 days" in said and "acme/once (one version)" in said


def test_retention_stops_growth_and_its_saving_grows_with_the_horizon(tmp_path: Path) -> None:
    book = tiered(tmp_path)
    savings = []
    for months in (3, 12):
        report = build(app_inventory(), None, [book], months=months, scenarios=[parse_spec("retention:5")])
        (kept,) = report.scenarios
        # today it holds 4 of 5: it grows by one version in month 1 (half of it on average), then stays
        assert kept.monthly[0].storage_bytes == report.totals.storage_bytes + GB // 4
        assert kept.monthly[-1].storage_bytes == report.totals.storage_bytes + GB // 2
        assert kept.horizon_savings == sum(m.monthly_cost for m in report.monthly) - sum(
            m.monthly_cost for m in kept.monthly
        )
        savings.append(kept.horizon_savings)
    assert 0 < savings[0] < savings[1]
    assert kept.monthly_savings == 0  # nothing is dropped today: the whole saving is growth avoided


def test_a_size_scenario_makes_each_new_version_smaller(tmp_path: Path) -> None:
    book = tiered(tmp_path)
    report = build(app_inventory(), None, [book], months=6, scenarios=[parse_spec("ratio:0.5")])
    (half,) = report.scenarios
    grown = report.monthly[-1].storage_bytes - report.monthly[0].storage_bytes
    assert abs((half.monthly[-1].storage_bytes - half.monthly[0].storage_bytes) - grown / 2) < 1


def test_no_dates_no_growth(tmp_path: Path) -> None:
    inventory = app_inventory()
    undated = build_inventory(
        "r.example",
        "acme",
        START,
        {repo.name: [(t.tag, t.digest) for t in repo.tags] for repo in inventory.repositories},
        {digest: replace(record, created=None) for digest, record in inventory.manifests.items()},
    )
    report = build(undated, None, [tiered(tmp_path)], months=3)
    assert {m.storage_bytes for m in report.monthly} == {report.totals.storage_bytes}
    assert report.totals.horizon_cost == report.totals.monthly_cost * 3
    assert "acme/app (no dates)" in " ".join(report.assumptions)


def test_the_worked_example_of_the_cost_model(tmp_path: Path) -> None:
    """docs/cost-model.md, "The horizon": 4 versions on 1, 11, 21, 31 August, 3 GB, 0.5 GB each."""
    august = datetime(2026, 8, 1, tzinfo=UTC)
    manifests = {
        d(f"v{i}"): image(
            f"cv{i}", 0, layer("base", GB), layer(f"v{i}", GB // 2), size=0, created=august + timedelta(days=10 * i)
        )
        for i in range(4)
    }
    tags = {"acme/app": [(f"v{i}", d(f"v{i}")) for i in range(4)]}
    inventory = build_inventory("r.example", "acme", august + timedelta(days=40), tags, manifests)
    report = build(inventory, None, [write_book(tmp_path)], months=3, scenarios=[parse_spec("retention:5")])
    assert [m.storage_cost for m in report.monthly] == [Decimal("0.3760"), Decimal("0.5281"), Decimal("0.6802")]
    assert report.totals.horizon_cost == Decimal("1.5843")
    (kept,) = report.scenarios
    assert [m.storage_cost for m in kept.monthly] == [Decimal("0.3250"), Decimal("0.3500"), Decimal("0.3500")]
    assert kept.horizon_savings == Decimal("0.5593")


def signed_inventory() -> Inventory:
    """acme/api: v1..v3 a month apart, each 1000 bytes of base plus 100 of its own, each signed
    a day later under its cosign tag by a signature that looks like an image (64 bytes)."""
    manifests = {}
    tags = []
    for i in (1, 2, 3):
        version, signature = d(f"api{i}"), d(f"sig{i}")
        created = datetime(2026, i, 1, tzinfo=UTC)
        manifests[version] = image(f"capi{i}", 0, layer("base", 1000), layer(f"own{i}", 100), size=0, created=created)
        manifests[signature] = image(f"csig{i}", 0, layer(f"s{i}", 64), size=0, created=created + timedelta(days=1))
        tags += [(f"v{i}", version), (f"sha256-{version.removeprefix('sha256:')}.sig", signature)]
    return build_inventory("r.example", "acme", datetime(2026, 5, 1, tzinfo=UTC), {"acme/api": tags}, manifests)


def test_signatures_are_no_versions_in_growth_nor_in_the_version_delta(tmp_path: Path) -> None:
    inventory = signed_inventory()
    pulls = loads_csv("repository,deploys_per_month,nodes,source\nacme/api,10,1,internet\n")
    report = build(inventory, pulls, [tiered(tmp_path)], months=2)
    (growth,) = report.growth
    assert growth.versions == 3
    # v1 to v3: two pushes over the 59 days from 1 January to 1 March
    assert abs(growth.versions_per_month - Decimal(2 * 730) / (24 * 59)) < Decimal("1e-20")
    assert growth.bytes_per_version == 100  # each version's own layer, not a signature's
    # a deploy fetches the typical delta: 10 deploys on one node pull 10 x 100 bytes
    (row,) = measure(inventory, pulls, tiered(tmp_path)).rows
    assert row.egress_bytes_by_class == {"internet": Decimal(1000)}
