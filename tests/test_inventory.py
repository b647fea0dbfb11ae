"""Derived figures of an Inventory (SPEC §2), worked by hand on small inventories."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from costcalc import inventory_file
from costcalc.errors import InputError
from costcalc.inventory import BlobRef, ChildRef, ManifestRecord, build_inventory
from costcalc.inventory_file import dumps, load, loads

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def d(name: str) -> str:
    return "sha256:" + name.encode().hex().ljust(64, "0")[:64]


def layer(name: str, size: int, foreign: bool = False) -> BlobRef:
    return BlobRef(media_type=LAYER, digest=d(name), size_bytes=size, foreign=foreign)


def image(config: str, config_size: int, *layers: BlobRef, size: int = 500,
          platform: str = "linux/amd64", created: datetime | None = None) -> ManifestRecord:
    return ManifestRecord(
        media_type=MANIFEST, size_bytes=size, kind="image", platform=platform, created=created,
        config=BlobRef(media_type=CONFIG, digest=d(config), size_bytes=config_size), layers=layers,
    )


def when(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


@pytest.fixture
def fleet():  # type: ignore[no-untyped-def]
    """Three repositories sharing base layer 'base' (900 bytes); api has two versions."""
    manifests = {
        d("api1"): image("capi1", 10, layer("base", 900), layer("api-v1", 300), created=when(1)),
        d("api2"): image("capi2", 10, layer("base", 900), layer("api-v2", 400), created=when(2)),
        d("web1"): image("cweb1", 20, layer("base", 900), layer("web", 100), created=when(1)),
        d("job1"): image("cjob1", 30, layer("base", 900), created=when(1)),
    }
    tags = {
        "acme/api": [("v1", d("api1")), ("v2", d("api2")), ("latest", d("api2"))],
        "acme/web": [("latest", d("web1"))],
        "acme/job": [("latest", d("job1"))],
    }
    return build_inventory("r.example", "acme", when(3), tags, manifests)


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
    att = ManifestRecord(media_type=MANIFEST, size_bytes=40, kind="artifact",
                         config=BlobRef(media_type=CONFIG, digest=d("catt"), size_bytes=3),
                         layers=(BlobRef(media_type="application/vnd.in-toto+json", digest=d("sbom"),
                                         size_bytes=1000),))
    index = ManifestRecord(media_type=INDEX, size_bytes=70, kind="image", children=(
        ChildRef(media_type=MANIFEST, digest=d("amd"), size_bytes=50, platform="linux/amd64"),
        ChildRef(media_type=MANIFEST, digest=d("arm"), size_bytes=60, platform="linux/arm64/v8"),
        ChildRef(media_type=MANIFEST, digest=d("att"), size_bytes=40, attestation=True),
    ))
    inv = build_inventory("r", "", when(1), {"x/y": [("latest", d("idx"))]},
                          {d("idx"): index, d("amd"): amd, d("arm"): arm, d("att"): att})
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
    loop = ManifestRecord(media_type=INDEX, size_bytes=9, kind="image",
                          children=(ChildRef(media_type=INDEX, digest=d("loop"), size_bytes=9),))
    inv = build_inventory("r", "", when(1), {"a/b": [("t", d("loop"))]}, {d("loop"): loop})
    assert inv.figures.unique_bytes == 9


def test_file_round_trip_is_deterministic(fleet) -> None:  # type: ignore[no-untyped-def]
    text = dumps(fleet)
    assert text.startswith('{\n "schema_version": 1,')
    assert loads(text) == fleet
    assert dumps(loads(text)) == text
    assert '"scanned_at": "2026-01-03T00:00:00Z"' in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "inv.json:1: not valid JSON"),
        ('{"schema_version": 9, "registry": "r", "scanned_at": "2026-01-01T00:00:00Z"}', "schema_version"),
        ('{"schema_version": 1, "scanned_at": "2026-01-01T00:00:00Z"}', "registry"),
        # true is not 1 byte, nor 12.0 twelve: sizes are JSON integers
        (
            '{"schema_version": 1, "registry": "r", "scanned_at": "2026-01-01T00:00:00Z", "manifests": {"sha256:'
            + "a" * 64 + '": {"media_type": "x", "size_bytes": true, "kind": "image"}}}',
            "size_bytes: Input should be a valid integer",
        ),
        (
            '{"schema_version": 1, "registry": "r", "scanned_at": "2026-01-01T00:00:00Z", "manifests": {"sha256:'
            + "a" * 64 + '": {"media_type": "x", "size_bytes": 12.0, "kind": "image"}}}',
            "size_bytes: Input should be a valid integer",
        ),
    ],
)
def test_bad_inventory_files_are_one_sentence(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        loads(text, "inv.json")
    assert message in str(info.value)
    assert "Traceback" not in str(info.value)


_GOOD_MANIFEST = '{"media_type": "m", "size_bytes": 1, "kind": "image"}'
_HEAD = '{"schema_version": 1, "registry": "r", "scanned_at": "2026-01-01T00:00:00Z", '


@pytest.mark.parametrize(
    "text",
    [
        # a duplicate manifest key whose first entry is invalid: the parser keeps only the last
        _HEAD + '"manifests": {"sha256:a": {"bad": 1}, "sha256:a": ' + _GOOD_MANIFEST + "}}",
        # the same descriptor text twice, then with a type that must not share its validation
        _HEAD + '"manifests": {"sha256:a": {"media_type": "m", "size_bytes": 1, "kind": "image", "layers": ['
        '{"media_type": "l", "digest": "sha256:l", "size_bytes": 2},'
        '{"media_type": "l", "digest": "sha256:l", "size_bytes": 2},'
        '{"media_type": "l", "digest": "sha256:l", "size_bytes": 2, "foreign": 3}]}}}',
        _HEAD + '"manifests": {"sha256:a": {"media_type": "m", "size_bytes": 1, "kind": "image", "layers": ['
        '{"media_type": "l", "digest": "sha256\\u003al", "size_bytes": -1}]}}}',
        _HEAD + '"manifests": {"sha256:a": ' + _GOOD_MANIFEST[:-1] + ', "created": "2026-13-01"}}}',
        _HEAD + '"repositories": [{"name": "a", "tags": [{"tag": "\\ud800", "digest": "d"}]}]}',
    ],
)
def test_the_fast_loader_rejects_what_the_reference_loader_rejects(text: str) -> None:
    with pytest.raises(InputError) as info:
        loads(text, "inv.json")
    assert str(info.value).startswith("inv.json")
    assert "Traceback" not in str(info.value)


def test_the_fast_loader_shares_each_distinct_descriptor(fleet) -> None:  # type: ignore[no-untyped-def]
    loaded = loads(dumps(fleet))
    assert loaded == fleet
    layers = [layer for record in loaded.manifests.values() for layer in record.layers]
    assert len({id(layer) for layer in layers}) == len(set(layers))


def test_the_fast_loader_is_taken_for_a_written_file(fleet) -> None:  # type: ignore[no-untyped-def]
    # Without this, a fast path that always gave up would pass every test above (slowly).
    assert inventory_file._loads_fast(dumps(fleet)) == fleet
    assert inventory_file._load_pieces(dumps(fleet).encode()) == fleet


def test_a_file_loaded_in_pieces_is_the_file_loaded_whole(fleet, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(inventory_file, "_PIECE", 1)  # one manifest per piece
    path = tmp_path / "inv.json"
    path.write_text(dumps(fleet))
    loaded = load(path)
    assert loaded == fleet
    assert dumps(loaded) == dumps(fleet)
    layers = [layer for record in loaded.manifests.values() for layer in record.layers]
    assert len({id(layer) for layer in layers}) == len(set(layers))


def test_a_digest_repeated_across_pieces_is_left_to_the_reference_loader(fleet, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(inventory_file, "_PIECE", 1)
    text = dumps(fleet)
    first = d("api1")
    # the first manifest again, at the end, with a size the reference loader rejects
    text = text.replace('\n }', f',\n  "{first}": {{\n   "size_bytes": -1\n  }}\n }}', 1)
    assert inventory_file._load_pieces(text.encode()) is None
    path = tmp_path / "inv.json"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: manifests.{first}")


def test_a_layout_the_pieces_do_not_fit_falls_back_to_the_whole_tree(fleet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "inv.json"
    path.write_text(dumps(fleet).replace("\n }", "}"))  # `manifests` closes on a record's line
    assert inventory_file._load_pieces(path.read_bytes()) is None
    assert load(path) == fleet


def test_delta_counts_only_the_last_ten_transitions() -> None:
    # 13 versions: version i adds a layer of i bytes; the first three transitions are too old
    manifests = {
        d(f"v{i}"): image(f"c{i}", 1, *(layer(f"l{j}", j) for j in range(1, i + 1)), created=when(i))
        for i in range(1, 14)
    }
    inventory = build_inventory("r", "", when(20), {"a": [(f"v{i}", d(f"v{i}")) for i in range(1, 14)]}, manifests)
    assert inventory.figures.version_delta_bytes("a") == (9, 10)  # deltas 4..13: mean 8.5, rounded up
    assert [v.digest for v in inventory.figures.versions("a")] == [d(f"v{i}") for i in range(1, 14)]


@pytest.mark.parametrize(
    ("old", "new"),
    [("\n  },\n", "\n  },\n  ,\n"), ("\n  }\n }", "\n  },\n }")],  # a doubled comma, a trailing one
)
def test_a_stray_comma_between_pieces_is_still_invalid_json(  # type: ignore[no-untyped-def]
    fleet, tmp_path, monkeypatch, old: str, new: str
) -> None:
    monkeypatch.setattr(inventory_file, "_PIECE", 1)
    path = tmp_path / "inv.json"
    assert old in dumps(fleet)
    path.write_text(dumps(fleet).replace(old, new, 1))
    assert inventory_file._load_pieces(path.read_bytes()) is None
    with pytest.raises(InputError, match="not valid JSON"):
        load(path)


def test_versions_with_times_without_an_offset_sort_as_datetimes() -> None:
    naive = {d(f"v{i}"): image(f"c{i}", 1, created=datetime(2026, 1, 3 - i)) for i in range(2)}
    inventory = build_inventory("r", "", when(20), {"a": [("x", d("v0")), ("y", d("v1"))]}, naive)
    assert [v.tags for v in inventory.figures.versions("a")] == [("y",), ("x",)]
