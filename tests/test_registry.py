"""The registry client over httpx.MockTransport: pagination, retries, limits, error mapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, TypeVar

import httpx
import pytest

from costcalc.errors import ManifestError, NotFound, RegistryError, Unauthorized
from costcalc.registry.client import RegistryClient, RetryPolicy, parse_retry_after
from costcalc.registry.oci import MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, sha256_digest

T = TypeVar("T")
Handler = Callable[[httpx.Request], httpx.Response]
BODY = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
DIGEST = sha256_digest(BODY)


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def run(
    handler: Handler,
    work: Callable[[RegistryClient], Coroutine[Any, Any, T]],
    sleeps: Sleeps | None = None,
    host: str = "registry.example",
    **kwargs: Any,
) -> T:
    async def main() -> T:
        async with RegistryClient(
            host,
            transport=httpx.MockTransport(handler),
            sleep=sleeps if sleeps is not None else Sleeps(),
            **kwargs,
        ) as client:
            return await work(client)

    return asyncio.run(main())


def tags_page(tags: list[Any], link: str | None = None) -> httpx.Response:
    headers = {"Link": f'<{link}>; rel="next"'} if link else {}
    return httpx.Response(200, json={"name": "acme/api", "tags": tags}, headers=headers)


async def all_tags(client: RegistryClient) -> tuple[str, ...]:
    return (await client.tags("acme/api")).tags


def test_scheme_is_https_unless_plain_http() -> None:
    # A loopback registry starts on https too, and falls back only when its port is not TLS
    # (test_transport.py checks both ways against real servers).
    assert RegistryClient("ghcr.io").base_url.scheme == "https"
    assert RegistryClient("127.0.0.1:5000").base_url.scheme == "https"
    assert RegistryClient("ghcr.io", plain_http=True).base_url.scheme == "http"
    assert RegistryClient("[::1]:5000", plain_http=True).base_url.scheme == "http"


def test_tags_follow_relative_and_absolute_links_verbatim() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if "page=3" in str(request.url):
            return tags_page(["c"])
        if "page=2" in str(request.url):
            return tags_page(["b"], "https://registry.example/v2/acme/api/tags/list?page=3")
        return tags_page(["a", None, "bad tag"], "/v2/acme/api/tags/list?page=2&n=1000")

    result = run(handler, lambda c: c.tags("acme/api"))
    assert result.tags == ("a", "b", "c")
    assert result.invalid == ("None", "bad tag")
    assert seen == [
        "https://registry.example/v2/acme/api/tags/list?n=1000",
        "https://registry.example/v2/acme/api/tags/list?page=2&n=1000",
        "https://registry.example/v2/acme/api/tags/list?page=3",
    ]


def test_pagination_loop_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return tags_page(["a"], "/v2/acme/api/tags/list?n=1000")

    with pytest.raises(RegistryError, match="loops back"):
        run(handler, all_tags)


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/v2/x",
        "http://registry.example/v2/x",
        "https://registry.example:444/v2/x",
    ],
)
def test_link_to_another_origin_is_refused(link: str) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return tags_page(["a"], link)

    with pytest.raises(RegistryError, match="another host"):
        run(handler, all_tags)
    assert len(requests) == 1


def test_page_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("costcalc.registry.client.MAX_PAGES", 3)

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("p", "0"))
        return tags_page([f"t{page}"], f"/v2/acme/api/tags/list?p={page + 1}")

    with pytest.raises(RegistryError, match="more than 3 pages"):
        run(handler, all_tags)


def test_catalog_pages() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v2/_catalog"
        if request.url.params.get("last") == "b":
            return httpx.Response(200, json={"repositories": ["c"]})
        return httpx.Response(
            200,
            json={"repositories": ["a", "b"]},
            headers={"Link": '</v2/_catalog?last=b&n=1000>; rel="next"'},
        )

    async def pages(client: RegistryClient) -> list[list[object]]:
        return [page async for page in client.catalog()]

    assert run(handler, pages) == [["a", "b"], ["c"]]


def test_retry_after_seconds_and_http_date_are_honoured() -> None:
    later = datetime.now(UTC) + timedelta(seconds=30)
    answers = [
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503, headers={"Retry-After": format_datetime(later, usegmt=True)}),
        httpx.Response(429, headers={"Retry-After": "3600"}),
        tags_page(["a"]),
    ]
    sleeps = Sleeps()
    assert run(lambda request: answers.pop(0), all_tags, sleeps) == ("a",)
    assert sleeps[0] == 7
    assert 25 <= sleeps[1] <= 30
    assert sleeps[2] == 60  # capped


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Fri, 27 Nov 2026 12:00:10 GMT", now) == 10
    assert parse_retry_after("Fri, 27 Nov 2026 11:00:00 GMT", now) == 0  # in the past
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_grows_and_attempts_are_bounded() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(502)

    sleeps = Sleeps()
    with pytest.raises(RegistryError, match=r"502 Bad Gateway \(gave up after 4 attempts\)"):
        run(handler, all_tags, sleeps, retry=RetryPolicy(attempts=4, base_delay_seconds=1))
    assert len(calls) == 4
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2 and 2 <= sleeps[2] <= 4


def test_time_budget_stops_retries() -> None:
    sleeps = Sleeps()
    with pytest.raises(RegistryError, match="gave up after 1 attempts"):
        run(
            lambda r: httpx.Response(429, headers={"Retry-After": "50"}),
            all_tags,
            sleeps,
            retry=RetryPolicy(budget_seconds=10),
        )
    assert sleeps == []


def test_connection_errors_are_retried() -> None:
    failures = [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")]

    def handler(request: httpx.Request) -> httpx.Response:
        if failures:
            raise failures.pop(0)
        return tags_page(["a"])

    sleeps = Sleeps()
    assert run(handler, all_tags, sleeps) == ("a",)
    assert len(sleeps) == 2


def test_head_reads_docker_content_digest_with_full_accept() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "HEAD"
        assert request.headers["Accept"] == MANIFEST_ACCEPT
        return httpx.Response(
            200,
            headers={
                "Docker-Content-Digest": DIGEST,
                "Content-Type": "application/vnd.oci.image.index.v1+json",
            },
        )

    async def work(client: RegistryClient) -> Any:
        head = await client.head_manifest("acme/api", "v1")
        return head, dict(client.requests)

    head, requests = run(handler, work)
    assert (head.digest, head.media_type, head.body) == (
        DIGEST,
        "application/vnd.oci.image.index.v1+json",
        None,
    )
    assert requests == {"head": 1}


def test_head_without_digest_falls_back_to_get_and_hashes_the_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(200)
        return httpx.Response(
            200,
            content=BODY,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )

    async def work(client: RegistryClient) -> Any:
        return await client.head_manifest("acme/api", "v1"), dict(client.requests)

    head, requests = run(handler, work)
    assert head.digest == DIGEST and head.body == BODY
    assert requests == {"head": 1, "manifest": 1, "head_fallback": 1}


def test_manifest_over_4_mib_is_refused_by_content_length() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(MAX_MANIFEST_BYTES + 1)}, content=b"")

    with pytest.raises(ManifestError, match="over the 4194304-byte limit"):
        run(handler, lambda c: c.get_manifest("acme/api", DIGEST))


def test_manifest_over_4_mib_is_refused_while_streaming() -> None:
    async def chunks() -> Any:
        for _ in range(5):
            yield b"x" * (1024 * 1024)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())  # no Content-Length: chunked

    with pytest.raises(ManifestError, match="over the 4194304-byte limit"):
        run(handler, lambda c: c.get_config("acme/api", DIGEST))


def test_config_follows_redirect_without_authorization() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "registry.example":
            return httpx.Response(307, headers={"Location": "https://cdn.example/blob?sig=SECRET"})
        return httpx.Response(200, content=b"{}")

    body = run(handler, lambda c: c.get_config("acme/api", DIGEST), auth=httpx.BasicAuth("user", "hunter2"))
    assert body == b"{}"
    assert "Authorization" in seen[0].headers
    assert "Authorization" not in seen[1].headers


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (
            401,
            {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
            Unauthorized,
            "GET https://registry.example/v2/acme/api/manifests/{d}: "
            "401 UNAUTHORIZED: authentication required (anonymous).",
        ),
        (
            403,
            {"errors": [{"code": "DENIED", "message": "no\x1b[31m access\n"}]},
            Unauthorized,
            "403 DENIED: no [31m access",
        ),
        (
            404,
            {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]},
            NotFound,
            "404 MANIFEST_UNKNOWN: manifest unknown.",
        ),
        (400, {"errors": [{"code": "NAME_UNKNOWN", "message": "x" * 5000}]}, NotFound, "..."),
        (418, "not json", RegistryError, "418 I'm a teapot."),
    ],
)
def test_error_mapping(status: int, body: Any, error: type[Exception], text: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        content = json.dumps(body).encode() if isinstance(body, dict) else body.encode()
        return httpx.Response(status, content=content)

    with pytest.raises(error) as caught:
        run(handler, lambda c: c.get_manifest("acme/api", DIGEST))
    message = str(caught.value)
    assert text.format(d=DIGEST) in message
    assert "\x1b" not in message and "\n" not in message and len(message) < 400


def test_error_body_over_1_mib_is_not_parsed() -> None:
    big = json.dumps({"errors": [{"code": "DENIED", "message": "y" * (2 * 1024 * 1024)}]})
    with pytest.raises(RegistryError, match="500 Internal Server Error") as caught:
        run(
            lambda r: httpx.Response(500, content=big.encode()),
            lambda c: c.get_manifest("a", DIGEST),
            retry=RetryPolicy(attempts=1),
        )
    assert "yyy" not in str(caught.value)


def test_messages_carry_no_query_or_credentials() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    with pytest.raises(RegistryError) as caught:
        run(
            handler,
            lambda c: c.request(
                "GET",
                httpx.URL("https://u:pw@registry.example/v2/x?token=SECRET"),
                purpose="t",
                accept="*/*",
                limit_bytes=10,
            ),
            retry=RetryPolicy(attempts=1),
        )
    assert "SECRET" not in str(caught.value) and "pw" not in str(caught.value)


def test_concurrency_is_bounded_per_host() -> None:
    active = 0
    peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return httpx.Response(200, headers={"Docker-Content-Digest": DIGEST})

    async def work(client: RegistryClient) -> None:
        await asyncio.gather(*(client.head_manifest("acme/api", f"t{i}") for i in range(20)))

    async def main() -> None:
        async with RegistryClient("registry.example", transport=httpx.MockTransport(slow), concurrency=3) as client:
            await work(client)

    asyncio.run(main())
    assert peak == 3


def test_a_429_holds_back_every_request_to_the_host_not_only_the_one_told() -> None:
    """Shared per-host backoff: a task that had not sent yet waits out another task's 429."""
    log: list[tuple[str, str]] = []
    answered_429 = False

    def who() -> str:
        task = asyncio.current_task()
        return task.get_name() if task else "?"

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal answered_429
        log.append(("send", who()))
        if not answered_429:
            answered_429 = True
            log.append(("429", who()))
            return httpx.Response(429, headers={"Retry-After": "5"})
        return httpx.Response(200, headers={"Docker-Content-Digest": DIGEST})

    class YieldingSleeps(Sleeps):
        async def __call__(self, seconds: float) -> None:
            log.append(("sleep", who()))
            await asyncio.sleep(0)  # let the other tasks run while this one "waits"
            log.append(("woke", who()))

    async def work(client: RegistryClient) -> None:
        heads = [asyncio.create_task(client.head_manifest("acme/api", f"t{i}"), name=f"t{i}") for i in range(6)]
        await asyncio.gather(*heads)

    run(handler, work, YieldingSleeps(), concurrency=1)
    # Without a shared gate the next task sends while the told one is still waiting.
    after = [event for event, _ in log[log.index(("429", "t0")) + 1 :]]
    assert after.index("woke") < after.index("send"), log
    assert after.count("send") == 6, log


