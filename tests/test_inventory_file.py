"""The inventory file (SPEC §3.2): deterministic text, one-sentence errors, and the fast loader."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costcalc.errors import InputError
from costcalc.inventory import file as inventory_file
from costcalc.inventory.file import dumps, load, loads
from costcalc.inventory.model import BlobRef, Inventory, ManifestRecord, ScanError, build_inventory
from tests.inventory_builders import d, small_fleet


@pytest.fixture
def fleet() -> Inventory:
    return small_fleet()


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
            + "a" * 64
            + '": {"media_type": "x", "size_bytes": true, "kind": "image"}}}',
            "size_bytes: Input should be a valid integer",
        ),
        (
            '{"schema_version": 1, "registry": "r", "scanned_at": "2026-01-01T00:00:00Z", "manifests": {"sha256:'
            + "a" * 64
            + '": {"media_type": "x", "size_bytes": 12.0, "kind": "image"}}}',
            "size_bytes: Input should be a valid integer",
        ),
        # an unknown key is worded alike in a manifest and in a descriptor (a dataclass)
        (
            '{"schema_version": 1, "registry": "r", "scanned_at": "2026-01-01T00:00:00Z", "manifests": {"sha256:'
            + "a" * 64
            + '": {"media_type": "x", "size_bytes": 1, "kind": "image", "extra": 1}}}',
            "extra: Extra inputs are not permitted.",
        ),
        (
            '{"schema_version": 1, "registry": "r", "scanned_at": "2026-01-01T00:00:00Z", "manifests": {"sha256:'
            + "a" * 64
            + '": {"media_type": "x", "size_bytes": 1, "kind": "image", "layers": [{"media_type": "l",'
            ' "digest": "sha256:l", "size_bytes": 2, "extra": 1}]}}}',
            "layers.0.extra: Extra inputs are not permitted.",
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
    loaded = inventory_file._load_pieces(dumps(fleet).encode())
    assert loaded == fleet
    assert loaded is not None and dumps(loaded) == dumps(fleet)


def test_records_tags_and_descriptors_carry_no_instance_dict() -> None:
    # Slotted dataclasses: a 100,000-tag inventory holds over a million of them, and as models
    # (an instance dict and a fields-set each) they cost its report ~140 MiB and a tenth or more
    # of its time (docs/performance.md).
    example = Path(__file__).resolve().parent.parent / "examples" / "fleet.json"
    loaded = inventory_file._load_pieces(example.read_bytes())
    assert loaded is not None
    records = list(loaded.manifests.values())
    children = [child for record in records for child in record.children]
    descriptors = [layer for record in records for layer in record.layers]
    tags = [tag for repository in loaded.repositories for tag in repository.tags]
    assert records and children and descriptors and tags
    for value in (*records, *children, *descriptors, *tags):
        assert not hasattr(value, "__dict__"), type(value).__name__


def test_a_file_loaded_in_pieces_is_the_file_loaded_whole(fleet, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(inventory_file, "_PIECE", 1)  # one manifest per piece
    path = tmp_path / "inv.json"
    path.write_text(dumps(fleet))
    loaded = load(path)
    assert loaded == fleet
    assert dumps(loaded) == dumps(fleet)
    layers = [layer for record in loaded.manifests.values() for layer in record.layers]
    assert len({id(layer) for layer in layers}) == len(set(layers))


@pytest.mark.parametrize("indent", [2, 4])
def test_a_file_indented_otherwise_is_loaded_in_pieces(fleet, tmp_path, monkeypatch, indent: int) -> None:  # type: ignore[no-untyped-def]
    # jq writes 2 spaces per level; any indent of spaces takes the piece loader.
    monkeypatch.setattr(inventory_file, "_PIECE", 1)  # one manifest per piece
    text = json.dumps(json.loads(dumps(fleet)), indent=indent)
    assert inventory_file._load_pieces(text.encode()) == fleet
    path = tmp_path / "inv.json"
    path.write_text(text)
    assert load(path) == fleet


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])  # jq -c; json.dump's default
@pytest.mark.parametrize("errors", [0, 40])  # more error objects than closes tried from the end
def test_a_file_on_one_line_is_loaded_in_pieces(  # type: ignore[no-untyped-def]
    fleet, tmp_path, monkeypatch, separators: tuple[str, str], errors: int
) -> None:
    monkeypatch.setattr(inventory_file, "_PIECE", 1)  # one manifest per piece
    fleet = fleet.model_copy(
        update={"errors": tuple(ScanError(repository="a", tag=f"t{i}", reason="gone") for i in range(errors))}
    )
    text = json.dumps(json.loads(dumps(fleet)), separators=separators)
    assert "\n" not in text
    loaded = inventory_file._load_pieces(text.encode())
    assert loaded == fleet
    assert loaded is not None and dumps(loaded) == dumps(fleet)
    path = tmp_path / "inv.json"
    path.write_text(text)
    assert load(path) == fleet


def test_a_digest_repeated_across_pieces_is_left_to_the_reference_loader(fleet, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(inventory_file, "_PIECE", 1)
    text = dumps(fleet)
    first = d("api1")
    # the first manifest again, at the end, with a size the reference loader rejects
    text = text.replace("\n }", f',\n  "{first}": {{\n   "size_bytes": -1\n  }}\n }}', 1)
    assert inventory_file._load_pieces(text.encode()) is None
    path = tmp_path / "inv.json"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: manifests.{first}")


def test_a_file_the_pieces_cannot_take_is_validated_whole(fleet, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "inv.json"
    path.write_text(dumps(fleet))
    monkeypatch.setattr(inventory_file, "_layout", lambda data: None)
    loaded = load(path)
    assert loaded == fleet
    layers = [layer for record in loaded.manifests.values() for layer in record.layers]
    assert len({id(layer) for layer in layers}) == len(set(layers))  # shared all the same


def test_a_stray_brace_after_manifests_on_one_line_is_still_invalid(fleet) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(json.loads(dumps(fleet)), separators=(",", ":"))
    broken = text.replace(',"errors":', '},"errors":', 1)
    assert inventory_file._load_pieces(broken.encode()) is None
    with pytest.raises(InputError, match="not valid JSON"):
        loads(broken, "inv.json")


def test_an_object_after_manifests_is_no_part_of_them(fleet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The close of `manifests` is searched from the end: here the last "\n }" closes another
    # member, so the piece holding the real close has trailing text and the pieces give up.
    text = dumps(fleet)
    assert text.endswith('\n "errors": []\n}\n')
    path = tmp_path / "inv.json"
    path.write_text(text.removesuffix("\n}\n") + ',\n "extra": {\n  "a": 1\n }\n}\n')
    assert inventory_file._load_pieces(path.read_bytes()) is None
    with pytest.raises(InputError, match="extra"):
        load(path)


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


_LAYER = '{"media_type": "l", "digest": "sha256:l", "size_bytes": 2, "foreign": false}'


@pytest.mark.parametrize(
    "layers",
    [
        [_LAYER, _LAYER],  # the usual shape: one shared instance
        [_LAYER, '{"digest": "sha256:l", "media_type": "l", "size_bytes": 2}'],  # foreign left out: equal
        [_LAYER, '{"foreign": false, "size_bytes": 2, "digest": "sha256:l", "media_type": "l"}'],  # other order
        [_LAYER, '{"media_type": "l", "digest": "sha256:l", "size_bytes": 2, "foreign": 0}'],  # 0 is not false
        [_LAYER, '{"media_type": "l", "digest": "sha256:l", "size_bytes": 2, "foreign": true}'],  # not equal
        [_LAYER, '{"media_type": "l", "digest": "sha256:l", "size_bytes": 3, "foreign": false}'],  # not equal
        [_LAYER, '{"media_type": "l", "digest": "sha256:l", "size_bytes": true, "foreign": false}'],
        [_LAYER, '{"media_type": "l", "digest": "sha256:l", "size_bytes": 2.0, "foreign": false}'],
        [_LAYER, '{"media_type": "l", "digest": ["x"], "size_bytes": 2, "foreign": false}'],
        [_LAYER, '{"media_type": "l", "digest": "sha256:l", "size_bytes": 2, "extra": false}'],
        [_LAYER, '"sha256:l"'],
        ['{"media_type": "l", "digest": "sha256:m", "size_bytes": 3, "foreign": true}', _LAYER],
    ],
)
def test_the_fast_loader_is_the_reference_loader(layers: list[str]) -> None:
    record = '{"media_type": "m", "size_bytes": 1, "kind": "image", "layers": [' + ", ".join(layers) + "]}"
    text = _HEAD + '"manifests": {"sha256:a": ' + record + ', "sha256:b": ' + _GOOD_MANIFEST + "}}"
    written = json.dumps(json.loads(text), indent=1)  # the layout the pieces take
    try:
        expected: Inventory | None = Inventory.model_validate_json(text)
    except ValueError:
        expected = None
    if expected is None:
        assert inventory_file._load_pieces(written.encode()) is None
        with pytest.raises(InputError):
            loads(text, "inv.json")
        return
    for loaded in (inventory_file._load_pieces(written.encode()), loads(text)):
        assert loaded is not None  # taken, not fallen back from
        assert dumps(loaded) == dumps(expected)
        found = loaded.manifests["sha256:a"].layers
        assert found == expected.manifests["sha256:a"].layers
        # equal descriptors are one instance, different ones are not
        assert (found[0] is found[1]) == (found[0] == found[1])


def test_a_written_file_loads_as_the_reference_loader_reads_it(fleet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "inv.json"
    path.write_text(dumps(fleet))
    assert inventory_file._load_mapped(path) == Inventory.model_validate_json(path.read_bytes()) == fleet


@given(
    text=st.text(
        st.sampled_from(["a", "\x00", "\x1f", "\x7f", "\x80", "\u00e9", "\u2028", '"', "\\", "/", "\n"])
        | st.characters(codec="utf-8", exclude_categories=["Cs"]),
        max_size=12,
    ),
    size=st.integers(min_value=0, max_value=2**70),
)
@settings(max_examples=200, deadline=None)
def test_the_file_text_is_what_json_dumps_writes(text: str, size: int) -> None:
    # dumps() writes with pydantic's encoder when it can; the text must be json.dumps's to the byte.
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
    data = inventory.model_dump(mode="json")
    data["scanned_at"] = "2026-01-01T00:00:00Z"
    assert dumps(inventory) == json.dumps(data, indent=1, ensure_ascii=True) + "\n"
    assert loads(dumps(inventory)) == inventory
