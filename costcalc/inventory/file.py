"""The inventory file: dumps writes schema 2, loads and load read schemas 1 and 2 (pure)."""

from __future__ import annotations

import json
import os
import re
import stat
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from costcalc.errors import InputError
from costcalc.inventory.model import SCHEMA_VERSION, BlobRef, ChildRef, Inventory, ManifestRecord, Repository
from costcalc.inventory.schema import (
    MAX_SIZE_BYTES,
    Defaults,
    DescriptorV1,
    FileV1,
    FileV2,
    ManifestDefaults,
    child_ref,
    tag_refs,
    validate,
)
from costcalc.units import utc_timestamp

__all__ = ["MAX_FILE_BYTES", "MAX_NESTING", "MAX_SIZE_BYTES", "dumps", "load", "loads"]

# The largest inventory file read: a 100,000-tag inventory is ~160 MB in schema 2 (~270 MB in
# schema 1). Reads stop there, so a device or a runaway file is refused, not read to the end.
MAX_FILE_BYTES = 1 << 30
# JSON nested deeper than this (in objects and lists) is refused by the parser; an inventory
# file is 5 levels deep.
MAX_NESTING = 200
_FIRST_READ = 1 << 16


def dumps(inventory: Inventory) -> str:
    """The inventory file text (schema 2): stable order, each blob once, no credentials.

    Compact JSON with one entry (a repository, a manifest, a blob, an error) per line: lines
    still locate a problem and a diff of two scans, and indentation would be a third of the
    file. A field equal to the file's `defaults` is left out. The same inventory gives the
    same text, whatever the order its manifests are held in.
    """
    records = [(digest, inventory.manifests[digest]) for digest in sorted(inventory.manifests)]
    defaults = _defaults(record for _, record in records)
    blobs = _blob_entries(records, defaults)
    manifest_defaults = defaults.get("manifest", {})
    head = {
        "schema_version": SCHEMA_VERSION,
        "registry": inventory.registry,
        "namespace": inventory.namespace,
        "scanned_at": utc_timestamp(inventory.scanned_at),
        "defaults": defaults,
    }
    lines = ["{" + ",\n".join(f"{_json(key)}:{_json(value)}" for key, value in head.items()) + ","]
    lines += _table("repositories", [_json(_repository(r)) for r in inventory.repositories], "[]")
    manifests = [_json(digest) + ":" + _json(_manifest(r, blobs, manifest_defaults)) for digest, r in records]
    lines += _table("manifests", manifests, "{}")
    lines += _table(
        "blobs", [_json(digest) + ":" + _json(entry) for digest, entry in sorted(blobs.entries.items())], "{}"
    )
    lines += _table("errors", [_json(error.model_dump(mode="json")) for error in inventory.errors], "[]", last=True)
    return "\n".join(lines) + "}\n"


# json.dumps escapes every character past ASCII and DEL: the file is ASCII whatever a registry sent.
_json = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), default=to_jsonable_python).encode


def _table(key: str, entries: list[str], brackets: str, *, last: bool = False) -> list[str]:
    """KEY's table, one entry a line."""
    end = brackets[1] + ("" if last else ",")
    if not entries:
        return [f'"{key}":{brackets}' + ("" if last else ",")]
    return [f'"{key}":{brackets[0]}', ",\n".join(entries), end]


def _defaults(records: Iterable[ManifestRecord]) -> Defaults:
    """The most common manifest media type and kind, config and layer media types: the values
    an entry then leaves out."""
    manifests: Counter[str] = Counter()
    kinds: Counter[Literal["image", "artifact"]] = Counter()
    configs: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    for record in records:
        manifests[record.media_type] += 1
        kinds[record.kind] += 1
        if record.config is not None:
            configs[record.config.media_type] += 1
        layers.update([layer.media_type for layer in record.layers])
    defaults: Defaults = {}
    if manifests:
        defaults["manifest"] = {"media_type": _most_common(manifests), "kind": _most_common(kinds)}
    if configs:
        defaults["config"] = {"media_type": _most_common(configs)}
    if layers:
        defaults["layer"] = {"media_type": _most_common(layers)}
    return defaults


_Value = TypeVar("_Value", bound=str)


def _most_common(counts: Counter[_Value]) -> _Value:
    return max(counts, key=lambda value: (counts[value], value))  # ties: the same file every time


