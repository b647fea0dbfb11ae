"""Hostile listings: looping or foreign Link headers, endless pages, bad names, non-JSON lists."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from costcalc.errors import RegistryError
from costcalc.registry.client import MAX_PAGES, RegistryClient, RetryPolicy, TagList
from tests.hostile import FakeRegistry, FakeSleep, scan_fake

ESCAPES = ["acme/\x1b[2Jwiped", "acme/evil\nINJECTED", "acme/\x07bell", "acme/\u202eevil"]
BAD_TAGS = [None, "", "has space", "\x1b[31mred", "line\nbreak", "-dash", "x" * 200, 5, {"a": 1}, "sha256:" + "a" * 64]


def client_for(registry: FakeRegistry) -> RegistryClient:
    return RegistryClient(
        registry.host, transport=registry.transport(), sleep=FakeSleep(), retry=RetryPolicy(attempts=1)
    )


def tags_of(registry: FakeRegistry, repository: str = "acme/api") -> TagList:
    async def main() -> TagList:
        async with client_for(registry) as client:
            return await client.tags(repository)

    return asyncio.run(main())


def test_link_header_that_loops_stops_with_an_error() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    registry.on(
        "GET",
        r"/tags/list",
        lambda r, m: httpx.Response(
            200,
            json={"name": "acme/api", "tags": ["v1"]},
            headers={"Link": '</v2/acme/api/tags/list?n=1000&last=a>; rel="next"'},
        ),
    )
    with pytest.raises(RegistryError, match="loops"):
        tags_of(registry)
    assert registry.count("GET", r"/tags/list") <= 3


def test_link_to_another_host_is_not_followed() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    registry.on(
        "GET",
        r"registry\.test/v2/acme/api/tags/list",
        lambda r, m: httpx.Response(
            200,
            json={"name": "acme/api", "tags": ["v1"]},
            headers={"Link": '<https://evil.example/v2/acme/api/tags/list?last=v1>; rel="next"'},
        ),
    )
    with pytest.raises(RegistryError, match="another host"):
        tags_of(registry)
    assert registry.sent_to("evil.example") == []


def test_link_to_another_port_or_scheme_is_not_followed() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    for link in ("https://registry.test:8443/v2/x?l=1", "http://registry.test/v2/x?l=1"):
        registry.on(
            "GET",
            r"/tags/list",
            lambda r, m, link=link: httpx.Response(
                200, json={"tags": ["v1"]}, headers={"Link": f'<{link}>; rel="next"'}
            ),
        )
        with pytest.raises(RegistryError, match="another host"):
            tags_of(registry)
    assert all(r.url.port is None and r.url.scheme == "https" for r in registry.requests)


def test_malformed_link_url_is_a_registry_error_not_a_crash() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    registry.on(
        "GET",
        r"/tags/list",
        lambda r, m: httpx.Response(200, json={"tags": ["v1"]}, headers={"Link": '<http://[::1/broken>; rel="next"'}),
    )
    with pytest.raises(RegistryError):
        tags_of(registry)


def test_10001_pages_stop_with_an_error_at_10000() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")

    def endless(request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        page = int(request.url.params.get("last", "0")) + 1
        return httpx.Response(
            200, json={"tags": [f"t{page}"]}, headers={"Link": f'</v2/acme/api/tags/list?n=1&last={page}>; rel="next"'}
        )

    registry.on("GET", r"/tags/list", endless)
    with pytest.raises(RegistryError, match=str(MAX_PAGES)):
        tags_of(registry)
    assert MAX_PAGES == 10_000
    assert registry.count("GET", r"/tags/list") == 10_000


def test_null_and_invalid_tag_names_are_dropped_and_reported() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    registry.on(
        "GET",
        r"/tags/list",
        lambda r, m: httpx.Response(200, json={"name": "acme/api", "tags": ["v1", *BAD_TAGS, "v1"]}),
    )
    listed = tags_of(registry)
    assert listed.tags == ("v1",)
    assert len(listed.invalid) == len(BAD_TAGS)


def test_null_tag_list_and_tags_not_a_list_are_empty() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    for tags in (None, "v1", {"v1": 1}):
        registry.on(
            "GET", r"/tags/list", lambda r, m, tags=tags: httpx.Response(200, json={"name": "acme/api", "tags": tags})
        )
        assert tags_of(registry).tags == ()


@pytest.mark.parametrize(
    "body",
    [b"<html>not json</html>", b"", b"[1, 2]", b'{"tags": [', b"\xff\xfe"],
    ids=["html", "empty", "array", "truncated", "binary"],
)
def test_tag_list_that_is_not_json_is_a_registry_error(body: bytes) -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    registry.on("GET", r"/tags/list", lambda r, m: httpx.Response(200, content=body))
    with pytest.raises(RegistryError, match="JSON"):
        tags_of(registry)


def test_scan_goes_on_past_a_bad_tag_list_and_a_looping_one() -> None:
    registry = FakeRegistry()
    good = registry.push_image("acme/good", "v1")
    registry.push_image("acme/notjson", "v1")
    registry.push_image("acme/loops", "v1")
    registry.on("GET", r"/acme/notjson/tags/list", lambda r, m: httpx.Response(200, text="oops"))
    registry.on(
        "GET",
        r"/acme/loops/tags/list",
        lambda r, m: httpx.Response(200, json={"tags": ["v1"]}, headers={"Link": f'<{r.url.path}?n=1000>; rel="next"'}),
    )
    inventory = scan_fake(registry, "acme")
    assert [(r.name, [t.tag for t in r.tags]) for r in inventory.repositories] == [("acme/good", ["v1"])]
    assert inventory.repositories[0].tags[0].digest == good
    failed = {e.repository for e in inventory.errors}
    assert failed == {"acme/notjson", "acme/loops"}


def test_catalog_names_with_escapes_or_newlines_never_become_repositories() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/ok", "v1")
    registry.on(
        "GET",
        r"/_catalog",
        lambda r, m: httpx.Response(200, json={"repositories": ["acme/ok", *ESCAPES, None, 7, "../../etc"]}),
    )
    inventory = scan_fake(registry, "acme")
    assert [r.name for r in inventory.repositories] == ["acme/ok"]
    # nothing was requested for the hostile names
    assert all("\x1b" not in str(r.url) and "evil" not in str(r.url) for r in registry.requests)


def test_invalid_tag_names_are_recorded_as_errors_without_raw_control_characters() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    registry.on(
        "GET", r"/tags/list", lambda r, m: httpx.Response(200, json={"tags": ["v1", "\x1b[2Jwipe", "a\nb", None]})
    )
    inventory = scan_fake(registry, "acme")
    assert [t.tag for t in inventory.repositories[0].tags] == ["v1"]
    assert len(inventory.errors) == 3
    for error in inventory.errors:
        text = f"{error.tag} {error.reason}"
        assert not re.search(r"[\x00-\x1f\x7f]", text), text
