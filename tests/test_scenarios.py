"""Scenario specs, scenario files and projections, on inventories and price books built in code."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from costcalc import report as costs
from costcalc.errors import InputError
from costcalc.inventory.model import BlobRef, Inventory, ManifestRecord, build_inventory
from costcalc.pricing.book import PriceBook, Tier, TieredRate
from costcalc.report import ScenarioResult
from costcalc.report.savings import scenario_results
from costcalc.scenarios import file as scenarios
from costcalc.scenarios.file import load_scenario_file
from costcalc.scenarios.retention import Retention, exclusive_version_bytes, retention_plan
from costcalc.scenarios.spec import (
    Colocate,
    MeasuredRatio,
    Preset,
    Provider,
    ShrinkByRatio,
    ShrinkToSize,
    parse_spec,
)
from costcalc.usage.file import Usage, loads_csv

MB = 10**6
GB = 10**9
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def image(*layers: tuple[str, int], created: str | None = None, platform: str = "linux/amd64") -> ManifestRecord:
    """An image manifest of 0 bytes without a config: its bytes are exactly its layers."""
    return ManifestRecord(
        media_type=OCI_MANIFEST,
        size_bytes=0,
        kind="image",
        platform=platform,
        created=datetime.fromisoformat(created) if created else None,
        layers=tuple(BlobRef(media_type=LAYER, digest=digest(n), size_bytes=s) for n, s in layers),
    )


def signature(size: int) -> ManifestRecord:
    return ManifestRecord(
        media_type=OCI_MANIFEST,
        size_bytes=0,
        kind="artifact",
        artifact_type="application/vnd.dev.cosign.simplesigning.v1+json",
        layers=(
            BlobRef(
                media_type="application/vnd.dev.cosign.simplesigning.v1+json",
                digest=digest("sig-layer"),
                size_bytes=size,
            ),
        ),
    )


def book(
    book_id: str = "test",
    *,
    dedup: str = "registry",
    storage: str = "0.10",
    egress: dict[str, str] | None = None,
) -> PriceBook:
    """A GB book (10^9 bytes) with flat prices: arithmetic by hand stays easy."""
    classes = egress if egress is not None else {"internet": "0.09", "cross-region": "0.02", "same-region": "0"}
    return PriceBook(
        id=book_id,
        name=f"{book_id} book",
        provider="test",
        region="here",
        currency="USD",
        unit="GB",
        dedup_scope=dedup,  # type: ignore[arg-type]
        effective_date=date(2026, 11, 1),
        sources=("https://example.test/prices",),
        storage=TieredRate(tiers=(Tier(price=Decimal(storage)),)),
        egress={c: TieredRate(tiers=(Tier(price=Decimal(p)),)) for c, p in classes.items()},
    )


def usage(text: str) -> Usage:
    return loads_csv(text, "usage.csv")


def run(
    inventory: Inventory,
    specs: list[str],
    price_book: PriceBook | None = None,
    pulls: Usage | None = None,
    keep: tuple[str, ...] = (),
) -> dict[str, ScenarioResult]:
    price_book = price_book or book()
    baseline = costs.measure(inventory, pulls, price_book)
    results = scenario_results(inventory, price_book, baseline, [parse_spec(s) for s in specs], months=12, keep=keep)
    return {r.id: r for r in results}


SCANNED = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def two_services() -> Inventory:
    """acme/api pulls a 1 GB image, acme/web a 100 MB one; no layer shared."""
    return build_inventory(
        "registry.test",
        "acme",
        SCANNED,
        {"acme/api": [("latest", digest("api"))], "acme/web": [("latest", digest("web"))]},
        {digest("api"): image(("api-l", GB)), digest("web"): image(("web-l", 100 * MB))},
    )


PULLS = "repository,pulls_per_month,source\nacme/api,100,internet\nacme/web,100,internet\n"
# Baseline on book(): storage 0.10/GB, internet 0.09/GB.
#   api: storage 1 GB -> 0.10; egress 100 pulls x 1 GB = 100 GB -> 9.00; 9.10
#   web: storage 0.1 GB -> 0.01; egress 100 x 0.1 GB = 10 GB -> 0.90;  0.91
#   baseline 10.01 a month


@pytest.mark.parametrize(
    ("spec", "monthly_cost"),
    [
        # presets shrink images larger than their size by the article's ratio; storage and egress
        # are each rounded once over both rows. alpine: api 1 GB x 186/912, web (100 MB) stays:
        # storage 0.10 x (0.2039473684 + 0.1) GB = 0.0304; egress 0.09 x (20.39473684 + 10) GB = 2.7355
        ("alpine", Decimal("0.0304") + Decimal("2.7355")),
        # multistage: api x 142/912 = 0.1557017544: 0.10 x 0.2557017544 = 0.0256;
        # 0.09 x 25.57017544 = 2.3013
        ("multistage", Decimal("0.0256") + Decimal("2.3013")),
        # distroless: both exceed 78 MB, both x 78/912 = 0.0855263158: 0.10 x 1.1 x r = 0.0094;
        # 0.09 x 110 x r = 0.8467
        ("distroless", Decimal("0.0094") + Decimal("0.8467")),
        # api -> 500 MB: 0.05 + 4.5; web already below 500 MB: 0.91
        ("target:500MB", Decimal("4.55") + Decimal("0.91")),
        # 0.5 GB written in binary units is not 500 MB: api -> 536,870,912 bytes; storage
        # 0.0636870912 -> 0.0637 and egress 63.6870912 GB x 0.09 = 5.731838208 -> 5.7318 (to 0.0001)
        ("target:0.5GiB", Decimal("0.0637") + Decimal("5.7318")),
        # both halve: 4.55 + 0.455
        ("ratio:0.5", Decimal("4.55") + Decimal("0.455")),
        # 50 % of internet moves to free same-region: egress 4.5 + 0.45, storage 0.11 unchanged
        ("colocate:50", Decimal("0.11") + Decimal("4.5") + Decimal("0.45")),
    ],
)
def test_each_spec_alone(two_services: Inventory, spec: str, monthly_cost: Decimal) -> None:
    result = run(two_services, [spec], pulls=usage(PULLS))[spec]
    assert result.baseline_monthly_cost == Decimal("10.01")
    assert result.monthly_cost == monthly_cost
    assert result.monthly_savings == Decimal("10.01") - monthly_cost
    assert result.horizon_savings == 12 * (Decimal("10.01") - monthly_cost)
    assert result.savings_pct == (Decimal("10.01") - monthly_cost) / Decimal("10.01") * 100
    assert sum(r.monthly_cost for r in result.rows) == monthly_cost
    assert result.pricing_id == "test"
    assert "combined" not in run(two_services, [spec], pulls=usage(PULLS))


def test_shrink_frees_storage_bytes(two_services: Inventory) -> None:
    result = run(two_services, ["alpine"], pulls=usage(PULLS))["alpine"]
    # only api shrinks: 1 GB x (1 - 186/912)
    assert abs(result.bytes_freed - Decimal(GB) * (912 - 186) / 912) < 1
    assert any("typical uncompressed sizes" in a and "not a measurement" in a for a in result.assumptions)


def test_scoped_scenario_touches_only_its_repositories(two_services: Inventory, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[scenarios]]\nspec = "ratio:0.5"\nrepositories = ["acme/web*", "nothing/*"]\n')
    found = load_scenario_file(path)
    price_book = book()
    pulls = usage(PULLS)
    baseline = costs.measure(two_services, pulls, price_book)
    (result,) = scenario_results(two_services, price_book, baseline, found, months=12)
    # web halves: 0.91 -> 0.455; api stays 9.10
    assert result.monthly_cost == Decimal("9.10") + Decimal("0.455")
    assert {r.repository: r.monthly_savings for r in result.rows} == {
        "acme/api": Decimal(0),
        "acme/web": Decimal("0.455"),
    }
    assert result.id == "ratio:0.5 (acme/web*, nothing/*)"
    assert any("'nothing/*' matches no repository" in a for a in result.assumptions)


def test_colocate_needs_a_same_region_class(two_services: Inventory) -> None:
    no_same_region = book(egress={"internet": "0.09"})
    with pytest.raises(InputError, match=r"--scenario 'colocate:50': the price book test has no same-region"):
        run(two_services, ["colocate:50"], no_same_region, usage(PULLS))


# -- retention ---------------------------------------------------------------------------------
#
# acme/api has four versions sharing a 600 MB base layer with acme/web; each adds 100 MB.
# v1 has a cosign signature (1 MB) tagged sha256-<v1>.sig; v4 is also `latest`.
#
#   registry dedup: base split 300/300 MB
#     api = 300 + 4 x 100 + 1 (signature) = 701 MB, web = 300 + 50 = 350 MB, total 1051 MB


@pytest.fixture
def versions() -> Inventory:
    v1, v2, v3, v4, web = (digest(n) for n in ("v1", "v2", "v3", "v4", "web1"))
    return build_inventory(
        "registry.test",
        "acme",
        SCANNED,
        {
            "acme/api": [
                ("v1", v1),
                ("v2", v2),
                ("v3", v3),
                ("v4", v4),
                ("latest", v4),
                (f"sha256-{v1.removeprefix('sha256:')}.sig", digest("sig")),
            ],
            "acme/web": [("latest", web)],
        },
        {
            v1: image(("base", 600 * MB), ("a1", 100 * MB), created="2026-01-01T00:00:00+00:00"),
            v2: image(("base", 600 * MB), ("a2", 100 * MB), created="2026-02-01T00:00:00+00:00"),
            v3: image(("base", 600 * MB), ("a3", 100 * MB), created="2026-03-01T00:00:00+00:00"),
            v4: image(("base", 600 * MB), ("a4", 100 * MB), created="2026-04-01T00:00:00+00:00"),
            web: image(("base", 600 * MB), ("w1", 50 * MB), created="2026-04-01T00:00:00+00:00"),
            digest("sig"): signature(1 * MB),
        },
    )


def test_retention_keeps_newest_versions_and_their_aliases(versions: Inventory) -> None:
    plan = retention_plan(versions, "acme/api", Retention(versions=2))
    # v3 and v4 (= latest) survive; v1, v2 and v1's signature go
    assert plan.kept_tags == {"v3", "v4", "latest"}
    assert [v.tags for v in plan.dropped] == [("v1",), ("v2",)]
    one = retention_plan(versions, "acme/api", Retention(versions=1))
    assert one.kept_tags == {"v4", "latest"}  # two tags, one version


@pytest.mark.parametrize(
    ("spec", "keep", "dedup", "freed"),
    [
        # keeps v3, v4: api 300 + a3 + a4 = 500 MB; v1, v2, sig free 201 MB (base: web, v3 use it)
        ("retention:2", (), "registry", 201 * MB),
        # v1 kept by --keep, and its signature with it: frees only v2's 100 MB
        ("retention:2", ("v1",), "registry", 100 * MB),
        # 90 days before 2026-05-01 is 2026-01-31: v1 (and its signature) go
        ("retention:90d", (), "registry", 101 * MB),
        # 10 days: nothing created since 2026-04-21, yet the newest version stays: v1..v3 + sig go
        ("retention:10d", (), "registry", 301 * MB),
        # per-repository dedup: api stores base itself: 1001 MB -> 800 MB, the same 201 MB freed
        ("retention:2", (), "repository", 201 * MB),
    ],
)
def test_retention_frees_exactly_the_unreached_blobs(
    versions: Inventory, spec: str, keep: tuple[str, ...], dedup: str, freed: int
) -> None:
    result = run(versions, [spec], book(dedup=dedup), keep=keep)[spec]
    assert result.bytes_freed == freed
    # no usage: storage only, 0.10 per GB
    assert result.monthly_savings == Decimal(freed) / GB * Decimal("0.10")


def test_retention_keeps_the_tag_the_usage_pulls(versions: Inventory) -> None:
    pulls = usage("repository,pulls_per_month,source,tag\nacme/api,10,internet,v1\n")
    result = run(versions, ["retention:1"], pulls=pulls)["retention:1"]
    # v4 (newest) and v1 (pulled, with its signature) stay: only v2 and v3 go
    assert result.bytes_freed == 200 * MB


def test_retention_does_not_free_a_layer_another_repository_uses() -> None:
    # web's only layer is the base that api v1 also has: dropping v1 frees only a1
    old, new, web = digest("old"), digest("new"), digest("web")
    inventory = build_inventory(
        "r.test",
        "",
        SCANNED,
        {"api": [("old", old), ("new", new)], "web": [("latest", web)]},
        {
            old: image(("base", 600 * MB), ("a1", 100 * MB), created="2026-01-01T00:00:00+00:00"),
            new: image(("b2", 200 * MB), created="2026-02-01T00:00:00+00:00"),
            web: image(("base", 600 * MB), created="2026-02-01T00:00:00+00:00"),
        },
    )
    result = run(inventory, ["retention:1"])["retention:1"]
    assert result.bytes_freed == 100 * MB
    rows = {r.repository: r for r in result.rows}
    # under registry dedup web now holds all of base (300 -> 600 MB): its share costs 0.03 more
    assert rows["web"].monthly_savings == Decimal("-0.03")
    assert rows["api"].monthly_savings == Decimal("0.04")  # 300 + 100 MB no longer api's


def test_exclusive_version_bytes(versions: Inventory) -> None:
    exclusive = exclusive_version_bytes(versions, "acme/api")
    # base is shared, so every version holds only its own layer; v1 also its signature
    assert [(v.tags, size) for v, size in exclusive] == [
        (("v1",), 101 * MB),
        (("v2",), 100 * MB),
        (("v3",), 100 * MB),
        (("latest", "v4"), 100 * MB),
    ]
    # under per-repository dedup web's copy of base is web's own: still not exclusive to one version
    assert exclusive_version_bytes(versions, "acme/api", "repository")[0][1] == 101 * MB


def test_retention_reports_each_versions_exclusive_bytes(versions: Inventory) -> None:
    result = run(versions, ["retention:1"])["retention:1"]
    # the same bytes as by hand above, as data: v1..v3 go, v4 (= latest) and web's only version stay
    assert [(v.repository, v.tags, v.created, v.exclusive_bytes, v.dropped) for v in result.versions] == [
        ("acme/api", ("v1",), datetime(2026, 1, 1, tzinfo=UTC), 101 * MB, True),
        ("acme/api", ("v2",), datetime(2026, 2, 1, tzinfo=UTC), 100 * MB, True),
        ("acme/api", ("v3",), datetime(2026, 3, 1, tzinfo=UTC), 100 * MB, True),
        ("acme/api", ("latest", "v4"), datetime(2026, 4, 1, tzinfo=UTC), 100 * MB, False),
        ("acme/web", ("latest",), datetime(2026, 4, 1, tzinfo=UTC), 50 * MB, False),
    ]
    assert result.versions[0].digest == digest("v1")
    assert [v.tags for v in result.dropped_by_size()] == [("v1",), ("v2",), ("v3",)]
    # one summary sentence, no per-repository lists of versions in the assumptions
    summary = [a for a in result.assumptions if "drops 3 of 5 image versions in 1 repository" in a]
    assert len(summary) == 1 and "exclusive bytes" in summary[0]
    assert not any("acme/api" in a for a in result.assumptions)
    # other scenarios have no versions
    assert run(versions, ["ratio:0.5"])["ratio:0.5"].versions == ()


def test_exclusive_bytes_under_repository_dedup_count_within_the_repository() -> None:
    # api:old shares base with web only: under repository dedup api stores its own base copy
    old, new, web = digest("old"), digest("new"), digest("web")
    inventory = build_inventory(
        "r.test",
        "",
        SCANNED,
        {"api": [("old", old), ("new", new)], "web": [("latest", web)]},
        {
            old: image(("base", 600 * MB), ("a1", 100 * MB), created="2026-01-01T00:00:00+00:00"),
            new: image(("b2", 200 * MB), created="2026-02-01T00:00:00+00:00"),
            web: image(("base", 600 * MB), created="2026-02-01T00:00:00+00:00"),
        },
    )
    for dedup, exclusive in (("registry", 100 * MB), ("repository", 700 * MB)):
        result = run(inventory, ["retention:1"], book(dedup=dedup))["retention:1"]
        (dropped,) = result.dropped_by_size()
        assert (dropped.tags, dropped.exclusive_bytes) == (("old",), exclusive)
        assert dropped.exclusive_bytes == result.bytes_freed


def test_combined_reports_each_version_once_with_the_last_verdict(versions: Inventory) -> None:
    combined = run(versions, ["retention:3", "retention:2"])["combined"]
    api = [(v.tags, v.dropped) for v in combined.versions if v.repository == "acme/api"]
    # retention:3 drops v1; retention:2, on what is left, drops v2 that retention:3 kept
    assert sorted(api) == [
        (("latest", "v4"), False),
        (("v1",), True),
        (("v2",), True),
        (("v3",), False),
    ]


def test_combined_is_applied_in_order_not_summed(versions: Inventory) -> None:
    results = run(versions, ["ratio:0.5", "retention:2"])
    # storage only (no usage), 0.10 per GB; baseline 1051 MB -> 0.1051
    assert results["ratio:0.5"].baseline_monthly_cost == Decimal("0.1051")
    # ratio:0.5 halves both repositories: 525.5 MB -> 0.05255, rounded half-up to 0.0526 (money
    # is exact to 0.0001), saving 0.0525
    assert results["ratio:0.5"].monthly_savings == Decimal("0.0525")
    # retention:2 alone frees 201 MB: saving 0.0201
    assert results["retention:2"].monthly_savings == Decimal("0.0201")
    # combined: api 350.5 MB x (500 / 701) = 250 MB, web 175 MB -> 425 MB = 0.0425, saving 0.0626;
    # the sum of the singles (0.0726) would count the 201 MB retention frees at full size,
    # but after the shrink those versions are half as big: 0.0726 - 0.0626 = 0.0100 (100.5 MB)
    combined = results["combined"]
    assert combined.monthly_cost == Decimal("0.0425")
    assert combined.monthly_savings == Decimal("0.0626")
    assert results["ratio:0.5"].monthly_savings + results[
        "retention:2"
    ].monthly_savings - combined.monthly_savings == Decimal("0.0100")
    assert combined.bytes_freed == (1051 - 425) * MB
    assert combined.description == "All scenarios applied in order: ratio:0.5, then retention:2"


def test_combined_applies_the_strongest_size_change_per_image(two_services: Inventory) -> None:
    # size changes are alternatives: api gets alpine (1 GB x 186/912 = 203.9 MB < 500 MB),
    # web gets ratio:0.5 (50 MB; alpine leaves 100 MB as it is), whatever the order
    first = run(two_services, ["ratio:0.5", "alpine"], pulls=usage(PULLS))
    second = run(two_services, ["alpine", "ratio:0.5"], pulls=usage(PULLS))
    # storage 0.10 x (0.2039473684 + 0.05) GB = 0.0254; egress 0.09 x (20.39473684 + 5) GB = 2.2855
    assert first["combined"].monthly_cost == second["combined"].monthly_cost == Decimal("0.0254") + Decimal("2.2855")
    assert first["combined"].monthly_savings > max(first["alpine"].monthly_savings, first["ratio:0.5"].monthly_savings)
    assert first["combined"].description == (
        "Scenarios applied together: the strongest size change per image (of ratio:0.5, alpine)"
    )
    assert first["combined"].assumptions == (
        "combined: one size change per image, the strongest (the smallest pulled image, then the least "
        "storage): ratio:0.5 for 1 repository; alpine for 1 repository.",
    )


def test_combined_alternatives_never_compound_to_everything(two_services: Inventory) -> None:
    results = run(two_services, ["distroless", "ratio:0.75", "target:500MB"], pulls=usage(PULLS))
    combined = results["combined"]
    # distroless leaves the smallest image in both repositories: combined is distroless
    assert combined.monthly_cost == results["distroless"].monthly_cost == Decimal("0.0094") + Decimal("0.8467")
    assert 0 < combined.savings_pct < 100


def test_combined_size_change_then_the_others_in_order(versions: Inventory) -> None:
    results = run(versions, ["retention:2", "ratio:0.5"])
    assert results["combined"].description == "All scenarios applied in order: ratio:0.5, then retention:2"
    assert results["combined"].monthly_cost == Decimal("0.0425")


# -- measured and provider --------------------------------------------------------------------


@pytest.fixture
def fat_and_slim() -> Inventory:
    return build_inventory(
        "r.test",
        "",
        SCANNED,
        {
            "app": [("fat", digest("fat")), ("slim", digest("slim")), ("arm", digest("arm"))],
            "other": [("latest", digest("other"))],
        },
        {
            digest("fat"): image(("f1", 800 * MB), ("f2", 200 * MB), created="2026-01-01T00:00:00+00:00"),
            digest("slim"): image(("s1", 250 * MB), created="2026-02-01T00:00:00+00:00"),
            digest("arm"): image(("r1", 10 * MB), platform="linux/arm64", created="2026-03-01T00:00:00+00:00"),
            digest("other"): image(("o1", 400 * MB)),
        },
    )


def test_measured_ratio_applies_to_every_image(fat_and_slim: Inventory) -> None:
    pulls = usage("repository,pulls_per_month,source,tag\nother,10,internet,latest\n")
    result = run(fat_and_slim, ["measured:app:fat=slim"], pulls=pulls)["measured:app:fat=slim"]
    # slim / fat = 250 / 1000 = 0.25. `other` (400 MB, 10 internet pulls): 0.04 + 4 GB x 0.09
    # = 0.40 -> 0.01 + 0.09 = 0.10, saving 0.30. `app` pulls `arm` (newest, no latest tag; 10 MB):
    # storage 1260 MB x 0.25 = 315 MB, 0.126 -> 0.0315, saving 0.0945.
    assert result.monthly_savings == Decimal("0.30") + Decimal("0.0945")
    assert any("25 % of the image bytes of app:fat" in a for a in result.assumptions)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "measured:app:fat=gone",
            "--scenario 'measured:app:fat=gone': app has no tag gone in the inventory.",
        ),
        (
            "measured:nope:a=b",
            "--scenario 'measured:nope:a=b': the inventory has no repository nope.",
        ),
        (
            "measured:app:fat=arm",
            "--scenario 'measured:app:fat=arm': app:arm has no linux/amd64 image",
        ),
    ],
)
def test_measured_validates_its_tags(fat_and_slim: Inventory, spec: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        run(fat_and_slim, [spec])
    assert str(caught.value).startswith(message)


def test_provider_reprices_with_its_dedup_scope_and_maps_classes(versions: Inventory, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text(
        'id = "other"\nname = "Other"\nprovider = "other"\nregion = "x"\ncurrency = "USD"\n'
        'unit = "GB"\ndedup_scope = "repository"\neffective_date = 2026-11-01\n'
        'sources = ["https://example.test/other"]\n'
        "[storage]\ntiers = [{ price = 0.20 }]\n[egress.internet]\ntiers = [{ price = 0.05 }]\n"
    )
    pulls = usage("repository,pulls_per_month,source\nacme/api,10,internet\nacme/web,10,cross-region\n")
    spec = f"provider:{other}"
    result = run(versions, [spec], pulls=pulls)[spec]
    # baseline: storage 1.051 GB x 0.10 = 0.1051; api pulls latest = v4 (700 MB) 10 x -> 7 GB x 0.09
    # = 0.63; web 650 MB x 10 = 6.5 GB cross-region x 0.02 = 0.13. Total 0.8651.
    assert result.baseline_monthly_cost == Decimal("0.8651")
    # other: repository dedup stores base twice: api 1001 + web 650 MB = 1.651 GB x 0.20 = 0.3302;
    # no cross-region class, so web's 6.5 GB go as internet: 13.5 GB x 0.05 = 0.675. Total 1.0052.
    assert result.monthly_cost == Decimal("1.0052")
    assert result.monthly_savings == Decimal("-0.1401")  # it costs more
    assert result.pricing_id == "other"
    assert result.bytes_freed == -600 * MB  # base now stored twice
    assert any("other has no cross-region egress class" in a for a in result.assumptions)


def test_unknown_provider_book_is_an_input_error(versions: Inventory) -> None:
    with pytest.raises(InputError, match=r"^--scenario 'provider:no-such-book': "):
        run(versions, ["provider:no-such-book"])


# -- specs and files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "effect"),
    [
        ("alpine", Preset(name="alpine", size_bytes=186 * MB, standard_bytes=912 * MB)),
        ("multistage", Preset(name="multistage", size_bytes=142 * MB, standard_bytes=912 * MB)),
        ("distroless", Preset(name="distroless", size_bytes=78 * MB, standard_bytes=912 * MB)),
        ("target:150MB", ShrinkToSize(size_bytes=150 * MB)),
        ("target:1.5GiB", ShrinkToSize(size_bytes=1_610_612_736)),
        ("target:500MiB", ShrinkToSize(size_bytes=524_288_000)),
        ("target:123456B", ShrinkToSize(size_bytes=123_456)),
        ("target:2tb", ShrinkToSize(size_bytes=2 * 10**12)),
        ("ratio:0.35", ShrinkByRatio(ratio=Decimal("0.35"))),
        ("ratio:1", ShrinkByRatio(ratio=Decimal(1))),
        (
            "measured:acme/api:v1=v1-slim",
            MeasuredRatio(repository="acme/api", before="v1", after="v1-slim"),
        ),
        ("retention:10", Retention(versions=10)),
        ("retention:90d", Retention(days=90)),
        ("colocate:50", Colocate(percent=Decimal(50))),
        ("colocate:12.5%", Colocate(percent=Decimal("12.5"))),
        ("provider:gcp-artifact-registry", Provider(book="gcp-artifact-registry")),
    ],
)
def test_parse_spec(spec: str, effect: object) -> None:
    scenario = parse_spec(spec)
    assert scenario.effect == effect
    assert scenario.id == spec
    assert scenario.description


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("ratio:2", "--scenario 'ratio:2': ratio must be > 0 and <= 1."),
        ("ratio:0", "--scenario 'ratio:0': ratio must be > 0 and <= 1."),
        ("ratio:half", "--scenario 'ratio:half': ratio must be a number, not 'half'."),
        ("target:big", "--scenario 'target:big': 'big' is not a size"),
        ("target:0MB", "--scenario 'target:0MB': the size must be at least 1 byte."),
        ("target:150", "--scenario 'target:150': '150' has no unit; write one of B, kB, MB, GB, TB"),
        ("target:2PB", "--scenario 'target:2PB': 'PB' is not a size unit; use B, kB, MB"),
        ("target:1001TB", "--scenario 'target:1001TB': 1001TB is larger than the largest size costcalc accepts"),
        ("target:5XB", "--scenario 'target:5XB': 'XB' is not a size unit"),
        ("retention:0", "--scenario 'retention:0': retention needs a number of versions >= 1"),
        ("retention:-3", "--scenario 'retention:-3': retention needs a number"),
        ("retention:tenD", "--scenario 'retention:tenD': retention needs a number"),
        ("colocate:150", "--scenario 'colocate:150': colocate percentage must be > 0 and <= 100."),
        (
            "measured:acme/api:v1",
            "--scenario 'measured:acme/api:v1': measured needs REPO:BEFORE=AFTER",
        ),
        (
            "measured:acme/api:v1=v1",
            "--scenario 'measured:acme/api:v1=v1': measured needs two different tags.",
        ),
        ("measured:Acme:a=b", "--scenario 'measured:Acme:a=b': 'Acme' is not a repository name."),
        ("provider:", "--scenario 'provider:': provider needs a price book id or file"),
        ("slim", "--scenario 'slim': unknown scenario; expected alpine, multistage"),
        ("alpine:2", "--scenario 'alpine:2': unknown scenario"),
    ],
)
def test_bad_spec_is_one_sentence(spec: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_spec(spec)
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith(".")
    assert caught.value.problems == [str(caught.value)]


def test_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "what-if.toml"
    path.write_text(
        "# two scenarios\n"
        "[[scenarios]]\n"
        'spec = "retention:20"\n'
        'keep = ["v*", "release-*"]\n'
        "\n"
        "[[scenarios]]\n"
        'spec = "distroless"\n'
        'description = "API images on distroless"\n'
        'repositories = ["acme/api*"]\n'
    )
    first, second = load_scenario_file(path)
    assert first.effect == Retention(versions=20, keep=("v*", "release-*"))
    assert first.id == "retention:20"
    assert second.effect == Preset(name="distroless", size_bytes=78 * MB, standard_bytes=912 * MB)
    assert second.description == "API images on distroless"
    assert second.repositories == ("acme/api*",)
    assert second.id == "distroless (acme/api*)"
    assert scenarios.from_option(str(path)) == [first, second]


def test_scenario_file_reports_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        "[[scenarios]]\n"  # 1
        'spec = "ratio:2"\n'  # 2
        "\n"  # 3
        "[[scenarios]]\n"  # 4
        'spec = "alpine"\n'  # 5
        'colour = "blue"\n'  # 6
        "\n"  # 7
        "[[scenarios]]\n"  # 8
        'description = "no spec"\n'  # 9
        "\n"  # 10
        "[[scenarios]]\n"  # 11
        'spec = "provider:aws-ecr"\n'  # 12
        'repositories = ["acme/*"]\n'  # 13
        "\n"  # 14
        "[[scenarios]]\n"  # 15
        'spec = "alpine"\n'  # 16
        'keep = ["v*"]\n'  # 17
        'repositories = "acme/*"\n'  # 18
    )
    with pytest.raises(InputError) as caught:
        load_scenario_file(path)
    assert caught.value.problems == [
        f"{path}:2: spec: ratio must be > 0 and <= 1.",
        f"{path}:6: colour: unknown field (expected one of: spec, id, description, repositories, keep).",
        f"{path}:8: spec: required field is missing.",
        f"{path}:13: repositories: a provider scenario prices the whole inventory on another book "
        "and cannot be scoped.",
        f"{path}:16: spec: 'alpine' is already the id of the scenario at line 5; give one of them an id.",
        f"{path}:17: keep: only a retention scenario keeps tags.",
        f'{path}:18: repositories: must be a list of globs, e.g. ["acme/api*"], not a string ("acme/*").',
    ]
    assert str(caught.value) == f"{path}:2: spec: ratio must be > 0 and <= 1 (and 6 more problems)."


def test_scenario_file_duplicate_ids(tmp_path: Path) -> None:
    path = tmp_path / "dup.toml"
    path.write_text('[[scenarios]]\nspec = "alpine"\n\n[[scenarios]]\nspec = "alpine"\n')
    with pytest.raises(InputError, match=r"dup.toml:5: spec: 'alpine' is already the id of the scenario at line 2"):
        load_scenario_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[scenarios]]\nspec = "alpine\n', ":2: not valid TOML: "),
        ("", ":1: scenarios: no [[scenarios]] table in the file."),
        ('version = 1\n[[scenarios]]\nspec = "alpine"\n', ":1: version: unknown field"),
        ('scenarios = "alpine"\n', ':1: scenarios: must be [[scenarios]] tables, not a string ("alpine").'),
    ],
)
def test_malformed_scenario_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_scenario_file(path)
    assert str(caught.value).startswith(f"{path}{message}")


def test_missing_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such scenario file"):
        scenarios.from_option(str(tmp_path / "nope.toml"))


def test_sentences_use_the_book_unit_and_no_double_label(two_services: Inventory) -> None:
    # a GiB book: colocate:50 moves 50 % of (100 x 1 GB + 100 x 100 MB) = 55 GB = 51.22 GiB
    gib = book().model_copy(update={"unit": "GiB"})
    result = run(two_services, ["colocate:50"], gib, usage(PULLS))["colocate:50"]
    moved = [a for a in result.assumptions if "moves from internet" in a]
    assert moved == ["colocate:50: 51.22 GiB of egress a month moves from internet and cross-region to same-region."]
    # the standing assumption carries no `colocate:` label of its own: renderers add the id
    assert result.assumptions[0].startswith("Pulls move to a pull-through cache")
    # a preset's size is in decimal MB, said in bytes too
    alpine = parse_spec("alpine")
    assert alpine.assumptions[0].startswith(
        "186 MB (186,000,000 bytes) and 912 MB are typical uncompressed sizes of a Node.js service image"
    )
    assert "(186 MB / 912 MB = 20.39 %)" in alpine.assumptions[0]
    assert alpine.description == ("Image versions larger than 186 MB shrink by the typical alpine ratio (20.39 %)")
    target = parse_spec("target:0.5GiB")
    assert target.description == "Every image shrinks to at most 0.5GiB (536,870,912 bytes)"


def test_retention_note_frees_in_the_book_unit(versions: Inventory) -> None:
    # retention:2 frees 201 MB = 201,000,000 bytes = 191.69 MiB on a GiB book
    gib = book().model_copy(update={"unit": "GiB"})
    result = run(versions, ["retention:2"], gib)["retention:2"]
    assert any("frees 191.69 MiB (201,000,000 bytes)" in a for a in result.assumptions)


def test_combined_does_not_repeat_notes_the_single_results_already_say(two_services: Inventory) -> None:
    results = run(two_services, ["alpine", "colocate:50"], pulls=usage(PULLS))
    said = {a for key in ("alpine", "colocate:50") for a in results[key].assumptions}
    combined = results["combined"].assumptions
    assert not said & set(combined)
    # what changes when the steps are chained is said: after alpine, api pulls 1 GB x 186/912
    # x 100 = 20.39 GB a month, so 50 % of (20.39 + 10) GB = 15.2 GB moves
    assert combined == ("colocate:50: 15.2 GB of egress a month moves from internet and cross-region to same-region.",)


def test_provider_in_another_currency_is_refused(two_services: Inventory, tmp_path: Path) -> None:
    path = tmp_path / "eur.toml"
    path.write_text(
        'id = "eur"\nname = "Euro book"\nprovider = "test"\nregion = "here"\ncurrency = "EUR"\n'
        'unit = "GB"\ndedup_scope = "registry"\neffective_date = 2026-11-01\n'
        'sources = ["https://example.test/eur"]\n[storage]\ntiers = [{ price = 0.09 }]\n'
        "[egress.internet]\ntiers = [{ price = 0.08 }]\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="prices in EUR and the report in USD"):
        run(two_services, [f"provider:{path}"], pulls=usage(PULLS))


def test_combined_says_why_it_saves_less_than_a_single_scenario(two_services: Inventory, tmp_path: Path) -> None:
    path = tmp_path / "dear.toml"
    path.write_text(
        'id = "dear"\nname = "Dear book"\nprovider = "test"\nregion = "here"\ncurrency = "USD"\n'
        'unit = "GB"\ndedup_scope = "registry"\neffective_date = 2026-11-01\n'
        'sources = ["https://example.test/dear"]\n[storage]\ntiers = [{ price = 1.00 }]\n'
        "[egress.internet]\ntiers = [{ price = 0.50 }]\n",
        encoding="utf-8",
    )
    results = run(two_services, ["ratio:0.5", f"provider:{path}"], pulls=usage(PULLS))
    combined = results["combined"]
    # halved on the dear book: storage 0.55 GB x 1.00 + egress 55 GB x 0.50 = 28.05, against 10.01
    assert combined.monthly_cost == Decimal("28.05")
    assert combined.monthly_savings < results["ratio:0.5"].monthly_savings
    assert combined.assumptions[-1] == (
        "combined saves less than ratio:0.5 alone: it is priced on dear, which costs more for these "
        "quantities than test."
    )
    # when combined saves at least as much as every single scenario, nothing is added
    plain = run(two_services, ["ratio:0.5", "colocate:50"], pulls=usage(PULLS))["combined"]
    assert not any(a.startswith("combined saves less") for a in plain.assumptions)


def test_presets_change_only_the_versions_larger_than_their_size() -> None:
    old, new, small = digest("old"), digest("new"), digest("small")
    inventory = build_inventory(
        "registry.test",
        "acme",
        SCANNED,
        {"acme/api": [("v1", old), ("v2", new)], "acme/tiny": [("latest", small)]},
        {
            old: image(("old-l", 100 * MB), created="2026-01-01T00:00:00+00:00"),
            new: image(("new-l", 400 * MB), created="2026-02-01T00:00:00+00:00"),
            small: image(("small-l", 150 * MB)),
        },
    )
    result = run(inventory, ["alpine"])["alpine"]
    ratio = Decimal(186) / Decimal(912)
    # v2 (400 MB) shrinks by 186/912; v1 (100 MB) and tiny (150 MB) are under 186 MB: unchanged
    assert abs(result.bytes_freed - 400 * MB * (1 - ratio)) < 1
    assert [row.repository for row in result.rows if row.monthly_savings] == ["acme/api"]
    assert any(a.startswith("alpine: 1 of 3 image versions are larger than 186 MB") for a in result.assumptions)
