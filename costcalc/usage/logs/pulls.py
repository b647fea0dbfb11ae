"""Pull counting: which requests make a pull, cold or warm, and the bytes served per repository and class.

A pull is a manifest GET (not HEAD), by tag or digest, answered 2xx. The blobs the same client
(address and user agent) then fetches from the same repository, before its next pull there and
within `WINDOW_SECONDS` of its previous fetch, belong to that pull. A manifest GET by digest that
follows a pull before any blob (an index, then its platform's manifest) is part of that pull, and a
HEAD by tag just before a GET by digest (how containerd resolves a tag) names the tag pulled.

Cold or warm is judged per repository and reference at the end: a pull that fetched no blob, or
less than half of what the fullest pull of the same reference fetched, found most layers already
there (warm); the others are cold. Half of the bytes where every such pull's sizes are known,
else half of the blobs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from costcalc.reference import is_valid_digest
from costcalc.usage.logs.lookup import InventoryLookup
from costcalc.usage.logs.measured import ClassUsage, Measurement, RepositoryUsage
from costcalc.usage.logs.networks import Networks
from costcalc.usage.logs.request import Request

WINDOW_SECONDS = 600.0
CHILD_SECONDS = 60.0  # an index's platform manifest, or a HEAD's digest, is fetched right after it
_SWEEP_EVERY = 1 << 14  # requests between sweeps of pulls whose client went quiet

_Client = tuple[str, str, str]  # address, user agent, repository


@dataclass(slots=True)
class _Pull:
    source: str
    reference: str
    tag: str | None
    platform: str | None
    last: float
    blobs: int = 0
    blob_bytes: int = 0
    unknown: int = 0  # blobs of unknown size


class _Shape(NamedTuple):
    """What makes pulls alike: counted together, judged cold or warm together."""

    repository: str
    source: str
    reference: str
    tag: str | None
    platform: str | None
    blobs: int
    blob_bytes: int
    unknown: int


@dataclass(slots=True)
class _Served:
    requests: int = 0
    size_bytes: int = 0
    unknown: int = 0  # requests whose bytes no log field or inventory tells


@dataclass(slots=True)
class PullCounter:
    """Feed it requests in log order (`add`), then read the `measurement`."""

    networks: Networks
    lookup: InventoryLookup | None = None
    start: float | None = None
    end: float | None = None
    unattributed_blobs: int = 0
    _open: dict[_Client, _Pull] = field(default_factory=dict)
    _heads: dict[_Client, tuple[str, float]] = field(default_factory=dict)
    _shapes: Counter[_Shape] = field(default_factory=Counter)
    _served: dict[tuple[str, str], _Served] = field(default_factory=dict)
    _seen: int = 0

    def add(self, request: Request) -> None:
        """Count REQUEST: its time always, its bytes and pull if it is a manifest or blob download."""
        moment = request.time
        if self.start is None or moment < self.start:
            self.start = moment
        if self.end is None or moment > self.end:
            self.end = moment
        if request.kind == "other" or not request.succeeded or request.method not in ("GET", "HEAD"):
            return
        self._seen += 1
        if self._seen % _SWEEP_EVERY == 0:
            self._sweep(moment)
        client = (request.client, request.agent, request.repository)
        if request.method == "HEAD":
            if request.kind == "manifest" and not is_valid_digest(request.reference):
                self._heads[client] = (request.reference, moment)
            return
        source = self.networks.source_class(request.client)
        size = self._size(request)
        served = self._served.setdefault((request.repository, source), _Served())
        served.requests += 1
        if size is None:
            served.unknown += 1
        else:
            served.size_bytes += size
        pull = self._open.get(client)
        if pull is not None and moment - pull.last > WINDOW_SECONDS:
            self._close(client, pull)
            pull = None
        if request.kind == "blob":
            if pull is None:
                self.unattributed_blobs += 1
                return
            pull.last = moment
            pull.blobs += 1
            if size is None:
                pull.unknown += 1
            else:
                pull.blob_bytes += size
            return
        is_digest = is_valid_digest(request.reference)  # a tag may begin with sha: sha-1a2b3c4
        if pull is not None and is_digest and pull.blobs == 0 and moment - pull.last <= CHILD_SECONDS:
            pull.last = moment  # the platform manifest of the index this pull fetched
            pull.platform = self._platform(request) or pull.platform
            return
        if pull is not None:
            self._close(client, pull)
        tag = None if is_digest else request.reference
        head = self._heads.pop(client, None)
        if tag is None and head is not None and moment - head[1] <= CHILD_SECONDS:
            tag = head[0]
        if tag is None and self.lookup is not None:
            tag = self.lookup.tag(request.repository, request.reference)
        self._open[client] = _Pull(source, request.reference, tag, self._platform(request), moment)

    def measurement(self) -> Measurement:
        """What was counted: pulls closed, cold and warm, per repository and class."""
        for client, pull in list(self._open.items()):
            self._close(client, pull)
        fullest: dict[tuple[str, str], tuple[int, int, bool]] = {}
        for shape in self._shapes:
            key = (shape.repository, shape.reference)
            most_blobs, most_bytes, any_unknown = fullest.get(key, (0, 0, False))
            fullest[key] = (
                max(most_blobs, shape.blobs),
                max(most_bytes, shape.blob_bytes),
                any_unknown or shape.unknown > 0,
            )
        counts: dict[tuple[str, str], list[int]] = {}  # cold, warm
        tags: dict[str, Counter[str]] = {}
        platforms: dict[str, Counter[str]] = {}
        for shape, count in self._shapes.items():
            most_blobs, most_bytes, any_unknown = fullest[(shape.repository, shape.reference)]
            # bytes where every pull of the reference had known sizes, else the number of blobs
            warm = shape.blobs == 0 or (
                shape.blobs * 2 < most_blobs if any_unknown else shape.blob_bytes * 2 < most_bytes
            )
            tally = counts.setdefault((shape.repository, shape.source), [0, 0])
            tally[1 if warm else 0] += count
            if shape.tag is not None:
                tags.setdefault(shape.repository, Counter())[shape.tag] += count
            if shape.platform is not None:
                platforms.setdefault(shape.repository, Counter())[shape.platform] += count
        keys = sorted(set(counts) | set(self._served))
        repositories: dict[str, list[ClassUsage]] = {}
        for repository, source in keys:
            cold_pulls, warm_pulls = counts.get((repository, source), [0, 0])
            served = self._served.get((repository, source), _Served())
            repositories.setdefault(repository, []).append(
                ClassUsage(source, cold_pulls, warm_pulls, served.requests, served.size_bytes, served.unknown)
            )
        return Measurement(
            start=self.start,
            end=self.end,
            repositories=tuple(
                RepositoryUsage(name, tuple(classes), _by_count(tags.get(name)), _by_count(platforms.get(name)))
                for name, classes in repositories.items()
            ),
            unattributed_blobs=self.unattributed_blobs,
        )

    def _size(self, request: Request) -> int | None:
        if request.size_bytes is not None and 200 <= request.status < 300:
            return request.size_bytes
        if self.lookup is None:
            return None
        return self.lookup.size_bytes(request.repository, request.reference)

    def _platform(self, request: Request) -> str | None:
        return None if self.lookup is None else self.lookup.platform(request.repository, request.reference)

    def _close(self, client: _Client, pull: _Pull) -> None:
        """Record PULL as one of its shape: repository, class, reference, tag and blobs fetched."""
        del self._open[client]
        self._shapes[
            _Shape(
                client[2],
                pull.source,
                pull.reference,
                pull.tag,
                pull.platform,
                pull.blobs,
                pull.blob_bytes,
                pull.unknown,
            )
        ] += 1

    def _sweep(self, now: float) -> None:
        """Close the pulls of clients quiet for longer than the window, so memory follows live clients."""
        for client, pull in list(self._open.items()):
            if now - pull.last > WINDOW_SECONDS:
                self._close(client, pull)
        for client, (_, moment) in list(self._heads.items()):
            if now - moment > CHILD_SECONDS:
                del self._heads[client]


def _by_count(counter: Counter[str] | None) -> tuple[tuple[str, int], ...]:
    """COUNTER's items, most counted first (ties by name)."""
    return tuple(sorted((counter or Counter()).items(), key=lambda item: (-item[1], item[0])))
