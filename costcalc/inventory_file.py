"""The inventory file: dumps, loads and load, with the fast loader that builds shared descriptors (pure)."""

from __future__ import annotations

import gc
import io
import json
import mmap
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC
from itertools import chain, compress, count, islice
from operator import itemgetter, not_
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import from_json

from costcalc.errors import InputError
from costcalc.inventory import BlobRef, ChildRef, Inventory, ManifestRecord


def dumps(inventory: Inventory) -> str:
    """The inventory file text: schema_version first, stable order, no credentials."""
    data = inventory.model_dump(mode="json", exclude_defaults=False)
    data["scanned_at"] = inventory.scanned_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(data, indent=1, ensure_ascii=True) + "\n"


def loads(text: str | bytes, source: str = "<inventory>") -> Inventory:
    """Parse an inventory file; any problem is an InputError naming SOURCE."""
    inventory = _loads_fast(text)
    return inventory if inventory is not None else _loads_checked(text, source)


def _loads_checked(text: str | bytes, source: str) -> Inventory:
    """The reference loader. The fast path gave up (a bad file, or one it cannot vouch for):
    pydantic's own JSON validation decides, and words the one-sentence error, as it always has."""
    try:
        return Inventory.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "file"
        message = first["msg"]
        if first["type"] == "json_invalid":
            line = _json_error_line(text if isinstance(text, str) else text.decode("utf-8", "replace"))
            detail = first.get("ctx", {}).get("error", message)
            raise InputError(f"{source}:{line}: not valid JSON: {detail}.") from None
        raise InputError(
            f"{source}: {location}: {message} (and {len(exc.errors()) - 1} more problems)."
            if len(exc.errors()) > 1 else f"{source}: {location}: {message}."
        ) from None


# -- the fast loader -----------------------------------------------------------------------
#
# A scanned inventory repeats each layer descriptor in every manifest that uses it (the
# 100,000-tag benchmark file holds 871,200 descriptors, 100,120 distinct), and
# Inventory.model_validate_json builds one model instance per occurrence: 9 s and 1.8 GiB.
# The fast loader parses with pydantic's own JSON parser (pydantic_core.from_json, the
# parser model_validate_json uses, so the same texts parse to the same values), validates
# each DISTINCT descriptor once with the same models (Python-mode lax validation of parsed
# JSON values accepts and converts exactly what JSON-mode validation does) and lets the
# manifests share those instances. It returns None whenever it cannot vouch for the result;
# loads() then runs the original validation, so no file is accepted that was rejected before.


_D = TypeVar("_D", BlobRef, ChildRef)
_M = TypeVar("_M", bound=BaseModel)


_BLOB_VALUES = itemgetter("media_type", "digest", "size_bytes", "foreign")
_FIRST, _SECOND, _THIRD, _FOURTH = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(3)

_BLOBS: TypeAdapter[list[BlobRef]] = TypeAdapter(list[BlobRef])
_USUAL_BLOB = ("media_type", "digest", "size_bytes", "foreign")  # its member names (any order)
_set_attribute = object.__setattr__


def _colons(text: object) -> int:
    return cast("str", text).count(":")


_BATCH = 2048  # manifests validated per call
_MANIFESTS: TypeAdapter[dict[str, ManifestRecord]] = TypeAdapter(dict[str, ManifestRecord])


class _GiveUp(Exception):
    """The fast loader cannot vouch for this text: let model_validate_json decide."""


# JSON escapes of a colon; see _Builder (a decoded colon with no colon byte behind it).
_ESCAPED_COLON = re.compile(r"\\u003[aA]")
_ESCAPED_COLON_BYTES = re.compile(rb"\\u003[aA]")


def _loads_fast(text: str | bytes) -> Inventory | None:
    parsed = _parse_fast(text)
    return None if parsed is None else _build_fast(*parsed)


def _parse_fast(text: str | bytes) -> tuple[object, int] | None:
    """The parsed tree and the colons of TEXT, or None if the fast path cannot take TEXT."""
    if not _colons_trustworthy(text):
        return None
    colons = text.count(":") if isinstance(text, str) else text.count(b":")
    with _gc_paused():
        try:
            return from_json(text), colons
        except ValueError:
            return None


