"""Namespace enumeration: _catalog filtering, the Docker Hub API, repos files, include/exclude."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from costcalc.errors import InputError, RegistryError
from costcalc.reference import parse_target
from costcalc.registry.client import RegistryClient, RetryPolicy
from costcalc.registry.listing import list_repositories, read_repos_file, select


def listed(target_text: str, handler: Any, **kwargs: Any) -> list[str]:
    target = parse_target(target_text)

    async def main() -> list[str]:
        async with RegistryClient(
            target.api_host, transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1)
        ) as client:
            return await list_repositories(target, client, **kwargs)

    return asyncio.run(main())


CATALOG = ["acme", "acme-corp/x", "acme/api", "acme/tools/cli", "acmex/y", "other/x", "ACME/bad"]


def catalog(request: httpx.Request) -> httpx.Response:
    assert request.url.path == "/v2/_catalog"
    return httpx.Response(200, json={"repositories": CATALOG})


def test_catalog_is_filtered_by_path_component_prefix() -> None:
    assert listed("registry.example/acme", catalog) == ["acme", "acme/api", "acme/tools/cli"]
    assert listed("registry.example/acme/tools", catalog) == ["acme/tools/cli"]
    assert listed("registry.example", catalog) == sorted(n for n in CATALOG if n != "ACME/bad")


def test_include_and_exclude_globs_on_full_names() -> None:
    assert listed("registry.example/acme", catalog, include=["acme/*"]) == [
        "acme/api",
        "acme/tools/cli",
    ]
    assert listed("registry.example/acme", catalog, exclude=["acme/tools/*", "acme"]) == ["acme/api"]
    assert select(["b", "a", "a"], include=["?"]) == ["a", "b"]


@pytest.mark.parametrize("status", [401, 403, 404, 405])
def test_refused_catalog_names_the_options(status: int) -> None:
    with pytest.raises(RegistryError, match="--repo NAME or --repos-file FILE") as caught:
        listed("registry.example/acme", lambda r: httpx.Response(status))
    assert f"{status}" in str(caught.value)


def test_unsupported_catalog_names_the_options() -> None:
    body = {"errors": [{"code": "UNSUPPORTED", "message": "not here"}]}
    with pytest.raises(RegistryError, match=r"does not list its repositories .*UNSUPPORTED"):
        listed("registry.example/acme", lambda r: httpx.Response(400, json=body))


def test_other_catalog_failures_pass_through() -> None:
    with pytest.raises(RegistryError) as caught:
        listed("registry.example/acme", lambda r: httpx.Response(500))
    assert "--repo" not in str(caught.value)


def hub_page(url: httpx.URL, names: list[str], next_url: str | None) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "count": 3,
            "next": next_url,
            "previous": None,
            "results": [
                {
                    "name": n,
                    "namespace": "acme",
                    "repository_type": "image",
                    "status": 1,
                    "is_private": False,
                    "star_count": 0,
                    "pull_count": 12,
                    "last_updated": "2026-10-01T00:00:00.000000Z",
                }
                for n in names
            ],
        },
    )


def test_docker_hub_uses_the_hub_api_paged_by_next() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        assert "Authorization" not in request.headers
        if request.url.params.get("page") == "2":
            return hub_page(request.url, ["worker"], None)
        return hub_page(
            request.url,
            ["api", "web"],
            "https://hub.docker.com/v2/namespaces/acme/repositories?page=2&page_size=100",
        )

    assert listed("docker.io/acme", handler) == ["acme/api", "acme/web", "acme/worker"]
    assert seen[0] == "https://hub.docker.com/v2/namespaces/acme/repositories?page_size=100"
    assert len(seen) == 2


def test_docker_hub_next_to_another_host_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return hub_page(request.url, ["api"], "https://evil.example/v2/namespaces/acme/repositories?page=2")

    with pytest.raises(RegistryError, match="another host"):
        listed("docker.io/acme", handler)


def test_explicit_repositories_skip_listing(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    repos_file = tmp_path / "repos.txt"
    repos_file.write_text("# team repos\nacme/web\n\n  acme/api  # trailing comment\n")
    assert listed("registry.example/acme", handler, repos=["acme/x"], repos_file=repos_file) == [
        "acme/api",
        "acme/web",
        "acme/x",
    ]
    assert listed("docker.io/acme", handler, repos=["nginx"]) == ["library/nginx"]


def test_repos_file_reports_every_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "repos.txt"
    path.write_text("acme/ok\nAcme/Bad\n\nacme//x\n")
    with pytest.raises(InputError) as caught:
        read_repos_file(path, parse_target("registry.example"))
    assert caught.value.problems == [
        f"{path}:2: repository: 'Acme/Bad' is not a valid repository name.",
        f"{path}:4: repository: 'acme//x' is not a valid repository name.",
    ]


def test_missing_repos_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the repositories file"):
        read_repos_file(tmp_path / "nope.txt", parse_target("registry.example"))


def test_an_endless_device_as_the_repositories_file_is_refused_after_a_bounded_read() -> None:
    with pytest.raises(InputError, match=r"^/dev/zero: over 64 MiB; not a repositories file\.$"):
        read_repos_file(Path("/dev/zero"), parse_target("registry.example/acme"))
