"""Base images found in the layers: named by the inventory, by --bases, or shared prefixes."""

from __future__ import annotations

import pytest

from costcalc.errors import InputError
from costcalc.inventory.bases import find_bases, resolve, stored_base_bytes
from costcalc.inventory.model import Inventory, build_inventory
from tests.inventory_builders import d, image, layer, small_fleet, when


def test_an_image_of_another_repository_is_the_base_of_images_that_add_layers_to_it() -> None:
    (base,) = find_bases(small_fleet())
    assert base.origin == "inventory"
    assert base.name == "acme/job:latest"
    assert base.repositories == ("acme/api", "acme/web")
    assert [(i.repository, i.tags) for i in base.images] == [
        ("acme/api", ("latest", "v2")),
        ("acme/api", ("v1",)),
        ("acme/web", ("latest",)),
    ]
    assert base.size_bytes == 900
    assert base.top_layer == d("base")


def test_an_image_of_the_bases_inventory_names_the_base_and_covers_an_image_of_the_same_layers() -> None:
    mirror = build_inventory(
        "mirror.example",
        "",
        when(3),
        {"library/debian": [("12", d("deb12"))]},
        {d("deb12"): image("cdeb", 5, layer("base", 900))},
    )
    (base,) = find_bases(small_fleet(), mirror)
    assert base.origin == "bases"
    assert base.references == ("library/debian:12", "acme/job:latest")
    assert base.repositories == ("acme/api", "acme/job", "acme/web")


def fleet(manifests: dict[str, list[str]], tags: dict[str, list[tuple[str, str]]]) -> Inventory:
    records = {
        d(name): image(f"c{name}", 10, *(layer(x, 100 * (i + 1)) for i, x in enumerate(layers)))
        for name, layers in manifests.items()
    }
    return build_inventory("r.example", "", when(3), tags, records)


def test_a_prefix_shared_by_two_repositories_that_no_image_names_is_reported_by_its_top_layer() -> None:
    inventory = fleet(
        {"a": ["b1", "b2", "a"], "b": ["b1", "b2", "b"], "a2": ["b1", "b2", "a", "a2"]},
        {"x/a": [("1", d("a")), ("2", d("a2"))], "x/b": [("1", d("b"))]},
    )
    (base,) = find_bases(inventory)
    assert base.origin == "shared"
    assert base.references == ()
    assert base.name == f"{d('b2')[:19]} (2 layers)"
    assert base.top_layer == d("b2")
    assert base.size_bytes == 100 + 200
    # x/a:2 has x/a:1's layers as a prefix, but a version of the same repository is no base
    assert [(i.repository, i.tags) for i in base.images] == [("x/a", ("1",)), ("x/a", ("2",)), ("x/b", ("1",))]


def test_the_longest_named_base_wins() -> None:
    inventory = fleet(
        {"node": ["n1"], "corp": ["n1", "c1"], "app": ["n1", "c1", "app"], "tool": ["n1", "tool"]},
        {
            "library/node": [("20", d("node"))],
            "corp/base": [("1", d("corp"))],
            "team/app": [("1", d("app"))],
            "team/tool": [("1", d("tool"))],
        },
    )
    found = {base.name: base.repositories for base in find_bases(inventory)}
    assert found == {"corp/base:1": ("team/app",), "library/node:20": ("corp/base", "team/tool")}


def test_stored_bytes_count_a_base_once_in_the_registry_and_once_per_repository() -> None:
    inventory = small_fleet()
    found = find_bases(inventory)
    assert stored_base_bytes(inventory, found, "registry") == (900,)
    assert stored_base_bytes(inventory, found, "repository") == (3 * 900,)


def test_references_resolve_by_tag_digest_and_registry_host() -> None:
    inventory = small_fleet()
    expected = {"linux/amd64": (layer("base", 900),)}
    assert resolve("acme/job:latest", inventory) == expected
    assert resolve("acme/job", inventory) == expected
    assert resolve("r.example/acme/job:latest", inventory) == expected
    assert resolve(f"acme/job@{d('job1')}", inventory) == expected
    with pytest.raises(InputError, match=r"^acme/job:v9: no image with layers of that name in the inventory"):
        resolve("acme/job:v9", inventory)