def _colons_trustworthy(text: str | bytes | mmap.mmap) -> bool:
    """False if TEXT writes a colon as an escape (which the colon tally cannot see)."""
    # Plain searches first: on 270 MB, looking for a backslash (memchr) takes 0.01 s, for
    # "\\u003" 0.14 s, and the regex ~10 times that. Most files hold no escape at all.
    if isinstance(text, str):
        return "\\" not in text or "\\u003" not in text or _ESCAPED_COLON.search(text) is None
    return (  # find: mmap too
        text.find(b"\\") < 0 or text.find(b"\\u003") < 0 or _ESCAPED_COLON_BYTES.search(text) is None
    )


def _build_fast(tree: object, colons: int, builder: _Builder | None = None) -> Inventory | None:
    """The Inventory of TREE, or None. BUILDER, if given, has built its manifests already."""
    builder = builder or _Builder()
    with _gc_paused():
        try:
            inventory = builder.inventory(tree)
        except (ValueError, RecursionError, _GiveUp):  # ValidationError is a ValueError
            return None
    if builder.tally != colons:  # a duplicate key was dropped by the parser (see _Builder)
        return None
    return inventory


@contextmanager
def _gc_paused() -> Iterator[None]:
    # ~1.5 million containers are created and none is garbage: collections triggered by the
    # allocations would walk them again and again (about a third of the load time).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _str_colons(values: Iterable[object]) -> int:
    return sum([v.count(":") for v in values if type(v) is str])  # a list: faster than a generator