def test_head_not_allowed_falls_back_to_get_and_stops_asking() -> None:
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        if request.method == "HEAD":
            return httpx.Response(405)
        return httpx.Response(200, content=BODY, headers={"Content-Type": "application/json"})

    async def work(client: RegistryClient) -> list[str]:
        return [(await client.head_manifest("acme/api", tag)).digest for tag in ("a", "b")]

    assert run(handler, work) == [DIGEST, DIGEST]
    assert methods == ["HEAD", "GET", "GET"]


def test_registry_warnings_and_a_low_pull_budget_are_surfaced_once() -> None:
    warnings: list[str] = []
    headers = [
        ("Warning", '299 - "this registry is deprecated; \\"move\\" to \x1b[31mnew.example"'),
        ("Warning", '110 - "Response is Stale"'),  # HTTP caching, not the registry speaking
        ("RateLimit-Limit", "100;w=21600"),
        ("RateLimit-Remaining", "7;w=21600"),
        ("Docker-Content-Digest", DIGEST),
    ]

    async def work(client: RegistryClient) -> None:
        for tag in ("a", "b", "c"):
            await client.head_manifest("acme/api", tag)

    run(lambda request: httpx.Response(200, headers=headers), work, warn=warnings.append)
    assert warnings == [
        'registry.example says: this registry is deprecated; "move" to  [31mnew.example',
        "registry.example: only 7 of 100 pulls left in the rate-limit window; "
        "each manifest GET counts as a pull (cached manifests do not).",
    ]


