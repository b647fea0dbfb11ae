"""rebase:FROM=TO: images rebuilt on another base, storage measured again, migration apart."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from costcalc import report as costs
from costcalc.errors import InputError
from costcalc.inventory.model import Inventory, build_inventory
from costcalc.pricing.book import PriceBook
from costcalc.render import Layout, render
from costcalc.report.savings import scenario_results
from costcalc.scenarios.spec import Rebase, parse_spec
from costcalc.usage.file import Usage, loads_csv
from tests.inventory_builders import d, flat_book, image, layer, when

BIG = (layer("big-os", 50_000_000), layer("big-runtime", 40_000_000))
SMALL = (layer("slim-os", 5_000_000), layer("slim-runtime", 3_000_000))


book = flat_book


def apps(base: tuple[object, ...], base_tag: str) -> Inventory:
    """acme/api (two versions) and acme/web on BASE, which acme/base:BASE_TAG is."""
    manifests = {
        d(f"api1-{base_tag}"): image("capi1", 10, *base, layer("api-v1", 300_000), created=when(1)),  # type: ignore[arg-type]
        d(f"api2-{base_tag}"): image("capi2", 10, *base, layer("api-v2", 400_000), created=when(2)),  # type: ignore[arg-type]
        d(f"web1-{base_tag}"): image("cweb1", 20, *base, layer("web", 100_000), created=when(1)),  # type: ignore[arg-type]
        d(f"base-{base_tag}"): image(f"cbase-{base_tag}", 30, *base, created=when(1)),  # type: ignore[arg-type]
    }
    tags = {
        "acme/api": [("v1", d(f"api1-{base_tag}")), ("latest", d(f"api2-{base_tag}"))],
        "acme/web": [("latest", d(f"web1-{base_tag}"))],
        "acme/base": [(base_tag, d(f"base-{base_tag}"))],
    }
    return build_inventory("r.example", "acme", when(3), tags, manifests)


def mirror() -> Inventory:
    return build_inventory(
        "mirror.example", "", when(3), {"library/slim": [("1", d("slim"))]}, {d("slim"): image("cslim", 30, *SMALL)}
    )


USAGE = "acme/api,,internet,100,10,4,latest\nacme/web,,internet,20,,,latest\n"


def usage() -> Usage:
    return loads_csv("repository,team,source,pulls_per_month,deploys_per_month,nodes,tag\n" + USAGE, "u.csv")


@pytest.mark.parametrize("dedup", ["registry", "repository"])
def test_rebase_projects_what_the_apps_rebuilt_on_the_new_base_measure(dedup: str) -> None:
    before, after = apps(BIG, "big"), apps(SMALL, "small")
    price_book = book(dedup)
    baseline = costs.measure(before, usage(), price_book)
    spec = parse_spec("rebase:acme/base:big=library/slim:1")
    (result,) = scenario_results(before, price_book, baseline, [spec], months=12, bases=mirror())
    rebuilt = costs.measure(after, usage(), price_book)
    projected = sum((r.storage_bytes for r in baseline.rows), Decimal(0)) - result.bytes_freed
    assert projected == sum((r.storage_bytes for r in rebuilt.rows), Decimal(0))
    rows = result_rows(before, spec, price_book)
    assert [(r.storage_bytes, r.image_bytes, r.pull_bytes, r.delta_bytes) for r in rows] == [
        (r.storage_bytes, r.image_bytes, r.pull_bytes, r.delta_bytes) for r in rebuilt.rows
    ]
    # 4 nodes of acme/api fetch the slim base once; acme/web has no nodes
    assert result.migration_bytes == 4 * 8_000_000
    # 0.032 GB at 0.09 USD/GB = 0.00288 USD, as the report prices a month: to 4 decimals
    assert result.migration_cost == Decimal("0.0029")


def test_a_scope_rebuilds_only_its_repositories() -> None:
    before = apps(BIG, "big")
    spec = parse_spec("rebase:acme/base:big=library/slim:1").model_copy(update={"repositories": ("acme/api",)})
    rows = {r.repository: r for r in result_rows(before, spec, book())}
    assert (rows["acme/api"].image_bytes, rows["acme/web"].image_bytes) == (8_400_000, 90_100_000)


def result_rows(inventory: Inventory, spec: object, price_book: PriceBook) -> tuple[costs.RowQuantities, ...]:
    from costcalc.scenarios.projection import project

    baseline = costs.measure(inventory, usage(), price_book)
    (projection,) = project(inventory, price_book, baseline, [spec], bases=mirror())  # type: ignore[list-item]
    return projection.quantities.rows


def test_cold_pull_egress_changes_by_the_bases_bytes_and_deploys_do_not() -> None:
    before = apps(BIG, "big")
    price_book = book()
    baseline = costs.measure(before, usage(), price_book)
    rows = {r.repository: r for r in result_rows(before, parse_spec("rebase:acme/base:big=library/slim:1"), price_book)}
    old = {r.repository: r for r in baseline.rows}
    change = Decimal(8_000_000 - 90_000_000)
    assert rows["acme/api"].delta_bytes == old["acme/api"].delta_bytes
    assert rows["acme/api"].egress_bytes_by_class == {
        "internet": old["acme/api"].egress_bytes_by_class["internet"] + 100 * change  # type: ignore[index]
    }


def test_the_report_shows_the_migration_apart_and_the_base_images() -> None:
    before = apps(BIG, "big")
    built = costs.build(
        before,
        usage(),
        [book()],
        scenarios=[parse_spec("rebase:r.example/acme/base:big=library/slim:1")],
        bases=mirror(),
    )
    (scenario,) = built.scenarios
    assert scenario.migration_bytes == 32_000_000
    text = render(built, "table", Layout(width=200))
    assert "one-time migration transfer" in text and "32 MB" in text
    assert "Base images" in text and "acme/base:big" in text
    (base,) = built.bases
    assert base.repositories == ("acme/api", "acme/web")
    assert base.versions == ("acme/api:latest", "acme/api:v1", "acme/web:latest")
    assert base.egress_bytes == 120 * 90_000_000  # cold pulls only


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("rebase:acme/base:big", "rebase needs FROM=TO"),
        ("rebase:a:1=a:1", "rebase needs two different images"),
        ("rebase:a:1=Bad Name", "is not an image reference"),
    ],
)
def test_bad_rebase_specs_are_one_sentence(spec: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        parse_spec(spec)


def test_a_base_in_neither_inventory_is_named_in_the_error() -> None:
    spec = parse_spec("rebase:acme/base:big=library/slim:2")
    assert isinstance(spec.effect, Rebase)
    with pytest.raises(
        InputError, match=r"^--scenario 'rebase:acme/base:big=library/slim:2': library/slim:2: no image"
    ):
        scenario_results(apps(BIG, "big"), book(), costs.measure(apps(BIG, "big"), None, book()), [spec], months=1)


GBYTES = 10**9


def test_the_cost_model_worked_example() -> None:
    """docs/cost-model.md, "Base images and rebasing": every figure of its worked example."""
    node = (layer("node-os", GBYTES // 2), layer("node-runtime", 3 * GBYTES // 10))
    slim = (layer("slim-os", 6 * GBYTES // 100), layer("slim-runtime", 4 * GBYTES // 100))
    own = {"api1": 5, "api2": 6, "web1": 7}
    manifests = {d("node20"): image("cnode", 0, *node, size=0)}
    for name, hundredths in own.items():
        manifests[d(name)] = image(f"c{name}", 0, *node, layer(name, hundredths * GBYTES // 100), size=0)
    tags = {
        "acme/node": [("20", d("node20"))],
        "acme/api": [("v1", d("api1")), ("v2", d("api2")), ("latest", d("api2"))],
        "acme/web": [("v1", d("web1")), ("latest", d("web1"))],
    }
    inventory = build_inventory("r.example", "acme", when(3), tags, manifests)
    mirror = build_inventory("m.example", "", when(3), {"node": [("20-slim", d("s"))]}, {d("s"): image("cs", 0, *slim)})
    use = loads_csv("repository,pulls_per_month,deploys_per_month,nodes\nacme/api,100,30,5\nacme/web,10,,\n", "u.csv")
    built = costs.build(
        inventory, use, [book()], scenarios=[parse_spec("rebase:acme/node:20=node:20-slim")], bases=mirror
    )
    (base,) = built.bases
    assert (base.name, base.size_bytes, base.repositories) == (
        "acme/node:20",
        8 * GBYTES // 10,
        ("acme/api", "acme/web"),
    )
    assert len(base.versions) == 3
    assert round(base.stored_share_pct, 1) == Decimal("81.6")
    assert base.egress_bytes == 88 * GBYTES and round(base.egress_share_pct or 0, 1) == Decimal("84.9")
    assert built.totals.egress_bytes == Decimal("103.7") * GBYTES
    assert built.totals.monthly_cost == Decimal("9.431")
    (scenario,) = built.scenarios
    assert scenario.bytes_freed == Decimal("0.70") * GBYTES
    assert (scenario.monthly_cost, scenario.monthly_savings) == (Decimal("2.431"), Decimal("7.000"))
    assert (scenario.migration_bytes, scenario.migration_cost) == (GBYTES // 2, Decimal("0.045"))


def test_the_command_line_takes_a_bases_file_and_a_rebase_from_a_scenario_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from costcalc.cli.app import app
    from costcalc.inventory.file import dumps

    fleet, bases = tmp_path / "fleet.json", tmp_path / "bases.json"
    fleet.write_text(dumps(apps(BIG, "big")), encoding="utf-8")
    bases.write_text(dumps(mirror()), encoding="utf-8")
    scenarios = tmp_path / "scenarios.toml"
    scenarios.write_text(
        '[[scenarios]]\nspec = "rebase:acme/base:big=library/slim:1"\nrepositories = ["acme/api"]\n', encoding="utf-8"
    )
    runner = CliRunner()
    args = ["report", str(fleet), "--bases", str(bases), "--scenario", str(scenarios), "--format", "json"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    (scenario,) = report["scenarios"]
    # aws-ecr stores a layer once in each repository: acme/api holds the slim base, not the big one
    assert scenario["bytes_freed"] == 90_000_000 - 8_000_000
    assert [b["name"] for b in report["bases"]] == ["acme/base:big"]

    missing = runner.invoke(app, ["report", str(fleet), "--bases", str(tmp_path / "nope.json")])
    assert missing.exit_code == 1
    assert f"{tmp_path / 'nope.json'}: no such inventory file" in missing.stderr
    unknown = runner.invoke(app, ["report", str(fleet), "--scenario", "rebase:acme/base:big=library/slim:1"])
    assert unknown.exit_code == 1
    assert "library/slim:1: no image with layers of that name in the inventory (pass --bases" in unknown.stderr


def test_combined_with_a_size_change_composes_and_keeps_the_migration_apart() -> None:
    inventory, price_book = apps(BIG, "big"), book()
    baseline = costs.measure(inventory, usage(), price_book)
    specs = [parse_spec("rebase:acme/base:big=library/slim:1"), parse_spec("ratio:0.5"), parse_spec("retention:1")]
    *singles, combined = scenario_results(inventory, price_book, baseline, specs, months=12, bases=mirror())
    assert combined.monthly_savings > max(s.monthly_savings for s in singles)
    assert combined.savings_pct < 100
    assert combined.migration_bytes == singles[0].migration_bytes == 32_000_000
    assert singles[1].migration_bytes is None  # ratio: no base changes, nothing fetched once


def test_rebased_repositories_grow_by_their_own_layers_as_the_rebuilt_inventory_does() -> None:
    """A rebuilt image is smaller, but each new version still pushes its own app layers: growth
    and pushes are the rebuilt inventory's, not scaled by the image's size ratio."""
    before, after, price_book = apps(BIG, "big"), apps(SMALL, "small"), book()
    rebase_spec = parse_spec("rebase:acme/base:big=library/slim:1")
    built = costs.build(before, usage(), [price_book], scenarios=[rebase_spec], bases=mirror(), months=12)
    rebuilt = costs.build(after, usage(), [price_book], months=12)
    (scenario,) = built.scenarios
    assert [m.storage_bytes for m in scenario.monthly] == [m.storage_bytes for m in rebuilt.monthly]
    assert scenario.horizon_savings == built.totals.horizon_cost - rebuilt.totals.horizon_cost
    # only the 120 cold pulls a month fetch less (82 MB each); deploys and pushes move as many bytes
    assert round(scenario.transfer_hours_saved, 9) == round(Decimal(120 * 82_000_000 * 8) / 10**9 / 3600, 9)


def test_combined_rebase_and_ratio_grows_by_the_ratio_alone() -> None:
    inventory, price_book = apps(BIG, "big"), book()
    specs = [parse_spec("rebase:acme/base:big=library/slim:1"), parse_spec("ratio:0.5")]
    built = costs.build(inventory, usage(), [price_book], scenarios=specs, bases=mirror(), months=12)
    *_, combined = built.scenarios
    (api,) = [g for g in built.growth if g.repository == "acme/api"]
    added = [b.storage_bytes - a.storage_bytes for a, b in zip(combined.monthly, combined.monthly[1:], strict=False)]
    # each new version of acme/api pushes half its app layer (the ratio); the new base changes nothing
    assert [round(a, 6) for a in added] == [round(api.versions_per_month * api.bytes_per_version / 2, 6)] * 11