class _Builder:
    """Builds an Inventory from a parsed JSON tree, validating each distinct descriptor once.

    It also counts the colons the tree accounts for (one per object member, plus those inside
    strings). The parser keeps only the last of duplicate keys, whereas model_validate_json
    validates every duplicate entry of `manifests`: if the text holds more colons than the
    tree explains, a member was dropped and loads() falls back. (Colons written as \\u003a
    would skew the count the other way, so _loads_fast gives up on those first.)
    """

    def __init__(self) -> None:
        self.tally = 0
        # The usual descriptor (all four fields, of their exact JSON types) is keyed by its
        # values alone; any other shape by its members and their types (_descriptor).
        self._blobs: dict[tuple[object, ...], tuple[BlobRef, int]] = {}
        self._children: dict[tuple[object, ...], tuple[ChildRef, int]] = {}
        # Every instance validated from the same member names has the same fields-set; one
        # shared set instead of one per instance saves ~700 bytes per manifest. (Frozen models
        # never change it, and model_copy copies it before updating.)
        self._fields_sets: dict[tuple[str, ...], set[str]] = {}
        self.built: dict[str, ManifestRecord] | None = None  # the manifests, if built in pieces

    def inventory(self, tree: object) -> Inventory:
        if type(tree) is not dict:
            raise _GiveUp
        fields = dict(tree)
        self.tally += len(tree) + _str_colons(tree.values())
        manifests = tree.get("manifests")
        if self.built is not None:  # by _load_pieces, which put {} in their place in TREE
            if manifests != {}:
                raise _GiveUp
            fields["manifests"] = self.built
        elif type(manifests) is dict:
            fields["manifests"] = self.manifests(manifests)
        for name in ("repositories", "errors"):  # small: counted generically, validated by pydantic
            self.tally += _json_colons(tree.get(name))
        return Inventory.model_validate(fields)

    def manifests(
        self, raw: dict[str, object], into: dict[str, ManifestRecord] | None = None
    ) -> dict[str, ManifestRecord]:
        """Validate the manifests of RAW (digest -> record) into INTO, emptying RAW as it goes.

        A batch of records at a time: its descriptors are swapped for shared instances, then
        pydantic validates the batch in one call (no Python call per record or config), and
        the batch's parsed tree is freed before the next, so the tree and the models are never
        held in full at once (the models reuse the memory the tree gives back).
        """
        result: dict[str, ManifestRecord] = {} if into is None else into
        keys = list(raw)
        self.tally += len(keys) + _str_colons(keys)
        for start in range(0, len(keys), _BATCH):
            batch = {digest: raw.pop(digest) for digest in keys[start : start + _BATCH]}
            records: list[Any] = list(batch.values())  # checked to be dicts next
            if set(map(type, records)) != {dict}:
                raise _GiveUp
            self._all_layers(records)
            for record in records:
                children = record.get("children")
                if type(children) is list:
                    record["children"] = tuple([self._descriptor(d, self._children, ChildRef) for d in children])
            # The colons of the records but those of their shared descriptors (counted above).
            self.tally += _json_colons(records)
            validated = _MANIFESTS.validate_python(batch)
            sets = self._fields_sets  # _share_fields_set, inline (a call per record costs ~0.1 s)
            for record, model in zip(records, validated.values(), strict=True):
                names = tuple(record)
                shared = sets.get(names)
                if shared is None:
                    shared = sets[names] = model.__pydantic_fields_set__
                _set_attribute(model, "__pydantic_fields_set__", shared)
                config = model.config
                if config is not None:
                    names = tuple(record["config"])  # validated: an object
                    shared = sets.get(names)
                    if shared is None:
                        shared = sets[names] = config.__pydantic_fields_set__
                    _set_attribute(config, "__pydantic_fields_set__", shared)
            result.update(validated)
        return result

    def _all_layers(self, records: list[dict[str, object]]) -> None:
        """Put shared descriptor instances in place of the `layers` of RECORDS (checked dicts).

        The hot path: 871,200 descriptors in the 100,000-tag file, 100,120 distinct. The
        batch's descriptors are checked and looked up all at once, by C-level maps, with no
        Python code per descriptor: every one an object of exactly the four usual members,
        its size exactly an int and `foreign` exactly a bool (type(), not isinstance: True is
        an int, and 1, 1.0 and True are equal and hash alike in Python but are different JSON
        inputs that must not share a validation). Any other batch takes _layers, record by record.
        """
        lists = [(raw, layers) for raw in records if type(layers := raw.get("layers")) is list]
        flat = list(chain.from_iterable([layers for _, layers in lists]))
        keys = self._usual_blob_keys(flat)
        if keys is None:
            for raw, layers in lists:
                raw["layers"] = self._layers(layers)
            return
        blobs = self._blobs
        try:
            hits: list[Any] = list(map(blobs.get, keys))
        except TypeError:  # an unhashable (list or object) digest or media type: never valid
            raise _GiveUp from None
        if None in hits:  # new descriptors: validated in one call, each distinct one once
            misses = list(compress(count(), map(not_, hits)))  # (a hit is a non-empty tuple)
            new: dict[tuple[object, ...], object] = {}
            for index in misses:
                new.setdefault(keys[index], flat[index])
            shared = self._fields_sets.setdefault(_USUAL_BLOB, set(_USUAL_BLOB))
            for key, model in zip(new, _BLOBS.validate_python(list(new.values())), strict=True):
                _set_attribute(model, "__pydantic_fields_set__", shared)
                # All four members, a str media type and digest (validated): its colons are known.
                blobs[key] = model, 4 + _colons(key[0]) + _colons(key[1])
            for index in misses:  # the misses only: looking all keys up again took ~0.06 s
                hits[index] = blobs[keys[index]]
        self.tally += sum(map(_SECOND, hits))
        models = iter(list(map(_FIRST, hits)))
        for raw, layers in lists:
            raw["layers"] = tuple(islice(models, len(layers)))

    @staticmethod
    def _usual_blob_keys(flat: list[Any]) -> list[tuple[object, ...]] | None:
        """The value tuples of FLAT, if every one is a usual blob descriptor (see _blob_key)."""
        if not flat or set(map(type, flat)) != {dict} or set(map(len, flat)) != {4}:
            return None
        try:
            keys: list[tuple[object, ...]] = list(map(_BLOB_VALUES, flat))
        except KeyError:
            return None
        if set(map(type, map(_THIRD, keys))) != {int} or not set(map(type, map(_FOURTH, keys))) <= {bool}:
            return None
        return keys

    def _layers(self, layers: list[object]) -> tuple[BlobRef, ...]:
        # The hot loop: 871,200 descriptors in the 100,000-tag file, 100,120 distinct. A usual
        # descriptor (four members) is found by the tuple of its values, inline: a call per
        # descriptor would cost as much as the rest of the loop.
        blobs = self._blobs
        found: list[BlobRef] = []
        tally = 0
        for raw in layers:
            try:
                key = (raw["media_type"], raw["digest"], raw["size_bytes"], raw["foreign"])  # type: ignore[index]
                hit = blobs.get(key) if type(key[2]) is int and type(key[3]) is bool and len(raw) == 4 else None  # type: ignore[arg-type]
            except (KeyError, TypeError):  # not a usual descriptor (TypeError: not an object)
                hit = None
            if hit is None:  # a new descriptor, or another shape: _blob decides
                found.append(self._blob(raw))
                continue
            tally += hit[1]
            found.append(hit[0])
        self.tally += tally
        return tuple(found)

    @staticmethod
    def _blob_key(raw: object) -> tuple[object, ...] | None:
        """The four values of a usual blob descriptor, each of exactly its JSON type, else None.

        type() checks, not isinstance: True is an int, and 1, 1.0 and True are equal (and hash
        alike) in Python but different JSON inputs that must not share a validation. A digest
        or media type that is not a string fails validation, so those need no check.
        """
        if type(raw) is not dict or len(raw) != 4:
            return None
        try:
            key = (raw["media_type"], raw["digest"], raw["size_bytes"], raw["foreign"])
        except KeyError:
            return None
        return key if type(key[2]) is int and type(key[3]) is bool else None

    def _blob(self, raw: object) -> BlobRef:
        key = self._blob_key(raw)
        if key is None:  # any other shape: keyed by members and types (never equal to a key above)
            return self._descriptor(raw, self._blobs, BlobRef)
        try:
            hit = self._blobs.get(key)
        except TypeError:  # an unhashable (list or object) digest or media type: never valid
            raise _GiveUp from None
        if hit is None:
            hit = self._blobs[key] = self._validate(cast("dict[str, object]", raw), BlobRef)
        self.tally += hit[1]
        return hit[0]

    def _descriptor(
        self, raw: object, cache: dict[tuple[object, ...], tuple[_D, int]], model: type[_D]
    ) -> _D:
        if type(raw) is not dict:
            raise _GiveUp
        fields: dict[str, object] = cast("dict[str, object]", raw)
        try:
            # Members and their types: 1, 1.0 and True are equal (and hash alike) in Python
            # but are different JSON inputs, so they must not share a validation. (These keys
            # begin with a (name, value) pair, so they never equal a key of _blob's.)
            key = (*fields.items(), *map(type, fields.values()))
            hit = cache.get(key)
        except TypeError:  # a nested list or object: never a valid descriptor
            raise _GiveUp from None
        if hit is None:
            hit = cache[key] = self._validate(fields, model)
        self.tally += hit[1]
        return hit[0]

    def _validate(self, fields: dict[str, object], model: type[_D]) -> tuple[_D, int]:
        """A new distinct descriptor: its model, and the colons each occurrence accounts for."""
        instance = self._share_fields_set(model.model_validate(fields), fields)
        return instance, len(fields) + _str_colons(fields.values())

    def _share_fields_set(self, instance: _M, fields: Mapping[str, object]) -> _M:
        names = tuple(fields)
        shared = self._fields_sets.setdefault(names, instance.__pydantic_fields_set__)
        object.__setattr__(instance, "__pydantic_fields_set__", shared)
        return instance