class _Blobs:
    """The `blobs` entries, and how each manifest names its config and layers (digest or whole)."""

    def __init__(self, defaults: Defaults) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.known: dict[str, BlobRef] = {}  # the first description of each digest, which `blobs` gives
        self.implicit: dict[str, bool] = {}  # named in every role with that role's default media type
        self.role_types = {
            "config": defaults.get("config", {}).get("media_type"),
            "layer": defaults.get("layer", {}).get("media_type"),
        }

    def note(self, ref: BlobRef, role: str) -> None:
        self.known.setdefault(ref.digest, ref)
        self.implicit[ref.digest] = self.implicit.get(ref.digest, True) and ref.media_type == self.role_types[role]

    def link(self, ref: BlobRef, role: str) -> str | dict[str, Any]:
        """REF's digest, if `blobs` describes it so in ROLE; else REF whole."""
        known = self.known[ref.digest]
        media_type = self.role_types[role] if self.implicit[ref.digest] else known.media_type
        same = (ref.media_type, ref.size_bytes, ref.foreign, ref.urls) == (
            media_type,
            known.size_bytes,
            known.foreign,
            known.urls,
        )
        return ref.digest if same else _blob(ref, with_digest=True, with_media_type=True)


def _blob_entries(records: list[tuple[str, ManifestRecord]], defaults: Defaults) -> _Blobs:
    blobs = _Blobs(defaults)
    for _, record in records:
        if record.config is not None:
            blobs.note(record.config, "config")
        for layer in record.layers:
            blobs.note(layer, "layer")
    blobs.entries = {
        digest: _blob(ref, with_digest=False, with_media_type=not blobs.implicit[digest])
        for digest, ref in blobs.known.items()
    }
    return blobs


def _repository(repository: Repository) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": repository.name,
        "tags": [{"tag": t.tag, "digest": t.digest} for t in repository.tags],
    }
    if repository.untagged:
        entry["untagged"] = list(repository.untagged)
    return entry


def _manifest(record: ManifestRecord, blobs: _Blobs, defaults: ManifestDefaults) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if record.media_type != defaults.get("media_type"):
        entry["media_type"] = record.media_type
    entry["size_bytes"] = record.size_bytes
    if record.kind != defaults.get("kind"):
        entry["kind"] = record.kind
    for key in ("artifact_type", "platform", "created", "pushed_at", "last_pulled_at", "subject"):
        value = getattr(record, key)
        if value is not None:
            entry[key] = value
    if record.config is not None:
        entry["config"] = blobs.link(record.config, "config")
    if record.layers:
        entry["layers"] = [blobs.link(layer, "layer") for layer in record.layers]
    if record.children:
        entry["children"] = [_child(child) for child in record.children]
    return entry


def _blob(ref: BlobRef, *, with_digest: bool, with_media_type: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"digest": ref.digest} if with_digest else {}
    if with_media_type:
        entry["media_type"] = ref.media_type
    entry["size_bytes"] = ref.size_bytes
    if ref.foreign:
        entry["foreign"] = True
    if ref.urls:
        entry["urls"] = list(ref.urls)
    return entry


def _child(child: ChildRef) -> dict[str, Any]:
    # Written whole, as in schema 1: an index holds few entries, and its platforms are read.
    return {
        "media_type": child.media_type,
        "digest": child.digest,
        "size_bytes": child.size_bytes,
        "platform": child.platform,
        "attestation": child.attestation,
    }


def loads(text: str | bytes, source: str = "<inventory>") -> Inventory:
    """Parse an inventory file (schema 1 or 2); any problem is an InputError naming SOURCE."""
    data = text.encode() if isinstance(text, str) else text
    return _inventory_of(_validated(data, source))


def load(path: Path) -> Inventory:
    """Read the inventory file at PATH (at most MAX_FILE_BYTES)."""
    return _inventory_of(_validated(_read_bounded(path), str(path)))


def _validated(data: bytes, source: str) -> FileV1 | FileV2:
    try:
        return validate(data)
    except ValidationError as exc:
        raise InputError(_problem(exc, data, source)) from None


def _inventory_of(parsed: FileV1 | FileV2) -> Inventory:
    if parsed["schema_version"] == 1:
        return _from_schema_1(parsed)
    return _inventory(parsed, parsed.get("repositories", ()), parsed.get("manifests", {}), 2)


