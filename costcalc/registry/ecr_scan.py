"""Scan Amazon ECR through its API into an Inventory: every repository, every image, tagged or not.

Requests, at least and at most: DescribeRepositories, one page per 1,000 repositories
(none when the repositories are named); DescribeImages, one page per 1,000 images of each
repository (one for an empty one); BatchGetImage, one call per 100 distinct manifests of a
repository not already in the cache (a manifest in several repositories is fetched once);
DescribeRegistry once, only for `ecr://` when no listed repository names the account.
Nothing else: ECR's layers and configs are not read (manifests give the sizes, ECR gives
the push and last-pull times).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from costcalc.errors import CostcalcError, CredentialsRejected, ManifestError, Unreachable
from costcalc.inventory.model import Inventory, ManifestRecord, ScanError, build_inventory
from costcalc.reference import Target, is_valid_digest, is_valid_repository
from costcalc.registry.cache import Cache, open_cache
from costcalc.registry.ecr import BATCH_SIZE, Connection, EcrTarget, OnCall, connect, parse_ecr_target
from costcalc.registry.listing import named_repositories, select
from costcalc.registry.network import sanitize
from costcalc.registry.oci import MANIFEST_ACCEPT, parse_manifest
from costcalc.registry.options import ScanOptions
from costcalc.registry.scan import Progress, Tally, manifest_record

MAX_INDEX_DEPTH = 8  # as the registry scan: real indexes nest once at most

T = TypeVar("T")
R = TypeVar("R")


_Fetched = tuple[dict[str, tuple[bytes, str | None]], dict[str, str]]  # bodies and failures, by digest


@dataclass(frozen=True, slots=True)
class EcrImage:
    """One image of a repository as DescribeImages reports it."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime | None
    last_pulled_at: datetime | None
    media_type: str | None