def _json_colons(value: object) -> int:
    """Object members plus colons inside strings (keys and values) of a parsed JSON value.

    Level by level, with C-level maps and filters and no Python code per value. (The parser
    makes exact dicts, lists and strs, never subclasses, so isinstance picks them exactly;
    other values, such as the tuples of shared models _Builder puts in, count nothing.)
    """
    total = 0
    level: list[Any] = [value]
    while level:
        total += "".join(filter(_IS_STR, level)).count(":")  # joining makes no colon
        dicts: list[dict[str, Any]] = list(filter(_IS_DICT, level))
        total += sum(map(len, dicts)) + "".join(chain.from_iterable(dicts)).count(":")
        level = [*chain.from_iterable(map(dict.values, dicts)), *chain.from_iterable(filter(_IS_LIST, level))]
    return total


_IS_STR: Callable[[Any], Any] = str.__instancecheck__
_IS_DICT: Callable[[Any], Any] = dict.__instancecheck__
_IS_LIST: Callable[[Any], Any] = list.__instancecheck__


def _json_error_line(text: str) -> int:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.lineno
    return 1


def load(path: Path) -> Inventory:
    """Read an inventory file from PATH."""
    # A file as dumps() writes it is built piece by piece from the mapped file. Anything else
    # is parsed whole from its bytes, not text: the parser reads UTF-8 itself, and a decoded
    # copy of a large file would double the peak memory. The bytes are dropped once parsed
    # (the reference loader, if needed, reads the file again).
    inventory = _load_frozen(path)
    if inventory is not None:
        return inventory
    try:  # decoded as Path.read_text() does (newlines translated), for the reference loader
        text = io.TextIOWrapper(io.BytesIO(_read_bytes(path)), encoding="utf-8").read()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot read the inventory file ({exc.__class__.__name__}).") from None
    return _loads_checked(text, str(path))


