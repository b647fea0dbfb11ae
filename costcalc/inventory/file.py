"""The inventory file: dumps, loads and load, validated piece by piece with shared descriptors (pure)."""

from __future__ import annotations

import gc
import io
import json
import mmap
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC
from itertools import chain, islice
from operator import attrgetter
from pathlib import Path

from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json, to_json

from costcalc.errors import InputError
from costcalc.inventory.model import BlobRef, Inventory, ManifestRecord


def dumps(inventory: Inventory) -> str:
    """The inventory file text: schema_version first, stable order, no credentials."""
    data = inventory.model_dump(mode="json", exclude_defaults=False)
    data["scanned_at"] = inventory.scanned_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # json.dumps with an indent runs its pure-Python encoder (0.08 s for 2,000 tags, seconds for
    # 100,000); pydantic's writes the same text 6 times faster, but leaves non-ASCII characters
    # and DEL unescaped, where json.dumps escapes them: any of those, and json.dumps writes it.
    text = to_json(data, indent=1)
    if text.isascii() and b"\x7f" not in text:
        return text.decode("ascii") + "\n"
    return json.dumps(data, indent=1, ensure_ascii=True) + "\n"


def loads(text: str | bytes, source: str = "<inventory>") -> Inventory:
    """Parse an inventory file; any problem is an InputError naming SOURCE."""
    with _gc_paused():
        inventory = _loads_checked(text, source)
        _share_descriptors(inventory.manifests.values(), {})
    return inventory


def _loads_checked(text: str | bytes, source: str) -> Inventory:
    """The reference loader: pydantic's own JSON validation decides, and words the
    one-sentence error. Every loader either returns what this returns or lets it decide."""
    try:
        return Inventory.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "file"
        message = first["msg"]
        if first["type"] == "unexpected_keyword_argument":
            # A descriptor is a dataclass, whose unknown keys pydantic words as a call's
            # arguments; said as it says it for every other object of the file.
            message = "Extra inputs are not permitted"
        if first["type"] == "json_invalid":
            line = _json_error_line(text if isinstance(text, str) else text.decode("utf-8", "replace"))
            detail = first.get("ctx", {}).get("error", message)
            raise InputError(f"{source}:{line}: not valid JSON: {detail}.") from None
        raise InputError(
            f"{source}: {location}: {message} (and {len(exc.errors()) - 1} more problems)."
            if len(exc.errors()) > 1
            else f"{source}: {location}: {message}."
        ) from None


# A scanned inventory repeats each layer descriptor in every manifest that uses it: the
# 100,000-tag benchmark file holds 871,200 descriptors, 100,120 distinct. Validation makes an
# instance per occurrence; equal ones are then replaced by one shared instance (frozen
# dataclasses, equal in every field). On that file, sharing them (and the fields-sets of
# records and tags, back when those were models) took the loaded inventory from 961 to 375 MiB.


_LAYERS = attrgetter("layers")
# Every field, so that a field added later can never let two unequal descriptors share.
_BLOB_FIELDS = attrgetter(*(field.name for field in fields(BlobRef)))


def _share_descriptors(records: Iterable[ManifestRecord], shared: dict[tuple[object, ...], BlobRef]) -> None:
    """Replace the layer descriptors of RECORDS by the equal instance SHARED holds (or adds)."""
    layered = [record for record in records if record.layers]
    flat = list(chain.from_iterable(map(_LAYERS, layered)))
    # Keyed by the field values, read by one attrgetter at C level.
    keys = map(_BLOB_FIELDS, flat)
    instances = iter(list(map(shared.setdefault, keys, flat)))
    for record in layered:  # a frozen dataclass's field, set as validation set it
        object.__setattr__(record, "layers", tuple(islice(instances, len(record.layers))))


@contextmanager
def _gc_paused() -> Iterator[None]:
    # ~1.5 million objects are created and none is garbage: collections triggered by the
    # allocations would walk them again and again (about a third of the load time).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _json_error_line(text: str) -> int:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.lineno
    return 1