def _read_bounded(path: Path) -> bytes:
    """PATH's bytes, if it begins as a JSON object and ends within MAX_FILE_BYTES."""
    limit = f"the {MAX_FILE_BYTES >> 20:,} MiB limit of an inventory file"
    try:
        with path.open("rb") as file:
            first = file.read(_FIRST_READ)
            if not first.lstrip(b" \t\r\n").startswith(b"{"):
                raise InputError(f"{path}: not an inventory file (it does not begin with a JSON object).")
            size = _regular_size(file.fileno())
            if size is not None and size > MAX_FILE_BYTES:
                raise InputError(f"{path}: the file is {size:,} bytes, over {limit}.")
            try:  # read again from the start: one bytes object, not the first read joined to the rest
                file.seek(0)
                data = file.read(MAX_FILE_BYTES + 1)
            except OSError:  # a pipe: cannot go back
                data = first + file.read(max(MAX_FILE_BYTES + 1 - len(first), 0))
    except FileNotFoundError:
        raise InputError(f"{path}: no such inventory file.") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not an inventory file.") from None
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read the inventory file ({exc.strerror or exc.__class__.__name__})."
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{path}: more than {MAX_FILE_BYTES:,} bytes, over {limit}.")
    return data


def _regular_size(descriptor: int) -> int | None:
    status = os.fstat(descriptor)
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _from_schema_1(parsed: FileV1) -> Inventory:
    shared: dict[tuple[str, str, int, bool], BlobRef] = {}  # each distinct descriptor one instance

    def ref(d: DescriptorV1) -> BlobRef:
        key = (d["media_type"], d["digest"], d["size_bytes"], d.get("foreign", False))
        found = shared.get(key)
        if found is None:
            found = shared[key] = BlobRef(*key)
        return found

    manifests = {}
    for digest, m in parsed.get("manifests", {}).items():
        config = m.get("config")
        manifests[digest] = ManifestRecord(
            m["media_type"],
            m["size_bytes"],
            m["kind"],
            m.get("artifact_type"),
            m.get("platform"),
            m.get("created"),
            None if config is None else ref(config),
            tuple(map(ref, m.get("layers", ()))),
            tuple(map(child_ref, m.get("children", ()))),
        )
    repositories = tuple(Repository(r["name"], tag_refs(r.get("tags", ()))) for r in parsed.get("repositories", ()))
    return _inventory(parsed, repositories, manifests, 1)


def _inventory(
    parsed: FileV1 | FileV2,
    repositories: tuple[Repository, ...],
    manifests: dict[str, ManifestRecord],
    schema_version: int,
) -> Inventory:
    return Inventory(
        registry=parsed["registry"],
        namespace=parsed.get("namespace", ""),
        scanned_at=parsed["scanned_at"],
        repositories=repositories,
        manifests=manifests,
        errors=parsed.get("errors", ()),
        schema_version=schema_version,
    )


_AT_LINE = re.compile(r" at line (\d+) column \d+$")


def _problem(exc: ValidationError, data: bytes, source: str) -> str:
    """The first problem pydantic found, as `SOURCE[:LINE]: where: what.`"""
    problems = exc.errors()
    first = problems[0]
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    if first["type"] == "json_invalid":
        detail = str(first.get("ctx", {}).get("error", first["msg"]))
        found = _AT_LINE.search(detail)
        at = int(found.group(1)) if found else 1
        if detail.startswith("recursion limit exceeded"):
            return f"{source}:{at}: JSON nested more than {MAX_NESTING} levels deep."
        return f"{source}:{at}: not valid JSON: {_AT_LINE.sub('', detail)}."
    if first["type"] == "union_tag_invalid":
        given = first["input"].get("schema_version") if isinstance(first["input"], dict) else None
        return f"{source}: schema_version {json.dumps(given)} is not supported (this costcalc reads 1 and 2)."
    if first["type"] == "union_tag_not_found":
        return f"{source}: schema_version: Field required."
    location = [str(part) for part in first["loc"][1:]]  # the first part is the schema's tag
    if first["type"] == "inventory_entry":  # a record's own check: its field, in words of its own
        location.append(str(first.get("ctx", {})["field"]))
    line = _line_of_key(data, location[0], location[1]) if len(location) > 1 and location[0] in _KEYED else None
    where = f"{source}:{line}" if line else source
    message = first["msg"]
    if first["type"] == "less_than_equal" and location[-1] == "size_bytes":
        message = f"{message} (the largest size a descriptor may give)"
    return f"{where}: {'.'.join(location) or 'file'}: {message}{more}."


_KEYED = ("manifests", "blobs")  # tables keyed by digest: the line of the digest's key is known


def _line_of_key(data: bytes, table: str, key: str) -> int | None:
    """The line of KEY's member in the top-level TABLE of DATA, if written plainly."""
    start = data.find(f'"{table}"'.encode())
    at = data.find(json.dumps(key).encode() + b":", start) if start >= 0 else -1
    if at < 0:
        return None
    return data.count(b"\n", 0, at) + 1