def test_a_hundred_thousand_tags_on_a_few_bases_are_found_in_one_walk_each() -> None:
    bases = {f"b{n}": [f"os{n % 3}", f"runtime{n}"] for n in range(20)}
    manifests: dict[str, list[str]] = dict(bases)
    tags: dict[str, list[tuple[str, str]]] = {f"base/{n}": [("1", d(n))] for n in bases}
    for r in range(1000):
        base = bases[f"b{r % 20}"]
        names = []
        for v in range(100):
            name = f"r{r}v{v}"
            manifests[name] = [*base, f"deps{r}", name]
            names.append((f"v{v}", d(name)))
        tags[f"apps/r{r}"] = names
    inventory = fleet(manifests, tags)
    found = find_bases(inventory)
    named = [base for base in found if base.origin == "inventory"]
    assert {base.name for base in named} == {f"base/b{n}:1" for n in range(20)}
    assert all(len(base.repositories) == 50 and len(base.images) == 5000 for base in named)
    # the bases themselves share their first layer three ways, and no image names it
    shared = sorted((base.layers[0].digest, base.repositories) for base in found if base.origin == "shared")
    assert shared == [(d(f"os{k}"), tuple(sorted(f"base/b{n}" for n in range(20) if n % 3 == k))) for k in range(3)]


def test_a_multi_platform_base_is_one_base_per_platform() -> None:
    from costcalc.inventory.model import ChildRef, ManifestRecord
    from tests.inventory_builders import INDEX, MANIFEST

    def index(*children: tuple[str, str]) -> ManifestRecord:
        refs = tuple(ChildRef(media_type=MANIFEST, digest=d(name), size_bytes=500, platform=p) for name, p in children)
        return ManifestRecord(media_type=INDEX, size_bytes=300, kind="image", children=refs)

    arm = "linux/arm64"
    manifests = {
        d("node"): index(("node-amd", "linux/amd64"), ("node-arm", arm)),
        d("node-amd"): image("cna", 5, layer("os-amd", 900)),
        d("node-arm"): image("cnr", 5, layer("os-arm", 800), platform=arm),
        d("app"): index(("app-amd", "linux/amd64"), ("app-arm", arm)),
        d("app-amd"): image("caa", 5, layer("os-amd", 900), layer("app-amd", 10)),
        d("app-arm"): image("car", 5, layer("os-arm", 800), layer("app-arm", 10), platform=arm),
    }
    inventory = build_inventory(
        "r.example", "", when(3), {"library/node": [("20", d("node"))], "acme/app": [("1", d("app"))]}, manifests
    )
    names = {base.name: [(i.repository, i.platform) for i in base.images] for base in find_bases(inventory)}
    assert names == {
        "library/node:20": [("acme/app", "linux/amd64")],
        f"library/node:20 [{arm}]": [("acme/app", arm)],
    }
    assert set(resolve("library/node:20", inventory)) == {"linux/amd64", arm}


def test_an_index_whose_child_names_no_platform_resolves_as_the_bases_section_finds_it() -> None:
    from costcalc.inventory.model import ChildRef, ManifestRecord
    from tests.inventory_builders import INDEX, MANIFEST

    # Neither the index entry nor the image says its platform: both count it as "unknown"
    child = ChildRef(media_type=MANIFEST, digest=d("base-image"), size_bytes=500, platform=None)
    manifests = {
        d("base"): ManifestRecord(media_type=INDEX, size_bytes=300, kind="image", children=(child,)),
        d("base-image"): image("cb", 5, layer("os", 900), platform=None),
        d("app"): image("ca", 5, layer("os", 900), layer("app", 10)),
    }
    inventory = build_inventory(
        "r.example", "", when(3), {"library/base": [("1", d("base"))], "acme/app": [("1", d("app"))]}, manifests
    )
    assert [base.name for base in find_bases(inventory)] == ["library/base:1 [unknown]"]
    assert resolve("library/base:1", inventory) == {"unknown": (layer("os", 900),)}