def load(path: Path) -> Inventory:
    """Read an inventory file from PATH."""
    # One pause around the loaders (theirs then leave the collector off): re-enabling it
    # before the freeze would start a collection over the ~1.5 million new objects (~0.2 s).
    with _gc_paused():
        inventory = _load_mapped(path)
        if inventory is None:
            # Decoded as Path.read_text() does (newlines translated); the bytes are dropped once
            # decoded, so a large file is not held twice.
            try:
                text = io.TextIOWrapper(io.BytesIO(_read_bytes(path)), encoding="utf-8").read()
            except UnicodeDecodeError as exc:
                raise InputError(f"{path}: cannot read the inventory file ({exc.__class__.__name__}).") from None
            inventory = loads(text, str(path))
            del text
        # The command keeps this inventory (~1 million objects for 100,000 tags) to the end:
        # freezing it keeps every later garbage collection from walking it again, which
        # otherwise doubles the time of the figures and of the report built from them.
        gc.freeze()
    return inventory


# Validating a 270 MB file whole holds all its bytes and an instance per descriptor occurrence
# (1.48 GiB peak for 100,000 tags). It is validated instead in pieces of ~_PIECE bytes of its
# `manifests` object, each piece's descriptors shared before the next is read, so the unshared
# instances of one piece only exist at a time.
_PIECE = 256 << 10  # measured: pieces of 4 MiB load ~10% slower
_RELEASE = 16 << 20  # bytes of mapped file given back at a time
_MANIFESTS: TypeAdapter[dict[str, ManifestRecord]] = TypeAdapter(dict[str, ManifestRecord])
_MANIFESTS_KEY = b'"manifests": {'
_MANIFESTS_KEY_ANY = re.compile(rb'"manifests"\s*:\s*\{')
# The end of one member of `manifests` and the start of the next: `}`, a comma, a key whose
# value is an object. Inside a valid record only `config` holds an object, and a `}` closes
# either it (no other member's value is an object) or an item of a list (a `,{` or `]` follows),
# so in a valid file these are the members' boundaries; elsewhere a split fails to validate.
_MEMBER_BOUNDARY = re.compile(rb'\}\s*,\s*"[^"\\]*"\s*:\s*\{')
_END_CANDIDATES = 16  # closing braces tried, from the file's end, as the close of `manifests`
_AFTER_A_MEMBER = re.compile(rb'\s*(?:,\s*"|\}|$)')  # what may follow an object's last member


@dataclass(frozen=True)
class _Layout:
    """Where the body of `manifests` lies in a file, and how to find commas between its members.

    Where a comma is looked for only decides whether the pieces come out valid: the body is
    the pieces joined by the commas they were split at, so pieces that are each valid as the
    members of an object make a body that is too, with exactly their members (_load_pieces).
    """

    body_start: int  # just after the `{` of `manifests`
    body_end: int  # where the close of `manifests` begins
    close_length: int  # of that close (a `}`, after a newline and indent for an indented file)
    comma_after: Callable[[int], int]  # the next comma at or after an offset, or -1


def _layout(data: bytes | mmap.mmap) -> _Layout | None:
    return _indented(data) or _unindented(data)


def _indented(data: bytes | mmap.mmap) -> _Layout | None:
    """The layout of a file indented with spaces, as dumps() (1 per level), jq (2) and
    json.dumps(indent=N) write it, read off the indent of the line `manifests` is on."""
    key = data.find(_MANIFESTS_KEY)
    line = data.rfind(b"\n", 0, key) if key >= 0 else -1
    indent = data[line + 1 : key] if line >= 0 else b""
    if not indent or indent.strip(b" "):  # not a line of its own, indented with spaces
        return None
    # Its members are one level deeper: each closes on a line of its own. In a written file the
    # last line at its indent that closes an object closes `manifests` (`errors`, a list,
    # follows it); searched from the end: forward, through 270 MB of lines beginning "\n " (0.23 s).
    body_start = key + len(_MANIFESTS_KEY)
    close, member_end = b"\n" + indent + b"}", b"\n" + indent * 2 + b"},"
    body_end = data.rfind(close, body_start)
    if body_end < 0:
        return None

    def comma_after(offset: int) -> int:
        found = data.find(member_end, offset, body_end)
        return found + len(member_end) - 1 if found >= 0 else -1

    return _Layout(body_start, body_end, len(close), comma_after)


