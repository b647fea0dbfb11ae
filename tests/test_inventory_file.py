"""The inventory file: schema 2 written deterministically, schemas 1 and 2 read, one-sentence errors."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costcalc.errors import InputError
from costcalc.inventory import file as inventory_file
from costcalc.inventory.file import MAX_FILE_BYTES, MAX_NESTING, MAX_SIZE_BYTES, dumps, load, loads
from costcalc.inventory.model import BlobRef, Inventory, ManifestRecord, ScanError, build_inventory
from tests.inventory_builders import CONFIG, INDEX, LAYER, MANIFEST, d, image, layer, small_fleet, when

SCHEMA_1 = Path(__file__).resolve().parent / "data" / "inventory-schema-1.json"
_HEAD_1 = '{"schema_version": 1, "registry": "r", "scanned_at": "2026-01-01T00:00:00Z", '
_HEAD_2 = '{"schema_version": 2, "registry": "r", "scanned_at": "2026-01-01T00:00:00Z", '
_DIGEST = "sha256:" + "a" * 64


@pytest.fixture
def fleet() -> Inventory:
    return small_fleet()


def test_file_round_trip_is_deterministic(fleet) -> None:  # type: ignore[no-untyped-def]
    text = dumps(fleet)
    assert text.startswith('{"schema_version":2,\n')
    assert loads(text) == fleet
    assert dumps(loads(text)) == text
    assert '"scanned_at":"2026-01-03T00:00:00Z"' in text
    # the same content held in another order is the same file
    shuffled = replace(fleet, manifests=dict(reversed(fleet.manifests.items())))
    assert dumps(shuffled) == text
    # and a later scan of the same content differs in scanned_at only
    later = dumps(replace(fleet, scanned_at=when(9))).splitlines()
    assert [i for i, (a, b) in enumerate(zip(later, text.splitlines(), strict=True)) if a != b] == [3]
    # one entry a line: each repository, manifest and blob
    lines = text.splitlines()
    assert len(lines) == 4 + 1 + (1 + 3 + 1) + (1 + 4 + 1) + (1 + 8 + 1) + 1


def test_each_blob_is_written_once_and_manifests_name_it_by_digest(fleet) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(dumps(fleet))
    base = d("base")
    # the usual media types are said once, in defaults, and left out of the entries
    assert data["defaults"] == {
        "manifest": {"media_type": MANIFEST, "kind": "image"},
        "config": {"media_type": CONFIG},
        "layer": {"media_type": LAYER},
    }
    assert data["blobs"][base] == {"size_bytes": 900}
    assert dumps(fleet).count(f'"{base}":{{') == 1  # one entry; four manifests name it
    api1 = data["manifests"][d("api1")]
    assert "media_type" not in api1 and "kind" not in api1
    assert api1["layers"] == [base, d("api-v1")]
    assert api1["config"] == d("capi1") and data["blobs"][d("capi1")] == {"size_bytes": 10}
    assert sorted(data["blobs"]) == list(data["blobs"])


def test_a_schema_1_file_still_loads_with_the_same_figures() -> None:
    # Written by costcalc before schema 2: an index with an attestation, a foreign layer, an
    # error. The figures are those the schema-1 costcalc computed from this file.
    inventory = load(SCHEMA_1)
    summary = inventory.figures.summary()
    assert (summary.repositories, summary.tags, summary.manifests, summary.blobs) == (4, 6, 6, 17)
    assert (summary.unique_bytes, summary.naive_bytes) == (5400, 11340)
    assert (summary.per_repository_unique_bytes, summary.shared_layer_bytes) == (8630, 900)
    assert inventory.figures.attributed_bytes() == {
        "acme/api": 1945,
        "acme/job": 490,
        "acme/multi": 2120,
        "acme/web": 845,
    }
    assert inventory.errors == (ScanError(repository="acme/gone", reason="404 NAME_UNKNOWN"),)
    # written again, it is schema 2, and reads back as the same inventory
    text = dumps(inventory)
    assert text.startswith('{"schema_version":2,\n')
    assert len(text) < SCHEMA_1.stat().st_size
    assert loads(text) == inventory
    foreign = json.loads(text)["blobs"][d("win-base")]
    assert foreign == {"size_bytes": 5000, "foreign": True}
    index = json.loads(text)["manifests"][d("idx1")]
    assert index["media_type"] == INDEX and len(index["children"]) == 3  # not the usual media type: said


def test_a_blob_a_manifest_describes_otherwise_keeps_its_own_description() -> None:
    # The same layer bytes named with a Docker media type in one image and OCI's in another
    # (converted images share layers so), and a hostile second size: each manifest reads back
    # what it said.
    docker = BlobRef(media_type="application/vnd.docker.image.rootfs.diff.tar.gzip", digest=d("x"), size_bytes=100)
    manifests = {
        d("a"): image("ca", 1, layer("x", 100)),
        d("b"): image("cb", 2, docker),
        d("c"): image("cc", 3, layer("x", 300)),
    }
    tags = {"n/a": [("t", d("a"))], "n/b": [("t", d("b"))], "n/c": [("t", d("c"))]}
    inventory = build_inventory("r", "", when(1), tags, manifests)
    text = dumps(inventory)
    assert json.loads(text)["manifests"][d("a")]["layers"] == [d("x")]
    assert json.loads(text)["manifests"][d("b")]["layers"] == [{"digest": d("x"), **_described(docker)}]
    loaded = loads(text)
    assert loaded == inventory
    assert loaded.figures.attributed_bytes() == inventory.figures.attributed_bytes()


def test_a_blob_named_in_two_roles_reads_back_each_roles_media_type() -> None:
    # One blob named as a config by one image and as a layer by another, each with its role's
    # usual media type: its entry gives none, and each manifest reads back what it said.
    shared = BlobRef(media_type=LAYER, digest=d("cfg"), size_bytes=10)
    manifests = {d("a"): image("cfg", 10, layer("l", 5)), d("b"): image("cb", 2, shared)}
    inventory = build_inventory("r", "", when(1), {"n/a": [("t", d("a"))], "n/b": [("t", d("b"))]}, manifests)
    text = dumps(inventory)
    data = json.loads(text)
    assert data["blobs"][d("cfg")] == {"size_bytes": 10}
    assert data["manifests"][d("b")]["layers"] == [d("cfg")] and data["manifests"][d("a")]["config"] == d("cfg")
    loaded = loads(text)
    assert loaded == inventory
    assert loaded.manifests[d("a")].config == BlobRef(media_type=CONFIG, digest=d("cfg"), size_bytes=10)
    assert loaded.manifests[d("b")].layers == (shared,)


def test_a_schema_2_file_that_writes_every_field_out_still_loads(fleet) -> None:  # type: ignore[no-untyped-def]
    # As costcalc wrote schema 2 before `defaults`: indented, each entry with its media type.
    data = json.loads(dumps(fleet))
    defaults = data.pop("defaults")
    for entry in data["manifests"].values():
        entry.update(defaults["manifest"] | entry)
        for digest in entry.get("layers", ()):
            data["blobs"][digest].setdefault("media_type", defaults["layer"]["media_type"])
        data["blobs"][entry["config"]].setdefault("media_type", defaults["config"]["media_type"])
    assert loads(json.dumps(data, indent=1)) == fleet


@pytest.mark.parametrize(
    ("defaults", "message"),
    [
        ('{"layer": {"media_type": "l"}}', f"manifests.{_DIGEST}.config: blob sha256:c gives no media_type and the"),
        ('{"config": {"media_type": "c"}}', f"manifests.{_DIGEST}.layers.0: blob sha256:l gives no media_type and"),
        ("{}", f"manifests.{_DIGEST}.kind: kind is not given and the file has no default for it."),
    ],
)
def test_a_field_left_out_with_no_default_is_one_sentence(defaults: str, message: str) -> None:
    text = (
        '{"schema_version": 2, "registry": "r", "scanned_at": "2026-01-01T00:00:00Z", "defaults": '
        + defaults
        + ', "blobs": {"sha256:c": {"size_bytes": 1}, "sha256:l": {"size_bytes": 2}},\n"manifests": {\n"'
        + _DIGEST
        + '": {"media_type": "m", "size_bytes": 1'
        + (', "kind": "image"' if defaults != "{}" else "")
        + ', "config": "sha256:c", "layers": ["sha256:l"]}}}'
    )
    with pytest.raises(InputError) as info:
        loads(text, "inv.json")
    assert str(info.value).startswith(f"inv.json:3: {message}")


def _described(ref: BlobRef) -> dict[str, object]:
    return {"media_type": ref.media_type, "size_bytes": ref.size_bytes}


def test_untagged_manifests_and_provider_times_round_trip() -> None:
    pushed = datetime(2026, 2, 1, 12, 30, tzinfo=UTC)
    pulled = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    old = replace(image("cold", 5, layer("l0", 50)), pushed_at=pushed, last_pulled_at=pulled)
    manifests = {d("old"): old, d("new"): image("cnew", 6, layer("l1", 60))}
    inventory = build_inventory(
        "r", "", when(2), {"n/app": [("v2", d("new"))]}, manifests, untagged={"n/app": [d("old")]}
    )
    text = dumps(inventory)
    data = json.loads(text)
    assert data["repositories"] == [
        {"name": "n/app", "tags": [{"tag": "v2", "digest": d("new")}], "untagged": [d("old")]}
    ]
    assert data["manifests"][d("old")]["pushed_at"] == "2026-02-01T12:30:00Z"
    assert data["manifests"][d("old")]["last_pulled_at"] == "2026-03-01T08:00:00Z"
    loaded = loads(text)
    assert loaded == inventory
    assert loaded.manifests[d("old")].pushed_at == pushed
    assert loaded.figures.repository_bytes == {"n/app": 500 + 5 + 50 + 500 + 6 + 60}


def test_a_referrers_subject_round_trips() -> None:
    signed = replace(image("csig", 2, layer("sig", 9)), subject=d("new"))
    manifests = {d("new"): image("cnew", 6, layer("l1", 60)), d("sig"): signed}
    inventory = build_inventory("r", "", when(2), {"n/app": [("v2", d("new")), ("v2-sig", d("sig"))]}, manifests)
    text = dumps(inventory)
    assert json.loads(text)["manifests"][d("sig")]["subject"] == d("new")
    assert "subject" not in json.loads(text)["manifests"][d("new")]
    assert loads(text).manifests[d("sig")].subject == d("new")


def _manifest_2(**fields: object) -> str:
    record = {"media_type": "m", "size_bytes": 1, "kind": "image", **fields}
    return _HEAD_2 + '"manifests": {\n"' + _DIGEST + '": ' + json.dumps(record) + "}}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "inv.json:1: not valid JSON: EOF while parsing an object."),
        ('{\n"schema_version": 2,\n"registry": "r",\n}', "inv.json:4: not valid JSON: trailing comma."),
        (
            '{"schema_version": 9, "registry": "r", "scanned_at": "2026-01-01T00:00:00Z"}',
            "inv.json: schema_version 9 is not supported (this costcalc reads 1 and 2).",
        ),
        (
            '{"schema_version": "2", "registry": "r", "scanned_at": "2026-01-01T00:00:00Z"}',
            'inv.json: schema_version "2" is not supported (this costcalc reads 1 and 2).',
        ),
        ('{"registry": "r"}', "inv.json: schema_version: Field required."),
        ('{"schema_version": 2, "scanned_at": "2026-01-01T00:00:00Z"}', "inv.json: registry: Field required."),
        ('{"schema_version": 1, "scanned_at": "2026-01-01T00:00:00Z"}', "inv.json: registry: Field required."),
        # true is not 1 byte, nor 12.0 twelve: sizes are JSON integers
        (_manifest_2(size_bytes=True), f"inv.json:2: manifests.{_DIGEST}.size_bytes: Input should be a valid integer"),
        (_manifest_2(size_bytes=12.0), f"inv.json:2: manifests.{_DIGEST}.size_bytes: Input should be a valid integer"),
        (_manifest_2(extra=1), f"inv.json:2: manifests.{_DIGEST}.extra: Extra inputs are not permitted."),
        (_manifest_2(layers=["sha256:l"]), f"inv.json:2: manifests.{_DIGEST}.layers.0: sha256:l is not in blobs."),
        (_manifest_2(config="sha256:c"), f"inv.json:2: manifests.{_DIGEST}.config: sha256:c is not in blobs."),
        (_manifest_2(created="2026-13-01"), f"manifests.{_DIGEST}.created: Input should be a valid datetime"),
        (
            _HEAD_2 + '"blobs": {"sha256:l": {"media_type": "l", "size_bytes": -1}}}',
            "inv.json:1: blobs.sha256:l.size_bytes: Input should be greater than or equal to 0.",
        ),
        (  # the one problem is the blob's: the manifests naming it are not also wrong
            _HEAD_2 + '"blobs": {"sha256:l": {"media_type": "l", "size_bytes": -1}}, "manifests": {"sha256:m": '
            '{"media_type": "m", "size_bytes": 1, "kind": "image", "layers": ["sha256:l", "sha256:l"]}}}',
            "inv.json:1: blobs.sha256:l.size_bytes: Input should be greater than or equal to 0.",
        ),
        (
            _HEAD_1 + '"manifests": {"' + _DIGEST + '": {"media_type": "m", "size_bytes": 1, "kind": "image", '
            '"layers": [{"media_type": "l", "digest": "sha256:l", "size_bytes": 2, "extra": 1}]}}}',
            f"inv.json:1: manifests.{_DIGEST}.layers.0.extra: Extra inputs are not permitted.",
        ),
        (
            _HEAD_2 + '"repositories": [{"name": "a", "tags": [{"tag": 1, "digest": "d"}]}]}',
            "repositories.0.tags.0.tag",
        ),
        (b'{"schema_version": 2, "registry": "\xff"}', "inv.json:1: not valid JSON"),
    ],
)
def test_bad_inventory_files_are_one_sentence(text: str | bytes, message: str) -> None:
    with pytest.raises(InputError) as info:
        loads(text, "inv.json")
    assert message in str(info.value)
    assert str(info.value).startswith("inv.json") and str(info.value).endswith(".")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (  # in UTC this is the last hour of year 0, which no calendar date holds
            _manifest_2(created="0001-01-01T00:00:00+01:00"),
            f"inv.json:2: manifests.{_DIGEST}.created: a time outside the years a date can hold in UTC.",
        ),
        (
            _manifest_2(pushed_at="9999-12-31T23:59:59-01:00"),
            f"inv.json:2: manifests.{_DIGEST}.pushed_at: a time outside the years a date can hold in UTC.",
        ),
        (
            '{"schema_version": 2, "registry": "r", "scanned_at": "0001-01-01T00:30:00+01:00"}',
            "inv.json: scanned_at: a time outside the years a date can hold in UTC.",
        ),
    ],
)
def test_a_time_that_leaves_the_calendar_in_utc_is_one_sentence(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        loads(text, "inv.json")
    assert str(info.value) == message


def test_every_time_is_read_in_utc_and_one_without_an_offset_is_utc() -> None:
    text = _manifest_2(created="2026-03-01T10:00:00+02:00", last_pulled_at="2026-03-02T10:00:00")
    loaded = loads(text.replace('"2026-01-01T00:00:00Z"', '"2026-01-01T01:00:00+01:00"'), "inv.json")
    record = loaded.manifests[_DIGEST]
    assert record.created == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert record.created is not None and record.created.utcoffset() is not None
    assert record.last_pulled_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert loaded.scanned_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert json.loads(dumps(loaded))["scanned_at"] == "2026-01-01T00:00:00Z"


def test_gos_zero_time_round_trips_with_a_four_digit_year() -> None:
    zero = datetime(1, 1, 1, tzinfo=UTC)  # what a Go program writes for a time it never set
    inventory = build_inventory(
        "r", "", zero, {"n/app": [("v1", d("a"))]}, {d("a"): replace(image("c", 1), created=zero)}
    )
    text = dumps(inventory)
    assert json.loads(text)["scanned_at"] == "0001-01-01T00:00:00Z"
    assert json.loads(text)["manifests"][d("a")]["created"] == "0001-01-01T00:00:00Z"
    assert loads(text) == inventory


def _with_size(size: str) -> str:
    return _HEAD_2 + '"blobs": {"sha256:l": {"media_type": "l", "size_bytes": ' + size + "}}}"


def test_the_largest_size_a_descriptor_may_give_is_read_one_more_is_refused() -> None:
    assert MAX_SIZE_BYTES == 2**63 - 1  # an OCI descriptor's size is a signed 64-bit integer
    inventory = loads(_with_size(str(MAX_SIZE_BYTES)))
    assert inventory.figures.summary().unique_bytes == 0  # a blob no manifest names
    for size in (str(MAX_SIZE_BYTES + 1), "1" + "0" * 40):
        with pytest.raises(InputError, match=r"size_bytes: Input should be less than or equal to 9223372036854775807"):
            loads(_with_size(size), "inv.json")


@pytest.mark.parametrize("digits", [4300, 4301, 5000])
def test_integers_of_thousands_of_digits_are_one_sentence(digits: int) -> None:
    # Up to 4,300 digits a number is read (and is over the size limit); past that the parser
    # refuses it: either way one sentence, no traceback.
    with pytest.raises(InputError) as info:
        loads(_with_size("9" * digits), "inv.json")
    expected = "less than or equal to" if digits <= 4300 else "inv.json:1: not valid JSON: number out of range."
    assert expected in str(info.value)


def test_json_nested_to_the_limit_is_parsed_one_level_more_is_refused() -> None:
    def nested(levels: int) -> str:
        return _HEAD_2 + '"extra": ' + "[" * levels + "]" * levels + "}"

    with pytest.raises(InputError) as info:
        loads(nested(MAX_NESTING), "inv.json")
    assert str(info.value) == "inv.json: extra: Extra inputs are not permitted."  # parsed, then refused
    for levels in (MAX_NESTING + 1, 200_000):
        with pytest.raises(InputError) as info:
            loads(nested(levels), "inv.json")
        assert str(info.value) == f"inv.json:1: JSON nested more than {MAX_NESTING} levels deep."


def test_a_file_at_the_size_limit_is_read_one_byte_more_is_refused(fleet, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "inv.json"
    path.write_text(dumps(fleet))
    size = path.stat().st_size
    monkeypatch.setattr(inventory_file, "MAX_FILE_BYTES", size)
    assert load(path) == fleet
    monkeypatch.setattr(inventory_file, "MAX_FILE_BYTES", size - 1)
    with pytest.raises(InputError, match=rf"{size:,} bytes, over the"):
        load(path)


def test_a_file_over_the_real_limit_is_refused_before_it_is_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert MAX_FILE_BYTES == 1 << 30
    path = tmp_path / "huge.json"
    with path.open("wb") as file:  # sparse: no disk used
        file.write(b"{")
        file.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(InputError) as info:
        load(path)
    assert (
        str(info.value)
        == f"{path}: the file is {MAX_FILE_BYTES + 1:,} bytes, over the 1,024 MiB limit of an inventory file."
    )


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_is_refused_without_reading_it_all(device: str) -> None:
    if not os.path.exists(device):
        pytest.fail(f"{device} is missing")
    with pytest.raises(InputError) as info:
        load(Path(device))
    assert str(info.value).startswith(f"{device}: ")
    assert "not an inventory file" in str(info.value) or "not valid JSON" in str(info.value)


def test_missing_and_unreadable_paths_are_one_sentence(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"no such inventory file\.$"):
        load(tmp_path / "missing.json")
    with pytest.raises(InputError, match=r"is a directory, not an inventory file\.$"):
        load(tmp_path)


@given(
    text=st.text(
        st.sampled_from(["a", "\x00", "\x1f", "\x7f", "\x80", "\u00e9", "\u2028", '"', "\\", "/", "\n"])
        | st.characters(codec="utf-8", exclude_categories=["Cs"]),
        max_size=12,
    ),
    size=st.integers(min_value=0, max_value=MAX_SIZE_BYTES),
)
@settings(max_examples=200, deadline=None)
def test_the_file_is_ascii_and_reads_back_whatever_the_text(text: str, size: int) -> None:
    record = ManifestRecord(
        media_type=text,
        size_bytes=size,
        kind="artifact",
        artifact_type=text,
        platform=text,
        layers=(BlobRef(media_type=text, digest=text, size_bytes=size),),
    )
    inventory = build_inventory(
        "r",
        text,
        datetime(2026, 1, 1, tzinfo=UTC),
        {"a": [(text or "t", "sha256:a")]},
        {"sha256:a": record},
        [ScanError(repository=text, reason=text)],
    )
    written = dumps(inventory)
    # every character past ASCII, and DEL, escaped as json.dumps escapes them: an ASCII file
    assert written.isascii() and "\x7f" not in written
    assert json.loads(written)["namespace"] == text
    assert dumps(loads(written)) == written
    assert loads(written) == inventory


@pytest.mark.parametrize("case", ["/dev/zero", "/dev/urandom", "deep", "huge-size", "schema-1"])
def test_the_report_command_says_one_sentence_or_reads_the_file(case: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from costcalc.cli.app import app

    path = Path(case) if case.startswith("/dev/") else tmp_path / "inv.json"
    if case == "deep":
        path.write_text(_HEAD_2 + '"extra": ' + "[" * 100_000 + "]" * 100_000 + "}")
    elif case == "huge-size":
        path.write_text(_with_size("1" + "0" * 40))
    elif case == "schema-1":
        path.write_bytes(SCHEMA_1.read_bytes())
    result = CliRunner().invoke(app, ["report", str(path), "--format", "json"])
    if case == "schema-1":
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["inventory"]["unique_bytes"] == 5400
        return
    assert result.exit_code == 1
    assert result.stderr.startswith(f"costcalc: error: {path}") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("over", [False, True])
def test_a_pipe_is_read_up_to_the_limit(fleet, tmp_path, monkeypatch, over: bool) -> None:  # type: ignore[no-untyped-def]
    # A pipe has no size to check first (`report <(zcat inv.json.gz)`): its read stops at the limit.
    text = dumps(fleet).encode()
    monkeypatch.setattr(inventory_file, "MAX_FILE_BYTES", len(text) - 1 if over else len(text))
    fifo = tmp_path / "inv.pipe"
    os.mkfifo(fifo)

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), fifo.open("wb") as pipe:  # the reader may stop at the limit
            pipe.write(text + (b" " * 100_000 if over else b""))

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        if over:
            with pytest.raises(InputError, match=rf"more than {len(text) - 1:,} bytes, over the"):
                load(fifo)
        else:
            assert load(fifo) == fleet
    finally:
        writer.join(timeout=10)


def test_a_layer_missing_from_blobs_is_named_with_its_manifests_line(fleet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = dumps(fleet)
    missing = text.replace(f'\n"{d("api-v1")}":{{', f'\n"{d("gone")}":{{', 1)  # its blob entry, renamed
    path = tmp_path / "inv.json"
    path.write_text(missing)
    line = next(i for i, entry in enumerate(missing.splitlines(), 1) if entry.startswith(f'"{d("api1")}":{{'))
    with pytest.raises(InputError) as info:
        load(path)
    assert str(info.value) == f"{path}:{line}: manifests.{d('api1')}.layers.1: {d('api-v1')} is not in blobs."


def test_a_load_leaves_no_cyclic_garbage_behind() -> None:
    """`report` pauses the collector while it reads a fleet's files one by one, so whatever a load
    leaves in a reference cycle would stay until the command ends, once per file read."""
    import gc

    example = Path(__file__).resolve().parent.parent / "examples" / "fleet.json"
    load(example)  # imports and schemas built once
    gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        inventory = load(example)
        assert inventory.manifests
        del inventory
        assert gc.collect() == 0
    finally:
        if collecting:
            gc.enable()
