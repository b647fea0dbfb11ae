"""Derived figures of an Inventory, worked by hand on small inventories."""

from __future__ import annotations

from datetime import datetime

import pytest

from costcalc.inventory.figures import Figures
from costcalc.inventory.model import BlobRef, ChildRef, Inventory, ManifestRecord, build_inventory
from tests.inventory_builders import CONFIG, INDEX, MANIFEST, d, image, layer, small_fleet, when


@pytest.fixture
def fleet() -> Inventory:
    return small_fleet()


def test_unique_naive_per_repository_shared(fleet) -> None:  # type: ignore[no-untyped-def]
    f = fleet.figures
    # distinct blobs: 4 manifests x 500 + configs 10+10+20+30 + layers 900+300+400+100
    assert f.unique_bytes == 2000 + 70 + 1700
    # per tag: api v1 = 500+10+900+300 = 1710; api v2 and latest = 500+10+900+400 = 1810 each;
    # web = 500+20+900+100 = 1520; job = 500+30+900 = 1430
    assert f.naive_bytes == 1710 + 1810 + 1810 + 1520 + 1430
    # api distinct = 1710 + (500+10+400) = 2620; web 1520; job 1430
    assert f.per_repository_unique_bytes == 2620 + 1520 + 1430
    assert f.shared_layer_bytes == 900
    summary = f.summary()
    assert (summary.repositories, summary.tags, summary.manifests, summary.blobs) == (3, 5, 4, 12)


def test_attributed_bytes_split_evenly_and_sum_exactly(fleet) -> None:  # type: ignore[no-untyped-def]
    f = fleet.figures
    attributed = f.attributed_bytes("registry")
    # the 900-byte base layer is split three ways: 300 each
    assert attributed == {"acme/api": 2620 - 900 + 300, "acme/job": 1430 - 900 + 300, "acme/web": 1520 - 900 + 300}
    assert sum(attributed.values()) == f.unique_bytes
    per_repo = f.attributed_bytes("repository")
    assert per_repo == {"acme/api": 2620, "acme/job": 1430, "acme/web": 1520}
    assert sum(per_repo.values()) == f.per_repository_unique_bytes


def test_repository_bytes_are_summed_once_and_handed_out_as_copies(fleet) -> None:  # type: ignore[no-untyped-def]
    f = fleet.figures
    assert f.repository_bytes == {name: sum(blobs.values()) for name, blobs in f.repository_blobs.items()}
    assert f.repository_bytes == {"acme/api": 2620, "acme/job": 1430, "acme/web": 1520}
    per_repo = f.attributed_bytes("repository")
    per_repo["acme/api"] = 0  # the caller's copy, not the memo
    assert f.attributed_bytes("repository")["acme/api"] == 2620 == f.repository_bytes["acme/api"]


def test_a_blob_two_repositories_size_differently_takes_the_last_ones_size() -> None:
    # a hostile inventory: one layer digest, two sizes; blob_sizes keeps the last repository's
    manifests = {d("a"): image("ca", 1, layer("x", 100), size=10), d("b"): image("cb", 2, layer("x", 300), size=20)}
    inv = build_inventory("r", "", when(1), {"n/a": [("t", d("a"))], "n/b": [("t", d("b"))]}, manifests)
    f = inv.figures
    assert f.blob_sizes[d("x")] == 300
    assert f.shared_layer_bytes == 300  # one layer, in both repositories
    assert f.attributed_bytes() == {"n/a": 10 + 1 + 150, "n/b": 20 + 2 + 150}
    assert sum(f.attributed_bytes().values()) == f.unique_bytes == 10 + 1 + 20 + 2 + 300


def test_attributed_remainder_bytes_keep_the_sum_exact() -> None:
    manifests = {d(x): image("c" + x, 0, layer("odd", 100), size=0) for x in "abc"}
    inv = build_inventory("r", "", when(1), {f"n/{x}": [("t", d(x))] for x in "abc"}, manifests)
    attributed = inv.figures.attributed_bytes()
    assert sorted(attributed.values()) == [33, 33, 34]
    assert sum(attributed.values()) == inv.figures.unique_bytes == 100


def test_versions_alias_tags_and_delta(fleet) -> None:  # type: ignore[no-untyped-def]
    f = fleet.figures
    versions = f.versions("acme/api")
    assert [v.tags for v in versions] == [("v1",), ("latest", "v2")]
    # v2 adds api-v2 (400 bytes) that v1 lacked
    assert f.version_delta_bytes("acme/api") == (400, 1)
    # a single version: the delta is the full image
    assert f.version_delta_bytes("acme/job") == (900, 0)


def test_index_platforms_skip_attestations_and_pull_bytes() -> None:
    amd = image("camd", 7, layer("a", 100), size=50)
    arm = image("carm", 8, layer("b", 200), size=60, platform="linux/arm64/v8")
    att = ManifestRecord(
        media_type=MANIFEST,
        size_bytes=40,
        kind="artifact",
        config=BlobRef(media_type=CONFIG, digest=d("catt"), size_bytes=3),
        layers=(BlobRef(media_type="application/vnd.in-toto+json", digest=d("sbom"), size_bytes=1000),),
    )
    index = ManifestRecord(
        media_type=INDEX,
        size_bytes=70,
        kind="image",
        children=(
            ChildRef(media_type=MANIFEST, digest=d("amd"), size_bytes=50, platform="linux/amd64"),
            ChildRef(media_type=MANIFEST, digest=d("arm"), size_bytes=60, platform="linux/arm64/v8"),
            ChildRef(media_type=MANIFEST, digest=d("att"), size_bytes=40, attestation=True),
        ),
    )
    inv = build_inventory(
        "r",
        "",
        when(1),
        {"x/y": [("latest", d("idx"))]},
        {d("idx"): index, d("amd"): amd, d("arm"): arm, d("att"): att},
    )
    f = inv.figures
    assert f.platforms(d("idx")) == {"linux/amd64": 100, "linux/arm64/v8": 200}
    # index 70 + arm manifest 60 + config 8 + layer 200
    assert f.pull_bytes(d("idx"), "linux/arm64/v8") == 338
    # attestations are stored: 70 + 50+7+100 + 60+8+200 + 40+3+1000
    assert f.unique_bytes == 1538
    assert f.default_platform(d("idx")) == "linux/amd64"