def _unindented(data: bytes | mmap.mmap) -> _Layout | None:
    """The layout of any other file (json.dump's one line, say): members found by _MEMBER_BOUNDARY,
    the close of `manifests` by trying the last closing braces of the file."""
    key = _MANIFESTS_KEY_ANY.search(data)
    if key is None:
        return None
    body_start = key.end()
    body_end = len(data)
    tries = 0
    while tries < _END_CANDIDATES:
        body_end = data.rfind(b"}", body_start, body_end)
        if body_end < 0:
            return None
        if not _AFTER_A_MEMBER.match(data, body_end + 1):  # in a list (`errors`): not a candidate
            continue
        tries += 1
        try:  # what follows the close of `manifests`: the rest of the top-level object
            from_json(b'{"":0' + data[body_end + 1 :])
        except ValueError:
            continue

        def comma_after(offset: int, end: int = body_end) -> int:
            found = _MEMBER_BOUNDARY.search(data, offset, end)
            return found.start() + found.group().index(b",") if found else -1

        return _Layout(body_start, body_end, 1, comma_after)
    return None


def _load_mapped(path: Path) -> Inventory | None:
    """_load_pieces over the file mapped, not read: the pages of the pieces already validated
    are given back as it goes, so the file's bytes are never all resident next to the models."""
    try:
        with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _load_pieces(data)
    except (OSError, ValueError):  # unreadable, empty (cannot be mapped) or not a regular file
        return None  # _read_bytes words the problem, or the reference loader takes the file


def _load_pieces(data: bytes | mmap.mmap) -> Inventory | None:
    """The Inventory of DATA validated piece by piece, or None to let the reference loader decide.

    Each piece is validated as the reference loader validates `manifests` (the same type, in
    JSON mode), and the rest of the file, with `{}` in place of `manifests`, as the reference
    loader validates the whole file. Why the pieces add up to `manifests`: the body of
    `manifests` is the pieces joined by the commas they were split at. If every piece is valid
    as the members of an object, so is the body, and its members are exactly the pieces'
    (a digest in two pieces gives up); a split anywhere else makes some piece invalid, and
    this returns None. (So the close taken need not be the real one: were it not, the piece
    holding the real one would end in trailing characters and fail.) The placeholder must come
    back as the top-level `manifests`: anywhere else, extra="forbid" rejects such a member.
    """
    layout = _layout(data)
    if layout is None:
        return None
    with memoryview(data) as view:  # released before the caller closes the mapping
        return _validate_pieces(data, view, layout)


def _validate_pieces(data: bytes | mmap.mmap, view: memoryview, layout: _Layout) -> Inventory | None:
    """_load_pieces once DATA's layout is known; VIEW is DATA's, for texts copied from it once
    (`b"{" + data[start:end] + b"}"` copies each piece twice: 270 MB more for 100,000 tags)."""
    body_start, body_end = layout.body_start, layout.body_end
    built: dict[str, ManifestRecord] = {}
    shared: dict[tuple[object, ...], BlobRef] = {}
    released = 0  # the mapped pages below this offset are given back
    try:
        start = body_start
        split = -1
        while start < body_end:
            split = layout.comma_after(min(start + _PIECE, body_end))
            end = body_end if split < 0 else split
            piece = _MANIFESTS.validate_json(b"".join((b"{", view[start:end], b"}")))
            if isinstance(data, mmap.mmap) and end - released >= _RELEASE:
                # Read-only file pages: dropped from memory, read again from the file if
                # touched (only the reference loader would). Whole pages only, below this end.
                upto = end - end % mmap.PAGESIZE
                data.madvise(mmap.MADV_DONTNEED, released, upto - released)
                released = upto
            if not piece or not built.keys().isdisjoint(piece):
                return None  # a stray comma (an empty piece), or a digest written twice
            _share_descriptors(piece.values(), shared)
            built.update(piece)
            start = end + 1
        if split >= 0 and start >= body_end:  # the last piece ended at a comma: a trailing one
            return None
        skeleton = Inventory.model_validate_json(
            b"".join((view[: body_start - 1], b"{}", view[body_end + layout.close_length :]))
        )
    except ValueError:  # ValidationError, invalid JSON or too deep among them
        return None
    if skeleton.manifests:  # the placeholder was not what became `manifests`
        return None
    return skeleton.model_copy(update={"manifests": built})


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such inventory file.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the inventory file ({exc.__class__.__name__}).") from None
