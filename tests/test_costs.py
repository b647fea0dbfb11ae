"""The cost engine: quantities, tiered prices, exact allocation, grouping."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costcalc import report as costs
from costcalc.inventory.model import BlobRef, Inventory, ManifestRecord, build_inventory
from costcalc.pricing.book import PriceBook
from costcalc.pricing.book_file import load_book
from costcalc.report import Report, measure, price
from costcalc.report.bases import base_rows
from costcalc.report.priced import monthly_cost_by_repository, namespace_of
from costcalc.scenarios.spec import parse_spec
from costcalc.units import MONEY_QUANTUM, allocate
from costcalc.usage.file import Usage, loads_csv

GB = 10**9
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def d(name: str) -> str:
    return "sha256:" + name.encode().hex().ljust(64, "0")[:64]


def image(name: str, *layers: tuple[str, int], day: int) -> ManifestRecord:
    return ManifestRecord(
        media_type=MANIFEST,
        size_bytes=1000,
        kind="image",
        platform="linux/amd64",
        created=datetime(2026, 1, day, tzinfo=UTC),
        config=BlobRef(media_type=CONFIG, digest=d(f"c-{name}"), size_bytes=1000),
        layers=tuple(BlobRef(media_type=LAYER, digest=d(key), size_bytes=size) for key, size in layers),
    )


def fleet_inventory() -> Inventory:
    """api (v1, v2=latest), web (latest) and job (v1 only) share a 3 GB base layer."""
    manifests = {
        d("api1"): image("api1", ("base", 3 * GB), ("api-v1", 1 * GB), day=1),
        d("api2"): image("api2", ("base", 3 * GB), ("api-v2", 2 * GB), day=2),
        d("web1"): image("web1", ("base", 3 * GB), ("web", 1 * GB), day=1),
        d("job1"): image("job1", ("base", 3 * GB), day=1),
    }
    tags = {
        "acme/api": [("v1", d("api1")), ("v2", d("api2")), ("latest", d("api2"))],
        "acme/web": [("latest", d("web1"))],
        "acme/job": [("v1", d("job1"))],
    }
    return build_inventory("r.example", "acme", datetime(2026, 1, 3, tzinfo=UTC), tags, manifests)


def write_book(
    tmp_path: Path,
    book_id: str = "test-book",
    *,
    scope: str = "registry",
    unit: str = "GB",
    storage: str = "tiers = [{ price = 0.10 }]",
    plan: str = "",
    discount: str = "",
    internet: str = "tiers = [{ price = 0.09 }]",
) -> PriceBook:
    path = tmp_path / f"{book_id}.toml"
    path.write_text(
        f'id = "{book_id}"\nname = "Test"\nprovider = "test"\nregion = "here"\ncurrency = "USD"\n'
        f'unit = "{unit}"\ndedup_scope = "{scope}"\neffective_date = 2026-11-01\n'
        f'sources = ["https://example.com/prices"]\n{discount}\n'
        f"[storage]\n{storage}\n{plan}\n[egress.internet]\n{internet}\n"
        "[egress.same-region]\ntiers = [{ price = 0 }]\n",
        encoding="utf-8",
    )
    return load_book(str(path))


def usage(text: str) -> Usage:
    return loads_csv("repository,team,source,pulls_per_month,deploys_per_month,nodes,tag\n" + text, "u.csv")


def report(tmp_path: Path, usage_text: str | None = None, **book: str) -> Report:
    inv = fleet_inventory()
    b = write_book(tmp_path, **book)
    return price(measure(inv, usage(usage_text) if usage_text else None, b), b)


def rows_by_name(r: Report) -> dict[str, costs.ReportRow]:
    return {row.name: row for row in r.rows}


def test_a_layer_shared_by_three_repositories_is_split_in_three(tmp_path: Path) -> None:
    r = report(tmp_path)
    rows = rows_by_name(r)
    # job = manifest + config + a third of base; web adds its own 1 GB layer
    assert rows["acme/job"].attributed_bytes == 2000 + GB
    assert rows["acme/web"].attributed_bytes == 2000 + GB + GB
    # api: two manifests and configs, both api layers, a third of base
    assert rows["acme/api"].attributed_bytes == 4000 + 3 * GB + GB
    assert r.totals.storage_bytes == fleet_inventory().figures.unique_bytes == 8000 + 3 * GB + 4 * GB
    assert sum(row.attributed_bytes for row in r.rows) == r.totals.storage_bytes


def test_a_repository_scoped_book_bills_the_shared_layer_three_times(tmp_path: Path) -> None:
    r = report(tmp_path, scope="repository")
    rows = rows_by_name(r)
    assert rows["acme/job"].attributed_bytes == 2000 + 3 * GB
    assert r.totals.storage_bytes == fleet_inventory().figures.per_repository_unique_bytes
    assert r.totals.storage_bytes == 8000 + 3 * 3 * GB + 4 * GB
    # 0.10 per GB-month, GB = 10^9 bytes
    assert r.totals.storage_cost == (Decimal(8000 + 13 * GB) / GB * Decimal("0.10")).quantize(MONEY_QUANTUM)
    assert r.assumptions[0].startswith("Storage is billed on per-repository deduplicated bytes")


def test_rows_sum_exactly_to_totals_with_awkward_prices(tmp_path: Path) -> None:
    r = report(
        tmp_path,
        "acme/api,a,internet,7,3,3,\nacme/web,b,internet,11,,,\nacme/job,b,same-region,13,,,\n",
        storage="tiers = [{ price = 0.0333333333333 }]",
        internet="free = 1\ntiers = [{ up_to = 7, price = 0.0912345678901 }, { price = 0.07 }]",
        unit="GiB",
    )
    assert sum(row.storage_cost for row in r.rows) == r.totals.storage_cost
    assert sum(row.egress_cost or 0 for row in r.rows) == r.totals.egress_cost
    assert sum(row.monthly_cost for row in r.rows) == r.totals.monthly_cost
    assert r.totals.monthly_cost == r.totals.storage_cost + r.totals.egress_cost
    assert r.totals.horizon_cost == r.totals.monthly_cost * 12
    assert sum(r.totals.egress_cost_by_class.values()) == r.totals.egress_cost


@given(
    total=st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False),
    weights=st.lists(
        st.decimals(min_value=0, max_value=10**15, places=3, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=30,
    ),
)
def test_allocation_is_exact_and_proportional(total: Decimal, weights: list[Decimal]) -> None:
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert all(share >= 0 for share in shares)
    whole = sum(weights)
    if whole:
        for share, weight in zip(shares, weights, strict=True):
            assert abs(share - total * weight / whole) <= MONEY_QUANTUM
            if weight == 0:
                assert share == 0


@pytest.mark.parametrize(
    ("pulls", "expected"),
    [
        (2, Decimal(0)),  # 8.000004 GB: inside the free 10 GB
        (25, Decimal("9.0000")),  # 100.00005 GB: 90.00005 billed in the first tier = 9.000005
        (40, Decimal("12.5000")),  # 160.00008 GB: 100 at 0.10 + 50.00008 at 0.05 = 12.500004
    ],
)
def test_egress_tiers_apply_to_the_class_total(tmp_path: Path, pulls: int, expected: Decimal) -> None:
    # one pull of web = manifest 1000 + config 1000 + base 3 GB + web 1 GB = 4.000002 GB
    r = report(
        tmp_path,
        f"acme/web,,internet,{pulls},,,\n",
        internet="free = 10\ntiers = [{ up_to = 100, price = 0.10 }, { price = 0.05 }]",
    )
    assert r.totals.egress_gb_by_class["internet"] == Decimal("4.000002") * pulls
    assert r.totals.egress_cost_by_class["internet"] == expected
    assert rows_by_name(r)["acme/web"].egress_cost == expected


def test_tiers_are_priced_on_the_total_then_allocated_by_bytes(tmp_path: Path) -> None:
    # web 25 pulls (100.00005 GB) + job 25 pulls (75.00005 GB): the second tier is shared
    r = report(
        tmp_path,
        "acme/web,,internet,25,,,\nacme/job,,internet,25,,,\n",
        internet="free = 10\ntiers = [{ up_to = 100, price = 0.10 }, { price = 0.05 }]",
    )
    total = Decimal("13.2500")  # 10 + (175.0001 - 110) x 0.05 = 13.250005, to 0.0001
    assert r.totals.egress_cost == total
    rows = rows_by_name(r)
    web = rows["acme/web"].egress_cost
    assert web is not None
    assert abs(web - total * Decimal("100.00005") / Decimal("175.0001")) <= MONEY_QUANTUM
    assert (rows["acme/web"].egress_cost or 0) + (rows["acme/job"].egress_cost or 0) == total


def test_a_repository_without_pull_data_has_unknown_egress_not_zero(tmp_path: Path) -> None:
    r = report(tmp_path, "acme/web,,internet,25,,,\nacme/job,,internet,,,,\n")
    rows = rows_by_name(r)
    assert rows["acme/api"].egress_cost is None and rows["acme/api"].pulls_per_month is None
    assert rows["acme/job"].egress_cost is None
    assert rows["acme/web"].egress_cost is not None
    assert "acme/api: no pull data (no usage row matches it): egress unknown, not counted in totals." in r.warnings
    assert (
        "acme/job: no pull data (its usage row (u.csv:3) has no pulls or deploys): egress unknown, "
        "not counted in totals."
    ) in r.warnings
    assert "Egress is a lower bound: 2 of 3 repositories have no pull data." in r.assumptions
    assert r.totals.egress_complete is False
    assert rows["acme/api"].monthly_cost == rows["acme/api"].storage_cost


def test_no_usage_file_is_one_warning(tmp_path: Path) -> None:
    r = report(tmp_path)
    assert r.warnings[0].startswith("No usage file: egress is unknown for every repository")
    assert all(row.egress_cost is None for row in r.rows)
    assert r.totals.egress_cost == 0 and r.totals.egress_complete is False


def test_warm_pulls_fetch_the_version_delta(tmp_path: Path) -> None:
    b = write_book(tmp_path)
    q = measure(fleet_inventory(), usage("acme/api,,internet,0,10,3,\nacme/web,,internet,0,2,5,\n"), b)
    rows = {row.repository: row for row in q.rows}
    # api v1 -> v2 adds the 2 GB api-v2 layer; 10 deploys x 3 nodes
    assert rows["acme/api"].delta_bytes == 2 * GB
    assert rows["acme/api"].egress_bytes_by_class == {"internet": Decimal(30 * 2 * GB)}
    # web has a single version: a warm pull is the full image (layers)
    assert rows["acme/web"].delta_bytes == 4 * GB
    assert rows["acme/web"].egress_bytes_by_class == {"internet": Decimal(10 * 4 * GB)}
    assert "acme/web has a single version: a warm pull is assumed to fetch the full image." in q.assumptions
    assert rows["acme/api"].pulls_per_month == 30


def test_pulled_tag_defaults_and_usage_tag(tmp_path: Path) -> None:
    b = write_book(tmp_path)
    q = measure(fleet_inventory(), usage("acme/api,,,1,,,v1\nacme/job,,,1,,,\nacme/web,,,1,,,nope\n"), b)
    rows = {row.repository: row for row in q.rows}
    assert (rows["acme/api"].pulled_tag, rows["acme/api"].pull_bytes) == ("v1", Decimal(2000 + 4 * GB))
    assert rows["acme/job"].pulled_tag == "v1"  # no latest: the newest version
    assert rows["acme/web"].pulled_tag == "latest"
    assert "acme/web: tag 'nope' (usage line 4) not found; the default tag is priced." in q.warnings
    # no source given: billed as internet, and said so
    assert any(a.startswith("Pulls with no source are billed as internet egress") for a in q.assumptions)


def test_group_by_team_sums_members_and_marks_partial_egress(tmp_path: Path) -> None:
    b = write_book(tmp_path)
    q = measure(fleet_inventory(), usage("acme/api,red,internet,5,,,\nacme/web,red,,,,,\nacme/job,blue,,3,,,\n"), b)
    by_repo = {row.name: row for row in price(q, b).rows}
    by_team = {row.name: row for row in price(q, b, group_by="team").rows}
    red = by_team["red"]
    assert red.repositories == ("acme/api", "acme/web")
    assert red.storage_cost == by_repo["acme/api"].storage_cost + by_repo["acme/web"].storage_cost
    assert red.egress_cost == by_repo["acme/api"].egress_cost and red.egress_partial
    assert not by_team["blue"].egress_partial
    assert sum(row.monthly_cost for row in by_team.values()) == price(q, b).totals.monthly_cost


@pytest.mark.parametrize(
    ("repository", "scanned", "group"),
    [
        ("acme/payments/api", "acme", "acme/payments"),
        ("acme/web", "acme", "acme"),
        ("library/nginx", "", "library"),
        ("nginx", "", "(root)"),
        ("acme/a/b/c", "acme/a", "acme/a/b"),
    ],
)
def test_namespace_groups(repository: str, scanned: str, group: str) -> None:
    assert namespace_of(repository, scanned) == group


def test_plan_fee_is_allocated_in_proportion_to_storage(tmp_path: Path) -> None:
    r = report(tmp_path, plan="[plan]\nmonthly_fee = 5\nincluded_storage = 100\n")
    # 7 GB held is inside the 100 included: only the fee is billed
    assert r.totals.storage_cost == 5
    rows = rows_by_name(r)
    assert sum(row.storage_cost for row in r.rows) == 5
    assert rows["acme/api"].storage_cost > rows["acme/web"].storage_cost > rows["acme/job"].storage_cost
    assert any("plan's monthly fee" in a for a in r.assumptions)


def test_discount_and_horizon(tmp_path: Path) -> None:
    full = report(tmp_path, "acme/web,,internet,25,,,\n")
    cheaper = report(tmp_path, "acme/web,,internet,25,,,\n", book_id="discounted", discount="discount_pct = 10")
    assert cheaper.totals.monthly_cost == (full.totals.monthly_cost * Decimal("0.9")).quantize(MONEY_QUANTUM)
    inv = fleet_inventory()
    b = write_book(tmp_path)
    assert (
        price(measure(inv, None, b), b, months=36).totals.horizon_cost
        == price(measure(inv, None, b), b).totals.monthly_cost * 36
    )


def test_monthly_cost_by_repository_matches_the_report(tmp_path: Path) -> None:
    b = write_book(tmp_path)
    q = measure(fleet_inventory(), usage("acme/api,,internet,50,,,\nacme/web,,internet,30,,,\n"), b)
    assert monthly_cost_by_repository(q, b) == {row.name: row.monthly_cost for row in price(q, b).rows}


def test_compare_attaches_other_books_totals(tmp_path: Path) -> None:
    inv = fleet_inventory()
    first = write_book(tmp_path, "first")
    second = write_book(tmp_path, "second", scope="repository")
    u = usage("acme/api,,internet,5,,,\n")
    primary = price(measure(inv, u, first), first)
    other = price(measure(inv, u, second, substitute_classes=True), second)
    both = costs.compare(primary, [other])
    assert [c.pricing.id for c in both.comparison] == ["second"]
    assert both.comparison[0].totals.storage_bytes > both.totals.storage_bytes


def test_build_is_every_stage_in_one_call(tmp_path: Path) -> None:
    inv = fleet_inventory()
    first = write_book(tmp_path, "first")
    second = write_book(tmp_path, "second", scope="repository")
    u = usage("acme/api,,internet,5,,,\n")
    built = costs.build(inv, u, [first, second], group_by="team", months=6, source="inv.json")
    primary = price(measure(inv, u, first), first, group_by="team", months=6, source="inv.json")
    other = price(measure(inv, u, second, substitute_classes=True), second, group_by="team", months=6)
    bases = base_rows(inv, measure(inv, u, first), first)
    staged = costs.compare(primary, [other]).model_copy(update={"bases": bases})
    # build() adds the growth projection on top of the staged report, and nothing else
    grown = {"growth": built.growth, "monthly": built.monthly, "assumptions": built.assumptions}
    totals = staged.totals.model_copy(update={"horizon_cost": sum(m.monthly_cost for m in built.monthly)})
    assert len(built.monthly) == 6 and built.monthly[0].monthly_cost >= staged.totals.monthly_cost
    assert built.model_copy(update={"comparison": staged.comparison}) == staged.model_copy(
        update={**grown, "totals": totals}
    )
    assert built.assumptions[: len(staged.assumptions)] == staged.assumptions
    assert built.scenarios == ()
    with_scenarios = costs.build(inv, u, [first], scenarios=[parse_spec("ratio:0.5")])
    (scenario,) = with_scenarios.scenarios
    assert scenario.baseline_monthly_cost == with_scenarios.totals.monthly_cost
    assert scenario.pricing_id == "first"


def test_measurements_shared_by_books_give_what_each_book_measures_alone(tmp_path: Path) -> None:
    inv = fleet_inventory()
    first = write_book(tmp_path, "first")
    second = write_book(tmp_path, "second", scope="repository")
    u = usage("acme/api,,cross-region,5,,,\nacme/web,,,3,,,\n")
    shared = costs.measure_usage(inv, u)
    for book, substitute in ((first, False), (second, True)):
        alone = measure(inv, u, book, substitute_classes=substitute)
        assert measure(inv, u, book, substitute_classes=substitute, measurements=shared) == alone
    # the substitution of one book leaves the shared rows as the usage file has them
    assert {r.repository: r.egress_bytes_by_class for r in shared.rows}["acme/api"] == {
        "cross-region": Decimal(5 * (2000 + 5 * GB))
    }


def test_compared_book_without_a_class_bills_it_as_internet(tmp_path: Path) -> None:
    b = write_book(tmp_path)
    q = measure(fleet_inventory(), usage("acme/api,,cross-region,5,,,\n"), b, substitute_classes=True)
    assert {row.repository: row.egress_bytes_by_class for row in q.rows}["acme/api"] == {
        "internet": Decimal(5 * (2000 + 5 * GB))
    }
    assert "test-book has no cross-region egress class: those pulls are billed as internet egress." in q.assumptions


def test_an_unmatched_usage_glob_is_a_warning(tmp_path: Path) -> None:
    b = write_book(tmp_path)
    q = measure(fleet_inventory(), usage("old/*,,,5,,,\n*,,,1,,,\n"), b)
    assert "u.csv:2: repository: pattern 'old/*' matches no repository in the inventory." in q.warnings


def test_rows_are_sorted_by_cost_then_name(tmp_path: Path) -> None:
    r = report(tmp_path, "acme/job,,internet,500,,,\n")
    assert r.rows[0].name == "acme/job"
    costs_desc = [row.monthly_cost for row in r.rows]
    assert costs_desc == sorted(costs_desc, reverse=True)


def test_the_pure_core_and_plain_renderers_import_no_io_or_terminal_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, costcalc.report, costcalc.usage.file, costcalc.render.json, costcalc.render.csv, "
        "costcalc.render.markdown, costcalc.render.html; "
        "print(sorted({'httpx', 'typer', 'rich'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_platform_the_image_lacks_is_warned_even_when_amd64_stands_in(tmp_path: Path) -> None:
    # web is linux/amd64 only; the row asks for linux/arm64: priced on amd64, and said so
    text = "repository,source,pulls_per_month,platform\nacme/web,internet,1,linux/arm64\n"
    b = write_book(tmp_path)
    q = measure(fleet_inventory(), loads_csv(text, "u.csv"), b)
    assert (
        "u.csv:2: platform: acme/web:latest has no linux/arm64 image (it has linux/amd64); "
        "pulls are priced on linux/amd64."
    ) in q.warnings
    web = next(row for row in q.rows if row.repository == "acme/web")
    assert web.platform == "linux/amd64" and web.pull_bytes == 2000 + 4 * GB


def test_json_and_csv_rows_add_up_to_the_totals_as_printed(tmp_path: Path) -> None:
    # three repositories pull 1 GB-ish images 1/3 of a time a day: every exact share has more
    # than 4 decimals, yet the printed (4-decimal) rows must add up to the printed totals
    import csv
    import io
    import json

    from costcalc.render import csv as render_csv
    from costcalc.render import json as render_json

    text = (
        "repository,source,pulls_per_day\n"
        "acme/api,internet,0.3333333\nacme/web,internet,0.3333333\nacme/job,internet,0.3333333\n"
    )
    b = write_book(tmp_path, storage="tiers = [{ price = 0.0333333 }]", internet="tiers = [{ price = 0.0777777 }]")
    r = price(measure(fleet_inventory(), loads_csv(text, "u.csv"), b), b)
    data = json.loads(render_json.render(r), parse_float=Decimal)
    totals = data["totals"]
    for field in ("storage_cost", "egress_cost", "monthly_cost"):
        assert sum(row[field] for row in data["rows"]) == totals[field], field
    assert sum(row["attributed_bytes"] for row in data["rows"]) == totals["storage_bytes"]
    assert sum(row["egress_bytes"] for row in data["rows"]) == totals["egress_bytes"]
    # storage: 3 GB base + 1+2+1 GB layers + 8 kB manifests/configs = 7.000008 GB x 0.0333333
    # = 0.2333333266... -> 0.2333; every row is a whole number of 0.0001 steps
    assert totals["storage_cost"] == Decimal("0.2333")
    rows = list(csv.DictReader(io.StringIO(render_csv.render(r))))
    assert sum(Decimal(row["monthly_cost_usd"]) for row in rows) == totals["monthly_cost"]


def test_a_repository_pulled_from_two_classes_is_billed_in_each(tmp_path: Path) -> None:
    # web's pull = 4.000002 GB; 2 pulls come over the internet, 3 from the same region
    r = report(
        tmp_path,
        "acme/web,,internet,2,,,\nacme/web,,same-region,3,,,\n",
        internet="tiers = [{ price = 0.10 }]",
    )
    assert r.totals.egress_gb_by_class == {"internet": Decimal("8.000004"), "same-region": Decimal("12.000006")}
    web = rows_by_name(r)["acme/web"]
    assert web.pulls_per_month == 5
    assert web.egress_cost == r.totals.egress_cost_by_class["internet"] == Decimal("0.8000")