def test_foreign_layers_are_not_stored_or_counted() -> None:
    rec = image("c", 5, layer("win", 10**9, foreign=True), layer("app", 10), size=20)
    inv = build_inventory("r", "", when(1), {"w/x": [("t", d("m"))]}, {d("m"): rec})
    assert inv.figures.unique_bytes == 35
    assert inv.figures.platforms(d("m")) == {"linux/amd64": 10}


def test_index_containing_itself_terminates() -> None:
    loop = ManifestRecord(
        media_type=INDEX,
        size_bytes=9,
        kind="image",
        children=(ChildRef(media_type=INDEX, digest=d("loop"), size_bytes=9),),
    )
    inv = build_inventory("r", "", when(1), {"a/b": [("t", d("loop"))]}, {d("loop"): loop})
    assert inv.figures.unique_bytes == 9


def test_delta_counts_only_the_last_ten_transitions() -> None:
    # 13 versions: version i adds a layer of i bytes; the first three transitions are too old
    manifests = {
        d(f"v{i}"): image(f"c{i}", 1, *(layer(f"l{j}", j) for j in range(1, i + 1)), created=when(i))
        for i in range(1, 14)
    }
    inventory = build_inventory("r", "", when(20), {"a": [(f"v{i}", d(f"v{i}")) for i in range(1, 14)]}, manifests)
    assert inventory.figures.version_delta_bytes("a") == (9, 10)  # deltas 4..13: mean 8.5, rounded up
    assert [v.digest for v in inventory.figures.versions("a")] == [d(f"v{i}") for i in range(1, 14)]


def test_versions_with_times_without_an_offset_sort_as_datetimes() -> None:
    naive = {d(f"v{i}"): image(f"c{i}", 1, created=datetime(2026, 1, 3 - i)) for i in range(2)}
    inventory = build_inventory("r", "", when(20), {"a": [("x", d("v0")), ("y", d("v1"))]}, naive)
    assert [v.tags for v in inventory.figures.versions("a")] == [("y",), ("x",)]


def test_reachable_maps_are_the_same_whether_the_walks_or_reachable_build_them(fleet) -> None:  # type: ignore[no-untyped-def]
    def figures() -> Figures:
        return Figures(fleet.repositories, fleet.manifests)

    walked = figures()
    walked.repository_blobs  # noqa: B018  # builds the plain images' reachable() maps
    fresh = figures()
    digests = {t.digest for repo in fleet.repositories for t in repo.tags}
    for digest in digests:
        assert list(walked.reachable(digest).items()) == list(fresh.reachable(digest).items())
    assert walked.naive_bytes == fresh.naive_bytes
    assert walked.attributed_bytes() == figures().attributed_bytes()


def test_untagged_manifests_count_in_storage_but_in_no_tag() -> None:
    # acme/api stores v0 untagged (as a provider's API lists it): its config and own layer are
    # stored bytes of acme/api; its base layer is already counted; no tag reaches it.
    manifests = {
        d("api0"): image("capi0", 7, layer("base", 900), layer("api-v0", 250), created=when(1)),
        d("api1"): image("capi1", 10, layer("base", 900), layer("api-v1", 300), created=when(2)),
        d("web1"): image("cweb1", 20, layer("base", 900), created=when(1)),
    }
    tags = {"acme/api": [("v1", d("api1"))], "acme/web": [("latest", d("web1"))]}
    without = build_inventory("r", "acme", when(3), tags, manifests).figures
    inventory = build_inventory("r", "acme", when(3), tags, manifests, untagged={"acme/api": [d("api0")]})
    f = inventory.figures
    untagged_bytes = 500 + 7 + 250  # manifest, config, own layer
    assert f.repository_bytes == {"acme/api": without.repository_bytes["acme/api"] + untagged_bytes, "acme/web": 1420}
    assert f.unique_bytes == without.unique_bytes + untagged_bytes
    assert f.per_repository_unique_bytes == without.per_repository_unique_bytes + untagged_bytes
    assert f.naive_bytes == without.naive_bytes  # a sum over tags
    assert sum(f.attributed_bytes().values()) == f.unique_bytes
    assert [v.digest for v in f.versions("acme/api")] == [d("api1")]  # no tag: no version
    summary = f.summary()
    assert (summary.tags, summary.manifests, summary.blobs) == (2, 3, 3 + 3 + 3)  # manifests, configs, layers


def test_a_repository_with_only_untagged_manifests_stores_them() -> None:
    manifests = {d("old"): image("cold", 5, layer("l", 100))}
    inventory = build_inventory("r", "", when(3), {}, manifests, untagged={"n/old": [d("old"), d("old")]})
    assert [(r.name, r.tags, r.untagged) for r in inventory.repositories] == [("n/old", (), (d("old"),))]
    assert inventory.figures.repository_bytes == {"n/old": 500 + 5 + 100}
    assert inventory.figures.versions("n/old") == ()
