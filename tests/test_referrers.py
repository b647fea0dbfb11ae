"""Referrers (OCI 1.1 `sha256-<hex>` tags, cosign tags) follow their subject: never a version."""

from __future__ import annotations

from datetime import UTC, datetime

from costcalc import report
from costcalc.inventory.model import BlobRef, ChildRef, Inventory, ManifestRecord, build_inventory
from costcalc.scenarios.retention import Retention, retention_plan
from costcalc.scenarios.spec import parse_spec
from tests.test_scenarios import MB, OCI_MANIFEST, book, digest, image, signature

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCANNED = datetime(2026, 5, 1, tzinfo=UTC)


def referrers_index(*artifacts: str) -> ManifestRecord:
    """An OCI 1.1 referrers index without artifactType: it parses as an image index, and it
    carries the newest creation time of the repository."""
    return ManifestRecord(
        media_type=OCI_INDEX,
        size_bytes=500,
        kind="image",
        created=datetime(2026, 3, 1, tzinfo=UTC),
        children=tuple(ChildRef(media_type=OCI_MANIFEST, digest=d, size_bytes=0) for d in artifacts),
    )


def sbom(name: str) -> ManifestRecord:
    return ManifestRecord(
        media_type=OCI_MANIFEST,
        size_bytes=0,
        kind="artifact",
        artifact_type="application/spdx+json",
        layers=(BlobRef(media_type="application/spdx+json", digest=digest(name), size_bytes=2 * MB),),
    )


def fleet(index_subject: str = "v2") -> Inventory:
    """acme/api: v1 and v2 (no `latest`), the referrers index of INDEX_SUBJECT (tagged, created
    last, an index that looks like an image), and v1's cosign signature."""
    v1, v2 = digest("v1"), digest("v2")
    hex2, hex1 = digest(index_subject).removeprefix("sha256:"), v1.removeprefix("sha256:")
    return build_inventory(
        "registry.test",
        "acme",
        SCANNED,
        {
            "acme/api": [
                ("v1", v1),
                ("v2", v2),
                (f"sha256-{hex2}", digest("referrers")),
                (f"sha256-{hex1}.sig", digest("sig")),
            ]
        },
        {
            v1: image(("base", 300 * MB), ("a1", 100 * MB), created="2026-01-01T00:00:00+00:00"),
            v2: image(("base", 300 * MB), ("a2", 100 * MB), created="2026-02-01T00:00:00+00:00"),
            digest("referrers"): referrers_index(digest("sbom")),
            digest("sbom"): sbom("sbom-layer"),
            digest("sig"): signature(1 * MB),
        },
    )


def test_a_referrers_index_is_not_a_version() -> None:
    inventory = fleet()
    assert [v.tags for v in inventory.figures.image_versions("acme/api")] == [("v1",), ("v2",)]


def test_retention_keeps_the_newest_image_and_its_referrers() -> None:
    inventory = fleet()
    plan = retention_plan(inventory, "acme/api", Retention(versions=1))
    hex1 = digest("v1").removeprefix("sha256:")
    hex2 = digest("v2").removeprefix("sha256:")
    assert plan.kept_tags == {"v2", f"sha256-{hex2}"}
    assert [v.tags for v in plan.dropped] == [("v1",)]
    assert f"sha256-{hex1}.sig" not in plan.kept_tags  # dropped with its subject


def test_retention_drops_a_referrers_index_with_its_subject() -> None:
    inventory = fleet(index_subject="v1")
    hex1 = digest("v1").removeprefix("sha256:")
    for policy in (Retention(versions=1), Retention(days=1)):
        plan = retention_plan(inventory, "acme/api", policy)
        assert plan.kept_tags == {"v2"}
        assert [v.tags for v in plan.dropped] == [("v1",)]
    # kept with its subject when a glob keeps the subject
    plan = retention_plan(inventory, "acme/api", Retention(versions=1), keep=("v1",))
    assert plan.kept_tags == {"v1", "v2", f"sha256-{hex1}", f"sha256-{hex1}.sig"}


def test_the_default_pull_is_never_a_referrer() -> None:
    inventory = fleet()
    quantities = report.measure(inventory, None, book())
    (row,) = quantities.rows
    assert row.pulled_tag == "v2"
    assert row.platform == "linux/amd64"
    assert row.image_bytes == 400 * MB


def test_retention_scenario_counts_image_versions_only() -> None:
    inventory = fleet()
    built = report.build(inventory, None, [book()], scenarios=[parse_spec("retention:1")])
    (result,) = built.scenarios
    assert [(v.tags, v.dropped) for v in result.versions] == [(("v1",), True), (("v2",), False)]
    assert any("drops 1 of 2 image versions" in a for a in result.assumptions)
    # v1 alone owns its 100 MB layer; its signature's 1 MB follows it
    assert result.bytes_freed == 101 * MB


def subject_fleet() -> Inventory:
    """acme/api: v1 and v2, and an SBOM of v1 that names it as its `subject` under an ordinary
    tag (`v1-sbom`), created after both: only the `subject` field says what it follows."""
    v1, v2 = digest("v1"), digest("v2")
    attached = ManifestRecord(
        media_type=OCI_MANIFEST,
        size_bytes=400,
        kind="image",  # an image config and a tar layer: only the subject marks it
        created=datetime(2026, 4, 1, tzinfo=UTC),
        config=BlobRef(media_type="application/vnd.oci.image.config.v1+json", digest=digest("cfg"), size_bytes=2),
        layers=(BlobRef(media_type="application/vnd.oci.image.layer.v1.tar", digest=digest("sb"), size_bytes=3 * MB),),
        subject=v1,
    )
    return build_inventory(
        "registry.test",
        "acme",
        SCANNED,
        {"acme/api": [("v1", v1), ("v2", v2), ("v1-sbom", digest("attached"))]},
        {
            v1: image(("base", 300 * MB), ("a1", 100 * MB), created="2026-01-01T00:00:00+00:00"),
            v2: image(("base", 300 * MB), ("a2", 100 * MB), created="2026-02-01T00:00:00+00:00"),
            digest("attached"): attached,
        },
    )


def test_a_manifest_naming_a_subject_is_never_a_version_nor_the_default_pull() -> None:
    inventory = subject_fleet()
    assert [v.tags for v in inventory.figures.image_versions("acme/api")] == [("v1",), ("v2",)]
    (row,) = report.measure(inventory, None, book()).rows
    assert row.pulled_tag == "v2"  # not the newer v1-sbom


def test_retention_keeps_or_drops_a_referrer_with_the_subject_its_manifest_names() -> None:
    inventory = subject_fleet()
    plan = retention_plan(inventory, "acme/api", Retention(versions=1))
    assert plan.kept_tags == {"v2"}
    assert [v.tags for v in plan.dropped] == [("v1",)]
    plan = retention_plan(inventory, "acme/api", Retention(versions=1), keep=("v1",))
    assert plan.kept_tags == {"v1", "v1-sbom", "v2"}
    built = report.build(inventory, None, [book()], scenarios=[parse_spec("retention:1")])
    (result,) = built.scenarios
    # v1's own layer, and the SBOM's layer, config and manifest
    assert result.bytes_freed == 103 * MB + 2 + 400
