"""Drive the registry client concurrently over a namespace into an Inventory; progress events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TypeVar

import httpx

from costcalc.errors import CostcalcError, CredentialsRejected, ManifestError, Unreachable
from costcalc.inventory.model import (
    BlobRef,
    ChildRef,
    Inventory,
    ManifestRecord,
    ScanError,
    build_inventory,
)
from costcalc.reference import Target, parse_target
from costcalc.registry import listing
from costcalc.registry.cache import Cache, open_cache
from costcalc.registry.client import RegistryClient
from costcalc.registry.network import sanitize
from costcalc.registry.oci import IMAGE_CONFIG_TYPES, Descriptor, ParsedManifest, parse_config, parse_manifest
from costcalc.registry.options import ScanOptions as ScanOptions

MAX_INDEX_DEPTH = 8  # nesting has no limit in the spec; real indexes nest once at most

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """A progress snapshot: counts so far (tags_total grows as repositories are listed)."""

    repositories_listed: int
    repositories_done: int
    tags_total: int
    tags_done: int
    manifests_fetched: int
    bytes_seen: int
    errors: int


Progress = Callable[[ScanEvent], None]
_COUNTS = tuple(f.name for f in fields(ScanEvent) if f.name != "errors")


class Tally:
    """A scan's running counts (a registry's or ECR's); every change goes to PROGRESS as a ScanEvent."""

    __slots__ = ("counts", "progress")

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.counts = dict.fromkeys(_COUNTS, 0)

    def emit(self, errors: int, **changes: int) -> None:
        for key, delta in changes.items():
            self.counts[key] += delta
        if self.progress is not None:
            self.progress(ScanEvent(errors=errors, **self.counts))


