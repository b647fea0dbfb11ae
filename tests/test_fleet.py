"""The fleet report's core: inventories merged per registry, each registry priced on its own book, summed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from costcalc.inventory.merge import Fleet, registry_name
from costcalc.inventory.model import Inventory, build_inventory
from costcalc.pricing.book import PriceBook
from costcalc.report import Member, MixedCurrencies, ScopedScenario, build, build_fleet
from costcalc.scenarios.spec import parse_spec
from tests.inventory_builders import by_registry, d, flat_book, image, layer, when

NOW = datetime(2026, 1, 10, tzinfo=UTC)
MB = 10**6


def namespace(registry: str, name: str, *, day: int = 3, extra: str = "") -> Inventory:
    """Two repositories under NAME, both on the 900 MB layer `base` every namespace shares."""
    manifests = {
        d(f"{name}-api{extra}"): image(
            f"c{name}api{extra}", 10, layer("base", 900 * MB), layer(f"{name}-api{extra}", 300 * MB)
        ),
        d(f"{name}-web"): image(f"c{name}web", 20, layer("base", 900 * MB), layer(f"{name}-web", 100 * MB)),
    }
    tags = {
        f"{name}/api": [("v1", d(f"{name}-api{extra}"))],
        f"{name}/web": [("latest", d(f"{name}-web"))],
    }
    return build_inventory(registry, name, when(day), tags, manifests)


def book(book_id: str, dedup: str = "registry", currency: str = "USD", price: str = "0.10") -> PriceBook:
    flat = flat_book(dedup)
    storage = flat.storage.model_copy(
        update={"tiers": (flat.storage.tiers[0].model_copy(update={"price": Decimal(price)}),)}
    )
    return flat.model_copy(update={"id": book_id, "name": book_id, "currency": currency, "storage": storage})


def members(
    *pairs: tuple[str, Inventory], books: dict[str, PriceBook], scenarios: tuple[ScopedScenario, ...] = ()
) -> list[Member]:
    return [Member(registry, (books[registry.registry],), None, scenarios) for registry in by_registry(list(pairs))]


def test_two_namespaces_of_one_registry_store_their_shared_layer_as_the_book_dedups_it() -> None:
    pairs = [("a.json", namespace("r.example", "alpha")), ("b.json", namespace("r.example", "beta"))]
    (merged,) = by_registry(pairs)
    assert [r.name for r in merged.inventory.repositories] == ["alpha/api", "alpha/web", "beta/api", "beta/web"]
    # every blob once: base, the four own layers ((300 + 100) MB per namespace), the four configs
    registry_scoped = build_fleet([Member(merged, (book("reg"),))])
    assert registry_scoped.totals.storage_bytes == 900 * MB + 800 * MB + 60
    repository_scoped = build_fleet([Member(merged, (book("repo", "repository"),))])
    assert repository_scoped.totals.storage_bytes == 4 * 900 * MB + 800 * MB + 60
    assert [given.source for given in registry_scoped.inputs] == ["a.json", "b.json"]
    assert registry_scoped.registries[0].namespaces == ("alpha", "beta")


def test_a_fleet_of_registries_is_the_sum_of_their_own_reports() -> None:
    ghcr, ecr = namespace("ghcr.io", "alpha"), namespace("1.dkr.ecr.us-east-1.amazonaws.com", "beta")
    books = {"ghcr.io": book("gh", "repository", price="0.25"), "1.dkr.ecr.us-east-1.amazonaws.com": book("ecr")}
    fleet = build_fleet(members(("g.json", ghcr), ("e.json", ecr), books=books))
    alone = [build(ghcr, None, [books["ghcr.io"]]), build(ecr, None, [books["1.dkr.ecr.us-east-1.amazonaws.com"]])]
    assert fleet.totals.monthly_cost == sum((r.totals.monthly_cost for r in alone), Decimal(0))
    assert fleet.totals.storage_bytes == sum((r.totals.storage_bytes for r in alone), Decimal(0))
    assert sum((row.monthly_cost for row in fleet.rows), Decimal(0)) == fleet.totals.monthly_cost
    assert {row.name for row in fleet.rows} == {
        "ghcr.io/alpha/api",
        "ghcr.io/alpha/web",
        "1.dkr.ecr.us-east-1.amazonaws.com/beta/api",
        "1.dkr.ecr.us-east-1.amazonaws.com/beta/web",
    }
    by_book = {b.pricing.id: b for b in fleet.price_books}
    assert by_book["gh"].monthly_cost == alone[0].totals.monthly_cost
    assert by_book["ecr"].registries == ("1.dkr.ecr.us-east-1.amazonaws.com",)
    assert fleet.pricing.id == "ecr+gh"
    assert "2 price books" in fleet.pricing.name
    assert sum((r.monthly_cost for r in fleet.registries), Decimal(0)) == fleet.totals.monthly_cost


def test_group_by_registry_gives_one_row_per_registry_and_team_rows_add_across_registries() -> None:
    ghcr, ecr = namespace("ghcr.io", "alpha"), namespace("quay.io", "beta")
    books = {"ghcr.io": book("gh"), "quay.io": book("quay", price="0.30")}
    fleet = build_fleet(members(("g", ghcr), ("q", ecr), books=books), group_by="registry")
    assert sorted(row.name for row in fleet.rows) == ["ghcr.io", "quay.io"]
    per_registry = {r.registry: r.monthly_cost for r in fleet.registries}
    assert {row.name: row.monthly_cost for row in fleet.rows} == per_registry
    teams = build_fleet(members(("g", ghcr), ("q", ecr), books=books), group_by="team")
    (no_team,) = teams.rows  # no usage file: every repository is in the one no-team group
    assert no_team.monthly_cost == teams.totals.monthly_cost
    assert len(no_team.repositories) == 4


def test_one_inventory_is_exactly_the_report_build_makes() -> None:
    inventory = namespace("ghcr.io", "alpha")
    (registry,) = by_registry([("x.json", inventory)])
    fleet = build_fleet([Member(registry, (book("gh"),))])
    assert fleet == build(inventory, None, [book("gh")], source="x.json")
    assert fleet.inputs == fleet.registries == fleet.price_books == ()


def test_a_repository_in_two_scans_is_taken_from_the_newer_and_said() -> None:
    old = namespace("r.example", "alpha", day=2, extra="old")
    new = namespace("r.example", "alpha", day=5)
    (merged,) = by_registry([("old.json", old), ("new.json", new)])
    assert {tag.digest for r in merged.inventory.repositories for tag in r.tags} == {d("alpha-api"), d("alpha-web")}
    assert d("alpha-apiold") not in merged.inventory.manifests  # the older scan's image is gone
    assert merged.warnings == (
        "r.example/alpha/api is in both old.json and new.json; the newer scan (new.json, 2026-01-05) is used.",
        "r.example/alpha/web is in both old.json and new.json; the newer scan (new.json, 2026-01-05) is used.",
    )


def test_docker_hub_names_are_one_registry() -> None:
    assert registry_name("registry-1.docker.io") == registry_name("Index.Docker.io") == "docker.io"
    fleet = Fleet()
    fleet.add("a", namespace("docker.io", "alpha"))
    fleet.add("b", namespace("registry-1.docker.io", "beta"))
    (hub,) = fleet.registries()
    assert hub.registry == "docker.io" and len(hub.inventory.repositories) == 4


def test_a_fleet_in_two_currencies_is_refused_naming_each_registry() -> None:
    books = {"ghcr.io": book("gh"), "quay.io": book("eu", currency="EUR")}
    with pytest.raises(MixedCurrencies, match=r"2 currencies \(ghcr.io in USD \(gh\); quay.io in EUR \(eu\)\)"):
        build_fleet(members(("g", namespace("ghcr.io", "a")), ("q", namespace("quay.io", "b")), books=books))


def test_a_scoped_scenario_saves_only_in_its_registries_and_combined_adds_up() -> None:
    ghcr, quay = namespace("ghcr.io", "alpha"), namespace("quay.io", "beta")
    books = {"ghcr.io": book("gh"), "quay.io": book("quay")}
    registries = by_registry([("g", ghcr), ("q", quay)])
    everywhere = ScopedScenario(parse_spec("target:100B"))
    only_ghcr = ScopedScenario(parse_spec("retention:1"), "ghcr.io")
    fleet_members = [
        Member(r, (books[r.registry],), None, (everywhere, only_ghcr) if r.registry == "ghcr.io" else (everywhere,))
        for r in registries
    ]
    fleet = build_fleet(fleet_members)
    ids = [s.id for s in fleet.scenarios]
    assert ids == ["target:100B", "retention:1 [ghcr.io]", "combined"]
    target, retention, combined = fleet.scenarios
    assert target.baseline_monthly_cost == fleet.totals.monthly_cost
    alone = {
        r.registry: build(r.inventory, None, [books[r.registry]], scenarios=[everywhere.scenario]) for r in registries
    }
    assert target.monthly_savings == sum((a.scenarios[0].monthly_savings for a in alone.values()), Decimal(0))
    ghcr_alone = build(registries[0].inventory, None, [books["ghcr.io"]], scenarios=[only_ghcr.scenario])
    assert retention.monthly_savings == ghcr_alone.scenarios[0].monthly_savings
    assert all(row.repository.startswith("ghcr.io/") for row in retention.rows)
    both = build(registries[0].inventory, None, [books["ghcr.io"]], scenarios=[everywhere.scenario, only_ghcr.scenario])
    quay_target = alone["quay.io"].scenarios[0]
    assert combined.monthly_savings == both.scenarios[-1].monthly_savings + quay_target.monthly_savings


def test_comparison_books_price_the_whole_fleet() -> None:
    ghcr, quay = namespace("ghcr.io", "alpha"), namespace("quay.io", "beta")
    other = book("other", "repository", price="0.50")
    registries = by_registry([("g", ghcr), ("q", quay)])
    fleet = build_fleet([Member(r, (book("own"), other)) for r in registries])
    (compared,) = fleet.comparison
    expected = sum((build(r.inventory, None, [other]).totals.monthly_cost for r in registries), Decimal(0))
    assert compared.pricing.id == "other" and compared.totals.monthly_cost == expected


def test_inputs_older_than_max_age_are_marked_and_warned() -> None:
    registries = by_registry(
        [("old.json", namespace("ghcr.io", "a", day=1)), ("new.json", namespace("quay.io", "b", day=9))]
    )
    fleet = build_fleet([Member(r, (book("x"),)) for r in registries], generated_at=NOW, max_age=timedelta(days=3))
    assert [(i.source, i.stale) for i in fleet.inputs] == [("old.json", True), ("new.json", False)]
    assert "old.json (ghcr.io/a) was scanned 2026-01-01 00:00 UTC, longer ago than --max-age 3d" in " ".join(
        fleet.warnings
    )