@dataclass
class _Scan:
    connection: Connection
    cache: Cache | None
    concurrency: int
    images: dict[str, list[EcrImage]] = field(default_factory=dict)
    records: dict[str, ManifestRecord] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # digest -> reason
    errors: list[ScanError] = field(default_factory=list)
    tally: Tally = field(default_factory=lambda: Tally(None))

    def run(self, work: Callable[[T], R], items: Sequence[T]) -> Iterator[R | CostcalcError]:
        """WORK over ITEMS on up to `concurrency` threads, each result (or its CostcalcError) in
        the order of ITEMS as soon as it is there.

        Only API calls run on the threads: the cache (one SQLite connection) stays on this one.
        """

        def guarded(item: T) -> R | CostcalcError:
            try:
                return work(item)
            except CostcalcError as exc:
                return exc

        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(items)))) as pool:
            for result in pool.map(guarded, items):
                # Rejected credentials or an unreachable API fail every call alike: stop on the first.
                if isinstance(result, CredentialsRejected | Unreachable):
                    pool.shutdown(cancel_futures=True)
                    raise result
                yield result

    def emit(self, **changes: int) -> None:
        self.tally.emit(len(self.errors), **changes)

    def describe(self, names: Sequence[str]) -> None:
        for name, result in zip(names, self.run(self._describe, names), strict=True):
            if isinstance(result, CostcalcError):
                self.errors.append(ScanError(repository=name, reason=str(result)))
                self.emit(repositories_done=1)
            else:
                self.images[name] = result
                self.emit(repositories_done=1, tags_total=sum(len(image.tags) for image in result))

    def _describe(self, name: str) -> list[EcrImage]:
        found = []
        for page in self.connection.paginate("describe_images", repositoryName=name):
            for detail in page.get("imageDetails", ()):
                if not is_valid_digest(detail.get("imageDigest")):
                    shown = sanitize(ascii(detail.get("imageDigest")), 80)
                    reason = f"ECR DescribeImages listed an image with the invalid digest {shown}; skipped."
                    self.errors.append(ScanError(repository=name, reason=reason))
                    continue
                found.append(
                    EcrImage(
                        digest=str(detail["imageDigest"]),
                        tags=tuple(sorted(detail.get("imageTags") or ())),
                        pushed_at=_utc(detail.get("imagePushedAt")),
                        last_pulled_at=_utc(detail.get("lastRecordedPullTime")),
                        media_type=detail.get("imageManifestMediaType"),
                    )
                )
        return found

    def fetch(self) -> None:
        """Every manifest the images name (and their children): from the cache, else BatchGetImage."""
        wanted: dict[str, tuple[str, str | None]] = {}  # digest -> (repository to ask, media type)
        for name, images in self.images.items():
            for image in images:
                wanted.setdefault(image.digest, (name, image.media_type))
        for _ in range(MAX_INDEX_DEPTH + 1):
            asks: dict[str, list[str]] = {}
            for digest, (name, media_type) in sorted(wanted.items()):
                cached = self.cache.get(digest) if self.cache is not None else None
                if cached is None:
                    asks.setdefault(name, []).append(digest)
                else:
                    self._record(name, digest, cached.body, cached.media_type or media_type, from_cache=True)
            batches = [
                (name, tuple(ds[i : i + BATCH_SIZE]))
                for name, ds in asks.items()
                for i in range(0, len(ds), BATCH_SIZE)
            ]
            for (name, digests), result in zip(batches, self.run(self._batch_get, batches), strict=True):
                if isinstance(result, CostcalcError):
                    for digest in digests:
                        self._fail(name, digest, str(result))
                    continue
                bodies, failures = result
                self.emit(manifests_fetched=len(bodies))
                for digest, (body, media_type) in bodies.items():
                    self._record(name, digest, body, media_type or wanted[digest][1], from_cache=False)
                for digest, reason in failures.items():
                    self._fail(name, digest, reason)
            wanted = {
                child.digest: (name, child.media_type)
                for digest, (name, _) in wanted.items()
                if digest in self.records
                for child in self.records[digest].children
                if child.digest not in self.records and child.digest not in self.failed
            }
            if not wanted:
                return
        for digest, (name, _) in wanted.items():
            self._fail(name, digest, f"manifest {digest} nests indexes deeper than {MAX_INDEX_DEPTH} levels.")

    def _batch_get(
        self, batch: tuple[str, tuple[str, ...]]
    ) -> tuple[dict[str, tuple[bytes, str | None]], dict[str, str]]:
        name, digests = batch
        reply = self.connection.call(
            "batch_get_image",
            repositoryName=name,
            imageIds=[{"imageDigest": d} for d in digests],
            acceptedMediaTypes=MANIFEST_ACCEPT.split(", "),
        )
        bodies: dict[str, tuple[bytes, str | None]] = {}
        for image in reply.get("images", ()):
            digest = str(image.get("imageId", {}).get("imageDigest", ""))
            if digest in digests:
                bodies[digest] = (str(image.get("imageManifest", "")).encode(), image.get("imageManifestMediaType"))
        failures = {}
        for failure in reply.get("failures", ()):
            digest = str(failure.get("imageId", {}).get("imageDigest", ""))
            if digest in digests and digest not in bodies:
                code, reason = failure.get("failureCode", "Failure"), failure.get("failureReason", "")
                failures[digest] = f"ECR BatchGetImage: {code}: {reason}".rstrip(": ") + "."
        for digest in digests:
            if digest not in bodies and digest not in failures:
                failures[digest] = f"ECR BatchGetImage returned neither manifest {digest} nor a failure for it."
        return bodies, failures

    def _record(self, name: str, digest: str, body: bytes, media_type: str | None, *, from_cache: bool) -> None:
        try:
            parsed = parse_manifest(body, digest, media_type)
        except ManifestError as exc:
            self._fail(name, digest, str(exc))
            return
        if not from_cache and self.cache is not None:
            self.cache.put(digest, body, "manifest", media_type)
        self.records[digest] = manifest_record(parsed)
        self.emit(bytes_seen=parsed.size_bytes + sum(d.size_bytes for d in parsed.layers))

    def _fail(self, name: str, digest: str, reason: str) -> None:
        if digest not in self.failed:
            self.failed[digest] = reason
            self.errors.append(ScanError(repository=name, digest=digest, reason=reason))


def _utc(value: object) -> datetime | None:
    """An aware UTC datetime from boto3's timestamp (already a datetime), else None."""
    if not isinstance(value, datetime):
        return None
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)


def _repositories(connection: Connection, target: EcrTarget, options: ScanOptions) -> tuple[list[str], str | None]:
    """The repositories to scan (sorted) and the registry id ECR reported, if it listed any.

    Names given (--repo, --repos-file) are scanned as given, without a listing: one that does
    not exist is an error entry of the scan. Either way --include and --exclude filter.
    """
    named = Target(registry="ecr", namespace=target.namespace)
    explicit = named_repositories(named, options.repos, options.repos_file)
    if explicit:
        return select(explicit, options.include, options.exclude), None
    names, registry_id = [], None
    for page in connection.paginate("describe_repositories"):
        for repository in page.get("repositories", ()):
            name = str(repository.get("repositoryName", ""))
            registry_id = registry_id or repository.get("registryId")
            if is_valid_repository(name) and target.holds(name):
                names.append(name)
    return select(names, options.include, options.exclude), registry_id


