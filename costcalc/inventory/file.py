"""The inventory file: dumps writes schema 2, loads and load read schemas 1 and 2 (pure)."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_json, to_jsonable_python

from costcalc.errors import InputError
from costcalc.inventory.model import SCHEMA_VERSION, BlobRef, ChildRef, Inventory, ManifestRecord, Repository, TagRef
from costcalc.inventory.schema import (
    INVENTORY_FILE,
    MAX_SIZE_BYTES,
    BlobLink,
    Child,
    DescriptorV1,
    FileV1,
    FileV2,
    Tag,
)

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

    The same inventory gives the same text, whatever the order its manifests are held in.
    """
    blobs: dict[str, BlobRef] = {}
    manifests = {digest: _manifest(inventory.manifests[digest], blobs) for digest in sorted(inventory.manifests)}
    data = {
        "schema_version": SCHEMA_VERSION,
        "registry": inventory.registry,
        "namespace": inventory.namespace,
        "scanned_at": inventory.scanned_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "repositories": [_repository(repository) for repository in inventory.repositories],
        "manifests": manifests,
        "blobs": {digest: _blob(blobs[digest], with_digest=False) for digest in sorted(blobs)},
        "errors": [error.model_dump(mode="json") for error in inventory.errors],
    }
    # json.dumps with an indent runs its pure-Python encoder; pydantic's writes the same text
    # several times faster, but leaves non-ASCII characters and DEL unescaped, where
    # json.dumps escapes them: any of those, and json.dumps writes it.
    text = to_json(data, indent=1)
    if text.isascii() and b"\x7f" not in text:
        return text.decode("ascii") + "\n"
    return json.dumps(data, indent=1, ensure_ascii=True, default=to_jsonable_python) + "\n"


def _repository(repository: Repository) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": repository.name,
        "tags": [{"tag": t.tag, "digest": t.digest} for t in repository.tags],
    }
    if repository.untagged:
        entry["untagged"] = list(repository.untagged)
    return entry


def _manifest(record: ManifestRecord, blobs: dict[str, BlobRef]) -> dict[str, Any]:
    entry: dict[str, Any] = {"media_type": record.media_type, "size_bytes": record.size_bytes, "kind": record.kind}
    for key in ("artifact_type", "platform", "created", "pushed_at", "last_pulled_at", "subject"):
        value = getattr(record, key)
        if value is not None:
            entry[key] = value
    if record.config is not None:
        entry["config"] = _link(record.config, blobs)
    if record.layers:
        entry["layers"] = [_link(layer, blobs) for layer in record.layers]
    if record.children:
        entry["children"] = [_child(child) for child in record.children]
    return entry


def _link(ref: BlobRef, blobs: dict[str, BlobRef]) -> str | dict[str, Any]:
    """REF's digest, its description going to BLOBS; or REF whole, if BLOBS describes it otherwise."""
    known = blobs.setdefault(ref.digest, ref)
    return ref.digest if known is ref or known == ref else _blob(ref, with_digest=True)


def _blob(ref: BlobRef, *, with_digest: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"digest": ref.digest} if with_digest else {}
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
    return _inventory_of(_validated(data, source), source, lambda: data)


def load(path: Path) -> Inventory:
    """Read the inventory file at PATH (at most MAX_FILE_BYTES)."""
    # The file's bytes are dropped once validated, before the records are built beside the
    # validated entries; a problem found then reads the file again for its line number.
    return _inventory_of(_validated(_read_bounded(path), str(path)), str(path), lambda: _read_bounded(path))


def _validated(data: bytes, source: str) -> FileV1 | FileV2:
    try:
        return INVENTORY_FILE.validate_json(data)
    except ValidationError as exc:
        raise InputError(_problem(exc, data, source)) from None


def _inventory_of(parsed: FileV1 | FileV2, source: str, text: Callable[[], bytes]) -> Inventory:
    if parsed["schema_version"] == 1:
        return _from_schema_1(parsed)
    return _from_schema_2(parsed, text, source)


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
            tuple(map(_child_ref, m.get("children", ()))),
        )
    repositories = tuple(Repository(r["name"], _tags(r.get("tags", ()))) for r in parsed.get("repositories", ()))
    return _inventory(parsed, repositories, manifests, 1)


def _from_schema_2(parsed: FileV2, text: Callable[[], bytes], source: str) -> Inventory:
    blobs = {
        digest: BlobRef(b["media_type"], digest, b["size_bytes"], b.get("foreign", False), b.get("urls", ()))
        for digest, b in parsed.get("blobs", {}).items()
    }
    find = blobs.__getitem__
    manifests = {}
    for digest, m in parsed.get("manifests", {}).items():
        links = m.get("layers", ())
        try:
            layers = tuple(map(find, links))  # type: ignore[arg-type]  # digests, but for a rare descriptor
        except (KeyError, TypeError):  # a digest not in `blobs`, or a descriptor (a dict) of its own
            layers = tuple(_resolve(link, blobs, text, source, digest, f"layers.{i}") for i, link in enumerate(links))
        config = m.get("config")
        manifests[digest] = ManifestRecord(
            m["media_type"],
            m["size_bytes"],
            m["kind"],
            m.get("artifact_type"),
            m.get("platform"),
            m.get("created"),
            None if config is None else _resolve(config, blobs, text, source, digest, "config"),
            layers,
            tuple(map(_child_ref, m.get("children", ()))),
            m.get("pushed_at"),
            m.get("last_pulled_at"),
            m.get("subject"),
        )
    repositories = tuple(
        Repository(r["name"], _tags(r.get("tags", ())), r.get("untagged", ())) for r in parsed.get("repositories", ())
    )
    return _inventory(parsed, repositories, manifests, 2)


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


def _resolve(
    link: BlobLink, blobs: Mapping[str, BlobRef], text: Callable[[], bytes], source: str, digest: str, field: str
) -> BlobRef:
    """The blob LINK names (a digest of BLOBS), or the descriptor it is; unknown: an InputError."""
    if not isinstance(link, str):
        return BlobRef(
            link["media_type"], link["digest"], link["size_bytes"], link.get("foreign", False), link.get("urls", ())
        )
    found = blobs.get(link)
    if found is None:
        line = _line_of_key(text(), "manifests", digest)
        where = f"{source}:{line}" if line else source
        raise InputError(f"{where}: manifests.{digest}.{field}: {link} is not in blobs.")
    return found


def _tags(tags: Iterable[Tag]) -> tuple[TagRef, ...]:
    return tuple([TagRef(t["tag"], t["digest"]) for t in tags])


def _child_ref(c: Child) -> ChildRef:
    return ChildRef(c["media_type"], c["digest"], c["size_bytes"], c.get("platform"), c.get("attestation", False))


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