def test_an_untrusted_certificate_is_not_retried_and_says_what_to_do() -> None:
    import ssl

    from costcalc.errors import Unreachable

    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        cause = ssl.SSLCertVerificationError("certificate verify failed: self-signed certificate")
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] self-signed certificate") from cause

    with pytest.raises(Unreachable, match=r"TLS certificate of registry\.example is not trusted.*--ca-file"):
        run(handler, all_tags)
    assert calls == [1]


def test_waiting_for_a_free_slot_does_not_count_against_the_response_deadline() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.15)  # each answer well within the 0.2 s deadline
        return httpx.Response(200, headers={"Docker-Content-Digest": DIGEST})

    async def work(client: RegistryClient) -> list[str]:
        heads = await asyncio.gather(*(client.head_manifest("acme/api", f"t{i}") for i in range(3)))
        return [head.digest for head in heads]

    # The third request waits 0.3 s for the single slot: longer than the deadline, not an error.
    assert run(slow, work, concurrency=1, timeout_seconds=0.1, retry=RetryPolicy(attempts=1)) == [DIGEST] * 3


def test_cookies_set_by_the_registry_are_never_sent_back() -> None:
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("Cookie"))
        return httpx.Response(
            200,
            headers={"Docker-Content-Digest": DIGEST, "Set-Cookie": "AWSALB=sticky; Path=/"},
        )

    async def work(client: RegistryClient) -> None:
        for tag in ("a", "b", "c"):  # one after another: the same client could send it back
            await client.head_manifest("acme/api", tag)

    run(handler, work, concurrency=1)
    assert sent == [None, None, None]
