"""Which repositories a scan covers: _catalog, the Docker Hub API, or names given by the user."""

from __future__ import annotations

import fnmatch
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

import httpx

from costcalc.errors import InputError, InvalidReference, RegistryError
from costcalc.reference import Target, in_namespace, is_valid_repository, normalize_repository
from costcalc.registry.client import RegistryClient

HUB_API = "https://hub.docker.com"
_CATALOG_REFUSED = frozenset({401, 403, 404, 405})
MAX_REPOS_FILE_BYTES = 64 * 1024 * 1024  # a million names of 64 characters


def read_repos_file(path: Path, target: Target) -> list[str]:
    """Repository names from PATH, one per line, '#' comments; reports every bad line."""
    try:
        with path.open("rb") as handle:  # a device such as /dev/zero never ends: bound the read
            raw = handle.read(MAX_REPOS_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the repositories file ({exc.__class__.__name__}).") from None
    if len(raw) > MAX_REPOS_FILE_BYTES:
        raise InputError(f"{path}: over {MAX_REPOS_FILE_BYTES // 1024 // 1024} MiB; not a repositories file.")
    names: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            names.append(normalize_repository(target, entry))
        except InvalidReference:
            problems.append(f"{path}:{number}: repository: {entry!r} is not a valid repository name.")
    if problems:
        raise InputError(problems[0] if len(problems) == 1 else f"{len(problems)} bad lines in {path}.", problems)
    return names


def select(names: Iterable[str], include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[str]:
    """Sorted distinct NAMES matching any INCLUDE glob (all if none) and no EXCLUDE glob."""
    return sorted(
        {
            name
            for name in names
            if (not include or any(fnmatch.fnmatchcase(name, g) for g in include))
            and not any(fnmatch.fnmatchcase(name, g) for g in exclude)
        }
    )


def named_repositories(target: Target, repos: Sequence[str], repos_file: Path | None) -> list[str]:
    """The repositories named by --repo and --repos-file (normalized, checked), unfiltered."""
    names = [normalize_repository(target, name) for name in repos]
    if repos_file is not None:
        names += read_repos_file(repos_file, target)
    return names


async def list_repositories(
    target: Target,
    client: RegistryClient,
    *,
    repos: Sequence[str] = (),
    repos_file: Path | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    on_page: Callable[[int], None] | None = None,
) -> list[str]:
    """The repositories to scan: explicit names if given, else the registry's listing, filtered."""
    explicit = named_repositories(target, repos, repos_file)
    if explicit:
        return select(explicit, include, exclude)
    found: list[str] = []
    pages = _hub_repositories(target, client) if target.is_docker_hub else _catalog(target, client)
    async for page in pages:
        found.extend(page)
        if on_page is not None:
            on_page(len(found))
    return select(found, include, exclude)


async def _catalog(target: Target, client: RegistryClient) -> AsyncIterator[list[str]]:
    try:
        async for raw in client.catalog():
            yield [
                n for n in raw if isinstance(n, str) and is_valid_repository(n) and in_namespace(target.namespace, n)
            ]
    except RegistryError as exc:
        if exc.status in _CATALOG_REFUSED or exc.code == "UNSUPPORTED":
            raise RegistryError(
                f"{target.registry} does not list its repositories ({str(exc).removesuffix('.')}); "
                "name them with --repo NAME or --repos-file FILE."
            ) from None
        raise


async def _hub_repositories(target: Target, client: RegistryClient) -> AsyncIterator[list[str]]:
    """Docker Hub has no _catalog; its web API pages a namespace's repositories by `next`."""
    namespace = target.namespace.split("/")[0]
    if not namespace:
        raise RegistryError("docker.io cannot be listed as a whole; give a namespace (docker.io/NAME) or use --repo.")
    url = httpx.URL(f"{HUB_API}/v2/namespaces/{quote(namespace, safe='')}/repositories?page_size=100")
    async for data in client.json_pages(url):
        results = data.get("results")
        names = []
        for item in results if isinstance(results, list) else []:
            name = item.get("name") if isinstance(item, dict) else None
            full = f"{namespace}/{name}" if isinstance(name, str) else None
            if full and is_valid_repository(full) and in_namespace(target.namespace, full):
                names.append(full)
        yield names