class _Scanner:
    def __init__(
        self,
        client: RegistryClient,
        cache: Cache | None,
        concurrency: int,
        progress: Progress | None,
    ) -> None:
        self.client = client
        self.cache = cache
        self.concurrency = max(1, concurrency)
        self.records: dict[str, ManifestRecord] = {}
        self.errors: list[ScanError] = []
        self.tags: dict[str, list[tuple[str, str]]] = {}
        self._failed: dict[str, tuple[str | None, str | None, str]] = {}
        # Single flight: one fetch per digest for the whole scan, whoever asks first.
        self._manifests: dict[str, asyncio.Task[ManifestRecord | None]] = {}
        self._configs: dict[str, asyncio.Task[_Config]] = {}
        self._tally = Tally(progress)

    def _emit(self, **changes: int) -> None:
        self._tally.emit(len(self.errors), **changes)

    def _fail(self, repository: str | None, tag: str | None, digest: str | None, exc: CostcalcError) -> None:
        if isinstance(exc, CredentialsRejected):
            # Rejected credentials fail every request alike: one sentence, not one per tag.
            raise exc
        if isinstance(exc, Unreachable) and self.client.answered == 0:
            # Nothing ever answered (DNS, refused, untrusted TLS): the scan as a whole failed,
            # it is not one repository's problem. Once the host has answered, it is data.
            raise Unreachable(f"{self.client.host} cannot be reached; {exc}") from None
        self.errors.append(ScanError(repository=repository, tag=tag, digest=digest, reason=str(exc)))
        if digest is not None:
            self._failed.setdefault(digest, (repository, tag, str(exc)))
        self._emit()

    def attribute_failures(self) -> None:
        """Record a failed child manifest or config against every tag that reaches it.

        A digest is fetched once, for whichever tag asked first; without this, which tag
        carried the error (and whether the others said anything) depended on timing.
        """
        recorded = {(e.repository, e.tag, e.digest) for e in self.errors}
        for repository, pairs in self.tags.items():
            for tag, top in pairs:
                stack, seen = [top], set()
                while stack:
                    digest = stack.pop()
                    if digest in seen:
                        continue
                    seen.add(digest)
                    if digest in self._failed and (repository, tag, digest) not in recorded:
                        reason = self._failed[digest][2]
                        self.errors.append(ScanError(repository=repository, tag=tag, digest=digest, reason=reason))
                        recorded.add((repository, tag, digest))
                    record = self.records.get(digest)
                    if record is not None:
                        stack += [c.digest for c in record.children]
                        stack += [record.config.digest] if record.config else []

    async def cancel_pending(self) -> None:
        """Cancel and settle the single-flight fetches, so none outlives an aborted scan."""
        pending = [t for t in (*self._manifests.values(), *self._configs.values()) if not t.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def listed(self, count: int) -> None:
        self._emit(repositories_listed=count - self._tally.counts["repositories_listed"])

    async def repository(self, name: str) -> None:
        try:
            listed = await self.client.tags(name)
        except CostcalcError as exc:
            self._fail(name, None, None, exc)
            self._emit(repositories_done=1)
            return
        for entry in listed.invalid:
            # Only an escaped, capped form of a bad name may reach a terminal or a report.
            shown = sanitize(ascii(entry), 80)
            reason = f"the tag list holds an invalid tag name {shown}; skipped."
            self.errors.append(ScanError(repository=name, reason=reason))
        self.tags[name] = []
        self._emit(tags_total=len(listed.tags))
        await _each(listed.tags, self.concurrency, lambda tag: self.tag(name, tag))
        self._emit(repositories_done=1)

    async def tag(self, repository: str, tag: str) -> None:
        digest: str | None = None
        try:
            head = await self.client.head_manifest(repository, tag)
            digest = head.digest
            record = await self.manifest(repository, tag, digest, head.body, head.media_type, 0)
            if record is not None:
                self.tags[repository].append((tag, digest))
            elif self._failed[digest][:2] != (repository, tag):
                # Another tag met this manifest first and holds the error; say it here too.
                reason = self._failed[digest][2]
                self.errors.append(ScanError(repository=repository, tag=tag, digest=digest, reason=reason))
        except CostcalcError as exc:
            self._fail(repository, tag, digest, exc)
        finally:
            self._emit(tags_done=1)

    def manifest(
        self,
        repository: str,
        tag: str,
        digest: str,
        body: bytes | None,
        media_type: str | None,
        depth: int,
    ) -> asyncio.Task[ManifestRecord | None]:
        task = self._manifests.get(digest)
        if task is None:
            task = asyncio.ensure_future(self._load_manifest(repository, tag, digest, body, media_type, depth))
            self._manifests[digest] = task
        return task

    async def _load_manifest(
        self,
        repository: str,
        tag: str,
        digest: str,
        body: bytes | None,
        media_type: str | None,
        depth: int,
    ) -> ManifestRecord | None:
        """The record of DIGEST (children and config included), or None with an error recorded."""
        try:
            cached = self.cache.get(digest) if self.cache is not None and body is None else None
            if cached is not None:
                body, media_type = cached.body, cached.media_type
            elif body is None:
                reply = await self.client.get_manifest(repository, digest)
                body = reply.body
                media_type = (reply.headers.get("Content-Type") or "").split(";")[0].strip() or None
                self._emit(manifests_fetched=1)
            parsed = parse_manifest(body, digest, media_type)
            if cached is None and self.cache is not None:
                self.cache.put(digest, body, "manifest", media_type)
            if parsed.children and depth >= MAX_INDEX_DEPTH:
                raise ManifestError(f"manifest {digest} nests indexes deeper than {MAX_INDEX_DEPTH} levels.")
        except CostcalcError as exc:
            self._fail(repository, tag, digest, exc)
            return None
        self._emit(bytes_seen=parsed.size_bytes + sum(d.size_bytes for d in parsed.layers))
        children = [self.manifest(repository, tag, c.digest, None, c.media_type, depth + 1) for c in parsed.children]
        platform = created = None
        # The figures count the size a descriptor claims: a claim the blob belies is refused.
        # Each manifest's own claims are checked here, not in the fetch of the config or child,
        # which is shared by every manifest naming that digest and would check only the first.
        belied: list[str] = []
        if parsed.config is not None and parsed.kind == "image" and parsed.config.media_type in IMAGE_CONFIG_TYPES:
            config = await self.config(repository, tag, parsed.config.digest)
            if config.size_bytes is not None and config.size_bytes != parsed.config.size_bytes:
                said = parsed.config.size_bytes
                belied.append(
                    f"its config {parsed.config.digest} is {config.size_bytes} bytes, but the manifest says {said}"
                )
            platform, created = config.platform, config.created
        loaded = await asyncio.gather(*children)
        belied += [
            f"its child manifest {c.digest} is {child.size_bytes} bytes, but the index says {c.size_bytes}"
            for c, child in zip(parsed.children, loaded, strict=True)
            if child is not None and child.size_bytes != c.size_bytes
        ]
        if belied:
            self._fail(repository, tag, digest, ManifestError(f"manifest {digest}: {belied[0]}."))
            return None
        record = manifest_record(parsed, platform=platform, created=created)
        self.records[digest] = record
        return record

    def config(self, repository: str, tag: str, digest: str) -> asyncio.Task[_Config]:
        task = self._configs.get(digest)
        if task is None:
            task = asyncio.ensure_future(self._load_config(repository, tag, digest))
            self._configs[digest] = task
        return task

    async def _load_config(self, repository: str, tag: str, digest: str) -> _Config:
        """What a config blob says, and its length; nothing but an error recorded on failure."""
        try:
            cached = self.cache.get(digest) if self.cache is not None else None
            body = cached.body if cached is not None else await self.client.get_config(repository, digest)
            config = parse_config(body, digest)
            if cached is None and self.cache is not None:
                self.cache.put(digest, body, "config", None)
        except CostcalcError as exc:
            self._fail(repository, tag, digest, exc)
            return _Config(None, None, None)
        return _Config(config.platform, config.created, len(body))


@dataclass(frozen=True, slots=True)
class _Config:
    """An image config's platform and creation time, and its length (None: it could not be read)."""

    platform: str | None
    created: datetime | None
    size_bytes: int | None


def manifest_record(
    parsed: ParsedManifest, *, platform: str | None = None, created: datetime | None = None
) -> ManifestRecord:
    """The inventory's record of a verified manifest (PLATFORM and CREATED from its config)."""
    return ManifestRecord(
        media_type=parsed.media_type,
        size_bytes=parsed.size_bytes,
        kind=parsed.kind,
        artifact_type=parsed.artifact_type,
        platform=platform,
        created=created,
        config=_blob(parsed.config) if parsed.config else None,
        layers=tuple(_blob(layer) for layer in parsed.layers),
        children=tuple(
            ChildRef(
                media_type=c.media_type,
                digest=c.digest,
                size_bytes=c.size_bytes,
                platform=c.platform,
                attestation=c.attestation,
            )
            for c in parsed.children
        ),
        subject=parsed.subject,
    )


def _blob(descriptor: Descriptor) -> BlobRef:
    return BlobRef(
        media_type=descriptor.media_type,
        digest=descriptor.digest,
        size_bytes=descriptor.size_bytes,
        foreign=descriptor.foreign,
    )


async def _each(items: Iterable[T], limit: int, work: Callable[[T], Awaitable[None]]) -> None:
    """Run WORK over ITEMS with at most LIMIT running at once (a pool, not one task per item)."""
    queue = list(items)[::-1]

    async def worker() -> None:
        while queue:
            await work(queue.pop())

    workers = [asyncio.ensure_future(worker()) for _ in range(min(limit, len(queue)))]
    try:
        await asyncio.gather(*workers)
    finally:
        # A failure that ends the scan stops the other workers too, rather than leaving them
        # to run against a client that is about to close.
        for task in workers:
            task.cancel()


async def scan(
    target: Target,
    options: ScanOptions,
    client: RegistryClient,
    cache: Cache | None,
    progress: Progress | None = None,
) -> Inventory:
    """Scan TARGET's repositories (listed or given) into a deterministic Inventory.

    Requests: list pages, one HEAD per tag, one GET per distinct manifest and per distinct
    image config not already in CACHE; failures of one repository or tag become errors.
    """
    scanner = _Scanner(client, cache, options.concurrency, progress)
    names = await listing.list_repositories(
        target,
        client,
        repos=options.repos,
        repos_file=options.repos_file,
        include=options.include,
        exclude=options.exclude,
        on_page=scanner.listed,
    )
    scanner.listed(len(names))
    try:
        await _each(names, options.concurrency, scanner.repository)
    except BaseException:
        await scanner.cancel_pending()
        raise
    scanner.attribute_failures()
    return build_inventory(
        registry=target.registry,
        namespace=target.namespace,
        scanned_at=datetime.now(UTC),
        tags=scanner.tags,
        manifests=scanner.records,
        errors=scanner.errors,
    )


def make_auth(target: Target, options: ScanOptions) -> tuple[httpx.Auth | None, str]:
    """The registry's httpx.Auth (flags, then docker/podman config files) and who it acts as."""
    from costcalc.registry.challenge import RegistryAuth
    from costcalc.registry.credentials import resolve_credential

    credential = resolve_credential(target.api_host, options.username, options.password)
    identity = f"as {credential.username}" if credential is not None else "anonymously"
    return RegistryAuth(target.api_host, credential, plain_http=options.plain_http), identity


def run_scan(
    target_text: str,
    options: ScanOptions,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Inventory:
    """Parse TARGET_TEXT, open the cache, scan, and return the Inventory (blocking)."""
    target = parse_target(target_text)
    cache = open_cache(options.cache_dir, warn=warn) if options.use_cache else None

    scanned: list[Inventory] = []

    async def main() -> None:
        auth, identity = make_auth(target, options)
        client = RegistryClient(
            target.api_host,
            auth=auth,
            plain_http=options.plain_http,
            transport=transport,
            concurrency=options.concurrency,
            identity=identity,
            warn=warn,
            http1=options.http1,
            ca_file=options.ca_file,
        )
        async with client:
            scanned.append(await scan(target, options, client, cache, progress))

    try:
        # The inventory is handed out through SCANNED, not as the task's result: on the way
        # out, asyncio.run() formats its SIGINT handler's repr, which includes the main task's
        # and so its result's (Python 3.11): formatting the whole inventory, for nothing.
        asyncio.run(main())
        return scanned[0]
    finally:
        if cache is not None:
            cache.close()