def _registry(connection: Connection, target: EcrTarget, registry_id: str | None) -> str:
    account = target.account or registry_id
    if account is None:  # an empty registry names no account: ask ECR whose it is
        account = str(connection.call("describe_registry")["registryId"])
    return target.registry_host(account, connection.region)


def scan_ecr(
    target: EcrTarget | str,
    options: ScanOptions | None = None,
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    warn: Callable[[str], None] | None = None,
    on_call: OnCall | None = None,
    session: Any = None,
    progress: Progress | None = None,
) -> Inventory:
    """Scan TARGET (an EcrTarget or its text) through the ECR API into an Inventory (blocking).

    Every image of every repository under the prefix, tagged or not: an untagged manifest is
    listed under its repository's `untagged` (an index's platform manifests go with their
    index), and each manifest carries ECR's push and last-pull times (a manifest in several
    repositories: its earliest push and latest pull).

    OPTIONS: repositories named or filtered, concurrency, cache, as for a registry scan
    (the HTTP and credential options do not apply: boto3 has its own).
    Credentials come from the standard AWS chain (PROFILE if given); ENDPOINT_URL replaces
    ECR's own (tests, VPC endpoints). ON_CALL is called with each request's API name.
    SESSION, a boto3.Session, replaces the one made from PROFILE. PROGRESS gets the registry
    scan's events (the tags are done when their manifests are, at the end).
    """
    parsed = parse_ecr_target(target) if isinstance(target, str) else target
    if parsed is None:
        raise CostcalcError(
            f"{target!r} is not an Amazon ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com or ecr://REGION)."
        )
    options = options or ScanOptions()
    connection = connect(
        parsed,
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        concurrency=options.concurrency,
        on_call=on_call,
        session=session,
    )
    names, registry_id = _repositories(connection, parsed, options)
    registry = _registry(connection, parsed, registry_id)
    cache = open_cache(options.cache_dir, warn=warn) if options.use_cache else None
    scan = _Scan(connection=connection, cache=cache, concurrency=max(1, options.concurrency), tally=Tally(progress))
    scan.emit(repositories_listed=len(names))
    try:
        scan.describe(names)
        scan.fetch()
    finally:
        if cache is not None:
            cache.close()
    scan.emit(tags_done=scan.tally.counts["tags_total"])
    return _assemble(scan, registry, parsed.namespace)


def _assemble(scan: _Scan, registry: str, namespace: str) -> Inventory:
    tags: dict[str, list[tuple[str, str]]] = {}
    untagged: dict[str, list[str]] = {}
    pushed: dict[str, datetime] = {}
    pulled: dict[str, datetime] = {}
    for name, images in sorted(scan.images.items()):
        tags[name], untagged[name] = [], []
        children = {c.digest for i in images if i.digest in scan.records for c in scan.records[i.digest].children}
        for image in images:
            if image.pushed_at is not None:
                pushed[image.digest] = min(pushed.get(image.digest, image.pushed_at), image.pushed_at)
            if image.last_pulled_at is not None:
                pulled[image.digest] = max(pulled.get(image.digest, image.last_pulled_at), image.last_pulled_at)
            if image.digest not in scan.records:
                reason = scan.failed.get(image.digest, "the manifest was not read.")
                scan.errors += [
                    ScanError(repository=name, tag=t, digest=image.digest, reason=reason) for t in image.tags
                ]
            elif image.tags:
                tags[name] += [(tag, image.digest) for tag in image.tags]
            elif image.digest not in children:
                untagged[name].append(image.digest)
    manifests = {
        digest: replace(record, pushed_at=pushed.get(digest), last_pulled_at=pulled.get(digest))
        for digest, record in scan.records.items()
    }
    return build_inventory(
        registry=registry,
        namespace=namespace,
        scanned_at=datetime.now(UTC),
        tags=tags,
        manifests=manifests,
        errors=_unique(scan.errors),
        untagged=untagged,
    )


def _unique(errors: Iterable[ScanError]) -> list[ScanError]:
    seen: dict[tuple[str | None, str | None, str | None], ScanError] = {}
    for error in errors:
        seen.setdefault((error.repository, error.tag, error.digest), error)
    return list(seen.values())