def _load_frozen(path: Path) -> Inventory | None:
    """The fast loaders' Inventory of PATH, frozen out of the collector's reach; or None."""
    # One pause around both loaders (theirs then leave the collector off): re-enabling it
    # before the freeze would start a collection over the ~1.5 million new objects (~0.2 s).
    with _gc_paused():
        inventory = _load_mapped(path)
        if inventory is None:
            parsed = _parse_fast(_read_bytes(path))
            inventory = None if parsed is None else _build_fast(*parsed)
            del parsed
        if inventory is not None:
            # The command keeps this inventory (~1 million objects for 100,000 tags) to the end:
            # freezing it keeps every later garbage collection from walking it again, which
            # otherwise doubles the time of the figures and of the report built from them.
            gc.freeze()
    return inventory


# Parsing a 270 MB file whole builds ~450 MB of dicts next to its bytes before the first model
# exists. A file as dumps() writes it (indent=1) is instead parsed in pieces of ~_PIECE bytes of
# its `manifests` object, each piece built into models and freed before the next is parsed.
_PIECE = 256 << 10  # measured: smaller pieces load faster (their tree stays in cache), 4 MiB ~25% slower
_RELEASE = 16 << 20  # bytes of mapped file given back at a time
_MANIFESTS_OPEN = b'\n "manifests": {'
# indent 1: in a written file, the last one closes `manifests` (`errors`, a list, follows it).
# Searched from the end: forward, through 270 MB of lines that begin with "\n " (0.23 s).
_MANIFESTS_CLOSE = b"\n }"
_RECORD_END = b"\n  },"  # indent 2: a comma between two members of `manifests`


def _load_mapped(path: Path) -> Inventory | None:
    """_load_pieces over the file mapped, not read: the pages of the pieces already built are
    given back as it goes, so the file's bytes are never all resident next to the models."""
    try:
        with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _load_pieces(data)
    except (OSError, ValueError):  # unreadable, empty (cannot be mapped) or not a regular file
        return None  # _read_bytes words the problem, or the whole-tree path takes the file


def _load_pieces(data: bytes | mmap.mmap) -> Inventory | None:
    """The Inventory of DATA parsed piece by piece, or None to let the whole-tree path decide.

    Why the pieces add up to the file: a raw newline is never inside a JSON string, so each
    split point is the closing brace and comma tokens of *some* object. If every piece parses
    as the members of an object, the commas were between members of `manifests` itself, and
    `manifests` is exactly the union of the pieces; otherwise (a file laid out differently)
    this returns None. (So the close taken need not be the first: were it not the real one,
    the piece holding the real one would end in trailing characters and fail to parse.) The
    rest of the file, with `{}` in place of `manifests`, parses to the same tree as the whole
    file would, and the placeholder is checked to be the top-level `manifests` (anywhere
    else, extra="forbid" rejects a `manifests` member).
    """
    opening = data.find(_MANIFESTS_OPEN)
    if opening < 0 or not _colons_trustworthy(data):
        return None
    body_start = opening + len(_MANIFESTS_OPEN)
    body_end = data.rfind(_MANIFESTS_CLOSE, body_start)
    if body_end < 0:
        return None
    builder = _Builder()
    built = builder.built = {}
    colons = 0  # of the pieces and the rest: the whole file's (the commas between have none)
    released = 0  # the mapped pages below this offset are given back
    with _gc_paused():
        try:
            start = body_start
            split = -1
            while start < body_end:
                split = data.find(_RECORD_END, min(start + _PIECE, body_end), body_end)
                end = body_end if split < 0 else split + len(_RECORD_END) - 1  # before the comma
                text = data[start:end]
                colons += text.count(b":")
                piece = from_json(b"{" + text + b"}")
                del text
                if isinstance(data, mmap.mmap) and end - released >= _RELEASE:
                    # Read-only file pages: dropped from memory, read again from the file if
                    # touched (only the fallback would). Whole pages only, below this piece's end.
                    upto = end - end % mmap.PAGESIZE
                    data.madvise(mmap.MADV_DONTNEED, released, upto - released)
                    released = upto
                if type(piece) is not dict or not piece:  # empty: a stray comma the file cannot hold
                    return None
                expected = len(built) + len(piece)
                builder.manifests(piece, built)
                if len(built) != expected:  # a digest repeated across pieces: the reference decides
                    return None
                start = end + 1
            if split >= 0 and start >= body_end:  # the last piece ended at a comma: a trailing one
                return None
            rest = data[: body_start - 1] + b"{}" + data[body_end + len(_MANIFESTS_CLOSE) :]
            colons += rest.count(b":")
            skeleton = from_json(rest)
            del rest
        except (ValueError, RecursionError, _GiveUp):
            return None
    return _build_fast(skeleton, colons, builder)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such inventory file.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the inventory file ({exc.__class__.__name__}).") from None
