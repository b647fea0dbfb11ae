"""Untagged images in the report: counted, attributed to their repository, priced, in every format."""

from __future__ import annotations

import json
from decimal import Decimal

from costcalc.inventory.model import Inventory, build_inventory
from costcalc.pricing.book_file import load_book
from costcalc.render import json as json_render
from costcalc.render import markdown, table
from costcalc.report import build
from costcalc.report.untagged import untagged_bytes
from costcalc.scenarios.spec import parse_spec
from tests.inventory_builders import d, image, layer, when

OLD = 30_000_000_000  # large enough that its storage costs more than 0.0001 a month


def fleet() -> Inventory:
    """acme/api: tag v2, untagged v1 (base shared with v2 and with acme/web; 'old' only its own)."""
    manifests = {
        d("api1"): image("capi1", 10, layer("base", 900), layer("old", OLD), created=when(1)),
        d("api2"): image("capi2", 10, layer("base", 900), layer("new", OLD // 3), created=when(2)),
        d("web1"): image("cweb1", 20, layer("base", 900), layer("old", OLD), created=when(1)),
    }
    tags = {"acme/api": [("v2", d("api2"))], "acme/web": [("latest", d("web1"))]}
    return build_inventory("r.example", "acme", when(3), tags, manifests, untagged={"acme/api": [d("api1")]})


def test_untagged_bytes_are_what_only_untagged_manifests_reach_under_each_dedup_scope() -> None:
    inventory = fleet()
    # only the untagged manifest reaches: itself (500), its config (10) and 'old' (3000);
    # 'base' is also v2's, so deleting the untagged image would not free it
    per_repository = untagged_bytes(inventory, "repository")
    assert per_repository["acme/api"].images == 1
    assert per_repository["acme/api"].attributed_bytes == 500 + 10 + OLD
    # registry dedup: 'old' is acme/web's too, so acme/api's share of it is half
    registry = untagged_bytes(inventory, "registry")
    assert registry["acme/api"].attributed_bytes == 500 + 10 + OLD // 2
    assert "acme/web" not in registry


def test_the_report_prices_untagged_images_as_a_part_of_their_repository_storage() -> None:
    report = build(fleet(), None, [load_book("s3-self-hosted")])  # registry dedup
    api = next(row for row in report.rows if row.name == "acme/api")
    web = next(row for row in report.rows if row.name == "acme/web")
    assert api.untagged_images == 1 and web.untagged_images == 0
    assert api.untagged_bytes == Decimal(500 + 10 + OLD // 2)
    # the same allocation as storage: a share of the row's storage cost in bytes' proportion
    assert 0 < api.untagged_cost < api.storage_cost
    expected = api.storage_cost * api.untagged_bytes / api.attributed_bytes
    assert abs(api.untagged_cost - expected) <= Decimal("0.0001")
    assert report.totals.untagged_images == 1
    assert report.totals.untagged_cost == api.untagged_cost
    # billed: the storage total counts every byte the untagged manifest reaches
    assert report.totals.storage_bytes == inventory_unique(fleet())


def inventory_unique(inventory: Inventory) -> Decimal:
    return Decimal(inventory.figures.unique_bytes)


def test_untagged_images_are_in_json_and_in_the_human_formats() -> None:
    report = build(fleet(), None, [load_book("aws-ecr")])
    data = json.loads(json_render.render(report))
    rows = {row["name"]: row for row in data["rows"]}
    assert rows["acme/api"]["untagged"]["images"] == 1
    assert rows["acme/api"]["untagged"]["bytes"] == 500 + 10 + OLD  # ECR: repository dedup
    assert "untagged" not in rows["acme/web"]
    assert data["totals"]["untagged"]["monthly_cost"] == rows["acme/api"]["untagged"]["monthly_cost"]
    text = table.render(report)
    assert "Untagged images" in text
    assert "acme/api: untagged: 1 image," in text
    assert "acme/api: untagged: 1 image," in markdown.render(report)


def test_a_report_without_untagged_images_has_no_untagged_section() -> None:
    inventory = build_inventory("r.example", "", when(3), {"a": [("v1", d("m"))]}, {d("m"): image("c", 1)})
    report = build(inventory, None, [load_book("aws-ecr")])
    assert report.totals.untagged_images == 0
    assert "Untagged" not in table.render(report)
    assert "untagged" not in json.loads(json_render.render(report))["totals"]


def test_retention_keeps_untagged_images_it_does_not_speak_of() -> None:
    # retention decides among tagged versions only: acme/api's one version stays, and so does
    # its untagged image (its bytes are still stored and still listed as untagged)
    report = build(fleet(), None, [load_book("s3-self-hosted")], scenarios=[parse_spec("retention:5")])
    (scenario,) = report.scenarios
    assert any("drops 0 of 2 image versions" in line for line in scenario.assumptions)
    assert scenario.bytes_freed == 0
    assert scenario.monthly_cost == scenario.baseline_monthly_cost
    # a version dropped frees its own layer, never the untagged image's
    dropped = build(
        fleet_with_two_versions(), None, [load_book("s3-self-hosted")], scenarios=[parse_spec("retention:1")]
    )
    (scenario,) = dropped.scenarios
    assert [(v.tags, v.dropped) for v in scenario.versions if v.repository == "acme/api"] == [
        (("v2",), True),
        (("v3",), False),
    ]
    assert scenario.bytes_freed == 500 + 10 + 700


def fleet_with_two_versions() -> Inventory:
    """fleet() with acme/api:v3 after v2; v2 alone holds its 'new' layer."""
    inventory = fleet()
    manifests = dict(inventory.manifests)
    manifests[d("api3")] = image("capi3", 10, layer("base", 900), layer("newer", 700), created=when(3))
    manifests[d("api2")] = image("capi2", 10, layer("base", 900), layer("new", 700), created=when(2))
    tags = {"acme/api": [("v2", d("api2")), ("v3", d("api3"))], "acme/web": [("latest", d("web1"))]}
    return build_inventory("r.example", "acme", when(4), tags, manifests, untagged={"acme/api": [d("api1")]})


def test_a_layer_an_untagged_image_shares_is_no_version_s_own() -> None:
    # v2's 'shared' layer is also the untagged image's: dropping v2 leaves it stored
    manifests = {
        d("a1"): image("c1", 10, layer("base", 900), layer("shared", 3000), created=when(1)),
        d("a2"): image("c2", 10, layer("base", 900), layer("shared", 3000), layer("own", 40), created=when(2)),
        d("a3"): image("c3", 10, layer("base", 900), layer("new", 700), created=when(3)),
    }
    tags = {"acme/api": [("v2", d("a2")), ("v3", d("a3"))]}
    inventory = build_inventory("r.example", "acme", when(4), tags, manifests, untagged={"acme/api": [d("a1")]})
    report = build(inventory, None, [load_book("s3-self-hosted")], scenarios=[parse_spec("retention:1")])
    (scenario,) = report.scenarios
    (v2, _) = scenario.versions
    assert v2.tags == ("v2",) and v2.dropped
    assert v2.exclusive_bytes == scenario.bytes_freed == 500 + 10 + 40
