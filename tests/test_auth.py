"""Tests of credential resolution and the Basic/Bearer flow, driven by hand."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import httpx
import pytest

from costcalc.errors import InputError, Unauthorized
from costcalc.registry.challenge import RegistryAuth
from costcalc.registry.credentials import Credential, resolve_credential
from costcalc.registry.www_authenticate import Challenge, parse_challenges, pick_challenge, scopes_for

HOST = "reg.example.com"
SECRET = "s3cr3t-Pa55"
REALM = "https://auth.example.com/token"
BEARER = f'Bearer realm="{REALM}",service="reg.example.com",scope="repository:ns/app:pull"'

Flow = Generator[httpx.Request, httpx.Response, None]


def manifest_request(repo: str = "ns/app", host: str = HOST, scheme: str = "https") -> httpx.Request:
    return httpx.Request("GET", f"{scheme}://{host}/v2/{repo}/manifests/latest")


def respond(
    request: httpx.Request,
    status: int,
    *,
    challenge: str | None = None,
    body: object = None,
    content: bytes | None = None,
) -> httpx.Response:
    headers = {"WWW-Authenticate": challenge} if challenge else {}
    if content is None:
        content = json.dumps(body).encode() if body is not None else b""
    return httpx.Response(status, headers=headers, content=content, request=request)


def finish(flow: Flow, response: httpx.Response) -> None:
    with pytest.raises(StopIteration):
        flow.send(response)


def password() -> Credential:
    return Credential("alice", SECRET, source="--password-stdin")


def basic_value(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the flow -----------------------------------------------------------------------------


def test_anonymous_200_is_one_request_without_authorization() -> None:
    auth = RegistryAuth(HOST, None)
    request = manifest_request()
    flow = auth.auth_flow(request)
    sent = next(flow)
    assert sent is request and "Authorization" not in sent.headers
    finish(flow, respond(sent, 200))


def test_basic_challenge_then_basic_sent_preemptively() -> None:
    auth = RegistryAuth(HOST, password())
    flow = auth.auth_flow(manifest_request())
    first = next(flow)
    retry = flow.send(respond(first, 401, challenge='Basic realm="Registry Realm"'))
    assert retry.headers["Authorization"] == basic_value("alice", SECRET)
    finish(flow, respond(retry, 200))

    later = auth.auth_flow(manifest_request("ns/other"))
    sent = next(later)
    assert sent.headers["Authorization"] == basic_value("alice", SECRET)
    finish(later, respond(sent, 200))


def test_basic_rejected_says_which_source_and_never_the_secret() -> None:
    auth = RegistryAuth(HOST, password())
    flow = auth.auth_flow(manifest_request())
    retry = flow.send(respond(next(flow), 401, challenge="Basic realm=x"))
    with pytest.raises(Unauthorized) as caught:
        flow.send(respond(retry, 401, challenge="Basic realm=x", body={"errors": [{"code": "UNAUTHORIZED"}]}))
    assert str(caught.value) == ("reg.example.com rejected the credentials from --password-stdin (401 UNAUTHORIZED).")
    assert SECRET not in str(caught.value)


def test_basic_challenge_without_credentials_names_the_sources_tried() -> None:
    auth = RegistryAuth(HOST, None)
    flow = auth.auth_flow(manifest_request())
    with pytest.raises(Unauthorized, match="requires credentials, and none were found"):
        flow.send(respond(next(flow), 401, challenge="Basic realm=x"))


def test_bearer_with_anonymous_token() -> None:
    auth = RegistryAuth(HOST, None)
    flow = auth.auth_flow(manifest_request())
    first = next(flow)
    token_request = flow.send(respond(first, 401, challenge=BEARER))
    assert token_request.method == "GET"
    assert token_request.url.host == "auth.example.com"
    assert token_request.url.params.get_list("scope") == ["repository:ns/app:pull"]
    assert token_request.url.params["service"] == "reg.example.com"
    assert "Authorization" not in token_request.headers
    retry = flow.send(respond(token_request, 200, body={"token": "tok-1"}))
    assert retry.headers["Authorization"] == "Bearer tok-1"
    finish(flow, respond(retry, 200))


def test_bearer_with_basic_credentials_and_access_token_field() -> None:
    auth = RegistryAuth(HOST, password())
    flow = auth.auth_flow(manifest_request())
    token_request = flow.send(respond(next(flow), 401, challenge=BEARER))
    assert token_request.headers["Authorization"] == basic_value("alice", SECRET)
    retry = flow.send(respond(token_request, 200, body={"access_token": "tok-2"}))
    assert retry.headers["Authorization"] == "Bearer tok-2"
    finish(flow, respond(retry, 200))


def test_identity_token_posts_oauth2_refresh_grant() -> None:
    credential = Credential("<token>", "refresh-xyz", identity_token=True, source="config")
    auth = RegistryAuth(HOST, credential)
    flow = auth.auth_flow(manifest_request())
    post = flow.send(respond(next(flow), 401, challenge=BEARER))
    assert post.method == "POST"
    form = dict(httpx.QueryParams(post.content.decode()))
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == "refresh-xyz"
    assert form["scope"] == "repository:ns/app:pull"
    assert form["service"] == "reg.example.com"
    retry = flow.send(respond(post, 200, body={"access_token": "tok-3", "expires_in": 300}))
    assert retry.headers["Authorization"] == "Bearer tok-3"
    finish(flow, respond(retry, 200))


@pytest.mark.parametrize("status", [404, 405])
def test_identity_token_falls_back_to_get(status: int) -> None:
    credential = Credential("bob", "refresh-xyz", identity_token=True, source="config")
    auth = RegistryAuth(HOST, credential)
    flow = auth.auth_flow(manifest_request())
    post = flow.send(respond(next(flow), 401, challenge=BEARER))
    get = flow.send(respond(post, status))
    assert get.method == "GET"
    assert get.headers["Authorization"] == basic_value("bob", "refresh-xyz")
    retry = flow.send(respond(get, 200, body={"token": "tok-4"}))
    assert retry.headers["Authorization"] == "Bearer tok-4"


def bearer_once(auth: RegistryAuth, repo: str, token: str, expires_in: int | None = None) -> None:
    """A first request for REPO that goes 401 -> token -> 200."""
    flow = auth.auth_flow(manifest_request(repo))
    challenge = BEARER.replace("ns/app", repo)
    token_request = flow.send(respond(next(flow), 401, challenge=challenge))
    body: dict[str, object] = {"token": token}
    if expires_in is not None:
        body["expires_in"] = expires_in
    retry = flow.send(respond(token_request, 200, body=body))
    finish(flow, respond(retry, 200))


def test_token_cached_per_scope_and_new_scopes_fetched_before_sending() -> None:
    auth = RegistryAuth(HOST, None)
    bearer_once(auth, "ns/app", "tok-app")

    # Same scope: the cached token goes out with the request, one round trip.
    same = auth.auth_flow(manifest_request("ns/app"))
    sent = next(same)
    assert sent.headers["Authorization"] == "Bearer tok-app"
    finish(same, respond(sent, 200))

    # A new repository: its own token, fetched first (no 401 round trip), scope not accumulated.
    other = auth.auth_flow(manifest_request("ns/db"))
    token_request = next(other)
    assert token_request.url.host == "auth.example.com"
    assert token_request.url.params.get_list("scope") == ["repository:ns/db:pull"]
    sent = other.send(respond(token_request, 200, body={"token": "tok-db"}))
    assert sent.url.path == "/v2/ns/db/manifests/latest"
    assert sent.headers["Authorization"] == "Bearer tok-db"
    finish(other, respond(sent, 200))


def test_catalog_scope() -> None:
    request = httpx.Request("GET", f"https://{HOST}/v2/_catalog?n=100")
    assert scopes_for(request) == ("registry:catalog:*",)
    tags = httpx.Request("GET", f"https://{HOST}/v2/a/b/c/tags/list")
    assert scopes_for(tags) == ("repository:a/b/c:pull",)
    upload = httpx.Request("POST", f"https://{HOST}/v2/a/blobs/uploads/")
    assert scopes_for(upload) == ("repository:a:pull,push",)


def test_token_expiry_renews_with_minimum_lifetime() -> None:
    clock = Clock()
    auth = RegistryAuth(HOST, None, clock=clock)
    bearer_once(auth, "ns/app", "tok-old", expires_in=5)  # raised to the 60 s minimum

    clock.now += 45
    flow = auth.auth_flow(manifest_request())
    assert next(flow).headers["Authorization"] == "Bearer tok-old"

    clock.now += 10  # inside the renewal buffer
    flow = auth.auth_flow(manifest_request())
    token_request = next(flow)
    assert token_request.url.host == "auth.example.com"
    sent = flow.send(respond(token_request, 200, body={"token": "tok-new"}))
    assert sent.headers["Authorization"] == "Bearer tok-new"


def test_insufficient_scope_retries_once_with_the_challenged_scope() -> None:
    auth = RegistryAuth(HOST, password())
    bearer_once(auth, "ns/app", "tok-app")
    flow = auth.auth_flow(manifest_request())
    sent = next(flow)
    challenge = (
        f'Bearer realm="{REALM}",service="reg.example.com",'
        'scope="repository:ns/app:pull,push",error="insufficient_scope"'
    )
    token_request = flow.send(respond(sent, 401, challenge=challenge))
    assert token_request.url.params.get_list("scope") == ["repository:ns/app:pull,push"]
    retry = flow.send(respond(token_request, 200, body={"token": "tok-wide"}))
    assert retry.headers["Authorization"] == "Bearer tok-wide"
    with pytest.raises(Unauthorized, match=r"\(401 insufficient_scope\)\.$"):
        flow.send(respond(retry, 401, challenge=challenge))


def test_a_401_that_never_ends_stops_after_one_retry() -> None:
    auth = RegistryAuth(HOST, password())
    bearer_once(auth, "ns/app", "tok-app")
    flow = auth.auth_flow(manifest_request())
    first = next(flow)
    sent = [first.headers["Authorization"]]
    token_request = flow.send(respond(first, 401, challenge=BEARER))
    retry = flow.send(respond(token_request, 200, body={"token": "tok-fresh"}))
    sent.append(retry.headers["Authorization"])
    with pytest.raises(Unauthorized, match="rejected the credentials from --password-stdin"):
        flow.send(respond(retry, 401, challenge=BEARER))
    assert sent == ["Bearer tok-app", "Bearer tok-fresh"]


@pytest.mark.parametrize(
    ("registry", "realm", "plain_http", "message"),
    [
        ("127.0.0.1:5000", "http://evil.example.com/token", False, "plain-HTTP token server"),
        ("reg.example.com", "http://reg.example.com/token", False, "plain-HTTP token server"),
        ("reg.example.com", "ftp://reg.example.com/token", False, "not an http"),
    ],
)
def test_untrusted_realm_gets_no_request_and_no_credentials(
    registry: str, realm: str, plain_http: bool, message: str
) -> None:
    auth = RegistryAuth(registry, password(), plain_http=plain_http)
    flow = auth.auth_flow(manifest_request(host=registry, scheme="http" if plain_http else "https"))
    with pytest.raises(Unauthorized, match=message) as caught:
        flow.send(respond(next(flow), 401, challenge=f'Bearer realm="{realm}",service="x"'))
    assert SECRET not in str(caught.value)


def test_loopback_registry_may_use_plain_http_realm_on_its_own_host() -> None:
    auth = RegistryAuth("127.0.0.1:5000", password())
    flow = auth.auth_flow(manifest_request(host="127.0.0.1:5000", scheme="http"))
    challenge = 'Bearer realm="http://127.0.0.1:5001/token",service="registry"'
    token_request = flow.send(respond(next(flow), 401, challenge=challenge))
    assert str(token_request.url).startswith("http://127.0.0.1:5001/token?")
    assert token_request.headers["Authorization"] == basic_value("alice", SECRET)


def test_relative_realm_resolves_against_the_registry() -> None:
    auth = RegistryAuth(HOST, None)
    flow = auth.auth_flow(manifest_request())
    token_request = flow.send(respond(next(flow), 401, challenge='Bearer realm="/v2/token",service=s'))
    assert str(token_request.url).startswith(f"https://{HOST}/v2/token?")


def test_plain_http_non_loopback_registry_never_gets_credentials() -> None:
    auth = RegistryAuth(HOST, password(), plain_http=True)
    flow = auth.auth_flow(manifest_request(scheme="http"))
    sent = next(flow)
    assert "Authorization" not in sent.headers
    with pytest.raises(Unauthorized, match="plain HTTP"):
        flow.send(respond(sent, 401, challenge="Basic realm=x"))


def test_requests_to_other_hosts_pass_untouched() -> None:
    auth = RegistryAuth(HOST, password())
    bearer_once(auth, "ns/app", "tok-app")
    blob = httpx.Request("GET", "https://cdn.example.net/v2/ns/app/blobs/sha256:abc")
    flow = auth.auth_flow(blob)
    sent = next(flow)
    assert "Authorization" not in sent.headers
    finish(flow, respond(sent, 401, challenge=BEARER))


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, {"error": "boom"}, r"answered 500 for repository:ns/app:pull\.$"),
        (401, {}, r"rejected the credentials from --password-stdin \(401\)\.$"),
        (200, b"x" * (2 * 1024 * 1024), "over 1 MiB"),
        (200, b"<html>not json</html>", "did not send JSON"),
        (200, {"expires_in": 300}, "no usable token"),
        (200, {"token": "bad token\r\nX-Injected: 1"}, "no usable token"),
    ],
)
def test_token_exchange_failures_are_one_sentence(status: int, body: object, message: str) -> None:
    auth = RegistryAuth(HOST, password())
    flow = auth.auth_flow(manifest_request())
    token_request = flow.send(respond(next(flow), 401, challenge=BEARER))
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(Unauthorized, match=message) as caught:
        flow.send(respond(token_request, status, content=content))
    text = str(caught.value)
    assert text.startswith("The token server https://auth.example.com/token ")
    assert SECRET not in text and "\n" not in text


def test_a_401_without_a_usable_challenge_is_returned_unchanged() -> None:
    auth = RegistryAuth(HOST, password())
    flow = auth.auth_flow(manifest_request())
    finish(flow, respond(next(flow), 401, challenge="Negotiate abc=="))


# --- challenge parsing --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ['Bearer realm="https://a/token",service="reg",scope="repository:x:pull"'],
            [
                (
                    "bearer",
                    {"realm": "https://a/token", "service": "reg", "scope": "repository:x:pull"},
                )
            ],
        ),
        (["BASIC realm=Registry"], [("basic", {"realm": "Registry"})]),
        (
            ['bEaReR Realm = "https://a/t" , Service=reg'],
            [("bearer", {"realm": "https://a/t", "service": "reg"})],
        ),
        (
            ['Basic realm="a, b", Bearer realm="https://a/t",service="s"'],
            [("basic", {"realm": "a, b"}), ("bearer", {"realm": "https://a/t", "service": "s"})],
        ),
        (
            ['Bearer realm="https://a/t",scope="repository:x:pull,push",error="insufficient_scope"'],
            [
                (
                    "bearer",
                    {
                        "realm": "https://a/t",
                        "scope": "repository:x:pull,push",
                        "error": "insufficient_scope",
                    },
                )
            ],
        ),
        (['Basic realm="say \\"hi\\""'], [("basic", {"realm": 'say "hi"'})]),
        (["Negotiate", 'Basic realm="r"'], [("negotiate", {}), ("basic", {"realm": "r"})]),
        (["Negotiate YII=, Basic realm=r"], [("negotiate", {}), ("basic", {"realm": "r"})]),
        ([""], []),
        (["Bearer realm=https://a/t"], [("bearer", {"realm": "https://a/t"})]),
    ],
)
def test_parse_challenges(headers: list[str], expected: list[tuple[str, dict[str, str]]]) -> None:
    assert [(c.scheme, dict(c.params)) for c in parse_challenges(headers)] == expected


def test_pick_prefers_bearer_with_a_realm_then_basic() -> None:
    basic = Challenge("basic", {"realm": "r"})
    bearer = Challenge("bearer", {"realm": "https://a/t"})
    assert pick_challenge([basic, bearer]) == bearer
    assert pick_challenge([basic, Challenge("bearer", {})]) == basic
    assert pick_challenge([Challenge("negotiate", {})]) is None


def test_multiple_headers_on_one_response() -> None:
    auth = RegistryAuth(HOST, password())
    flow = auth.auth_flow(manifest_request())
    sent = next(flow)
    response = httpx.Response(
        401,
        headers=[("WWW-Authenticate", "Basic realm=r"), ("WWW-Authenticate", BEARER)],
        request=sent,
    )
    token_request = flow.send(response)
    assert token_request.url.host == "auth.example.com"


# --- concurrency and bounded reads through a real AsyncClient -------------------------------


async def _concurrent_scan(repos: list[str], per_repo: int, resolve_delays: list[float]) -> list[tuple[str, int]]:
    import anyio

    log: list[tuple[str, int]] = []
    delays = iter(resolve_delays)

    async def resolve(host: str, port: int) -> list[str]:
        # the token server's name takes its time to resolve, as a real DNS lookup may
        await anyio.sleep(next(delays, 0.0))
        return ["203.0.113.10"]

    async def handler(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.02)  # let the other requests start meanwhile
        if request.url.host == "auth.example.com":
            log.append(("token " + request.url.params["scope"], 200))
            return httpx.Response(200, json={"token": "tok:" + request.url.params["scope"]})
        repo = request.url.path.split("/manifests/")[0].removeprefix("/v2/")
        if request.headers.get("Authorization") == f"Bearer tok:repository:{repo}:pull":
            log.append((repo, 200))
            return httpx.Response(200, content=b"{}")
        log.append((repo, 401))
        return httpx.Response(401, headers={"WWW-Authenticate": BEARER.replace("ns/app", repo)})

    auth = RegistryAuth(HOST, None, resolve=resolve)
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client,
        anyio.create_task_group() as group,
    ):
        for repo in repos:
            for n in range(per_repo):

                async def fetch(repo: str = repo, n: int = n) -> None:
                    url = f"https://{HOST}/v2/{repo}/manifests/t{n}"
                    assert (await client.get(url)).status_code == 200

                group.start_soon(fetch)
    return log


@pytest.mark.parametrize(
    "resolve_delays",
    [[], [0.0, 0.05, 0.0, 0.0, 0.1, 0.0, 0.03], [0.06, 0.0, 0.0, 0.0, 0.0, 0.09, 0.0, 0.0, 0.04]],
    ids=["instant", "slow-lookups", "slower-lookups"],
)
def test_concurrent_first_requests_cost_one_401_and_one_token_per_scope(resolve_delays: list[float]) -> None:
    import anyio

    repos = ["ns/a", "ns/b", "ns/c"]
    log = anyio.run(_concurrent_scan, repos, 5, resolve_delays)
    assert [entry for entry in log if entry[1] == 401] == [("ns/a", 401)]
    tokens = sorted(name for name, _ in log if name.startswith("token "))
    assert tokens == [f"token repository:{repo}:pull" for repo in repos]
    assert len([entry for entry in log if entry[1] == 200]) == len(repos) * 6


def test_oversized_token_body_is_not_read_whole() -> None:
    chunks_sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        for _ in range(64):  # 64 MiB if read to the end
            chunks_sent += 1
            yield b"x" * (1024 * 1024)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return httpx.Response(200, content=body())
        return httpx.Response(401, headers={"WWW-Authenticate": BEARER})

    async def fetch() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=RegistryAuth(HOST, None)) as client:
            await client.get(f"https://{HOST}/v2/ns/app/manifests/latest")

    with pytest.raises(Unauthorized, match="over 1 MiB"):
        asyncio.run(fetch())
    assert chunks_sent <= 3


# --- credentials --------------------------------------------------------------------------


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: HOME and DOCKER_CONFIG in tmp_path, helpers found on tmp_path/bin."""
    (tmp_path / "bin").mkdir()
    return {
        "HOME": str(tmp_path / "home"),
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def docker_config(env: dict[str, str], data: object) -> Path:
    return write_json(Path(env["DOCKER_CONFIG"]) / "config.json", data)


def fake_helper(env: dict[str, str], name: str, script_body: str) -> Path:
    """Write docker-credential-NAME, a real executable speaking the helper protocol."""
    path = Path(env["PATH"].split(os.pathsep)[0]) / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script_body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_flags_come_first(env: dict[str, str]) -> None:
    docker_config(env, {"auths": {HOST: {"auth": b64("other:pw")}}})
    credential = resolve_credential(HOST, "alice", SECRET, environ=env)
    assert credential == Credential("alice", SECRET, source="--password-stdin")


def test_half_flags_are_an_input_error(env: dict[str, str]) -> None:
    with pytest.raises(InputError, match="together"):
        resolve_credential(HOST, "alice", None, environ=env)


def test_nothing_configured_is_anonymous(env: dict[str, str]) -> None:
    assert resolve_credential(HOST, environ=env) is None


def test_config_auths_auth_field_strips_nuls(env: dict[str, str]) -> None:
    path = docker_config(env, {"auths": {HOST: {"auth": b64(f"alice:{SECRET}\x00\x00")}}})
    credential = resolve_credential(HOST, environ=env)
    assert credential is not None
    assert (credential.username, credential.secret, credential.identity_token) == (
        "alice",
        SECRET,
        False,
    )
    assert credential.source == f"docker config.json {path} (auths)"


def test_config_auths_username_password_fields(env: dict[str, str]) -> None:
    docker_config(env, {"auths": {f"https://{HOST}/v1/": {"username": "u", "password": "p"}}})
    credential = resolve_credential(HOST, environ=env)
    assert credential is not None and (credential.username, credential.secret) == ("u", "p")


def test_config_auths_identitytoken(env: dict[str, str]) -> None:
    docker_config(env, {"auths": {HOST: {"auth": b64("bob:"), "identitytoken": "refresh-1"}}})
    credential = resolve_credential(HOST, environ=env)
    assert credential is not None
    assert (credential.username, credential.secret, credential.identity_token) == (
        "bob",
        "refresh-1",
        True,
    )


@pytest.mark.parametrize("key", ["https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"])
@pytest.mark.parametrize("asked", ["docker.io", "registry-1.docker.io", "index.docker.io"])
def test_docker_hub_keys_are_one_registry(env: dict[str, str], key: str, asked: str) -> None:
    docker_config(env, {"auths": {key: {"auth": b64("hubuser:hubpw")}}})
    credential = resolve_credential(asked, environ=env)
    assert credential is not None and credential.username == "hubuser"


def test_other_hosts_do_not_match(env: dict[str, str]) -> None:
    docker_config(
        env,
        {"auths": {"ghcr.io": {"auth": b64("a:b")}, "reg.example.com:5000": {"auth": b64("c:d")}}},
    )
    assert resolve_credential(HOST, environ=env) is None


def test_cred_helper_for_the_host(env: dict[str, str], tmp_path: Path) -> None:
    fake_helper(
        env,
        "test",
        f"""read url
echo "$1 $url" > {tmp_path}/helper-args
printf '{{"ServerURL":"%s","Username":"helperuser","Secret":"{SECRET}"}}' "$url"
""",
    )
    path = docker_config(env, {"auths": {HOST: {}}, "credHelpers": {HOST: "test"}})
    credential = resolve_credential(HOST, environ=env)
    assert credential is not None
    assert (credential.username, credential.secret) == ("helperuser", SECRET)
    assert credential.source == f"docker config.json {path} (credHelpers: test)"
    assert (tmp_path / "helper-args").read_text().strip() == f"get {HOST}"


def test_creds_store_with_identity_token_and_hub_server_url(env: dict[str, str], tmp_path: Path) -> None:
    fake_helper(
        env,
        "test",
        f"""read url
echo "$url" > {tmp_path}/helper-url
echo '{{"ServerURL":"x","Username":"<token>","Secret":"refresh-2"}}'
""",
    )
    docker_config(env, {"auths": {"https://index.docker.io/v1/": {}}, "credsStore": "test"})
    credential = resolve_credential("registry-1.docker.io", environ=env)
    assert credential is not None and credential.identity_token and credential.secret == "refresh-2"
    assert (tmp_path / "helper-url").read_text().strip() == "https://index.docker.io/v1/"


def test_helper_credentials_not_found_is_not_an_error(env: dict[str, str]) -> None:
    fake_helper(env, "test", "echo 'credentials not found in native keychain'\nexit 1\n")
    docker_config(env, {"credsStore": "test"})
    assert resolve_credential(HOST, environ=env) is None


def test_helper_without_the_host_falls_back_to_auths(env: dict[str, str]) -> None:
    fake_helper(env, "test", "echo 'credentials not found in native keychain' >&2\nexit 1\n")
    docker_config(env, {"auths": {HOST: {"auth": b64("filed:pw")}}, "credsStore": "test"})
    credential = resolve_credential(HOST, environ=env)
    assert credential is not None and credential.username == "filed"


def test_failing_helper_names_itself_not_its_output(env: dict[str, str]) -> None:
    fake_helper(env, "test", f"echo 'oops {SECRET}'\necho 'leak {SECRET}' >&2\nexit 3\n")
    docker_config(env, {"credHelpers": {HOST: "test"}})
    with pytest.raises(Unauthorized) as caught:
        resolve_credential(HOST, environ=env)
    assert "docker-credential-test get failed for reg.example.com (exit status 3" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_missing_helper_is_an_input_error(env: dict[str, str]) -> None:
    docker_config(env, {"credsStore": "nonexistent-xyz"})
    with pytest.raises(InputError, match="docker-credential-nonexistent-xyz, which is not on PATH"):
        resolve_credential(HOST, environ=env)


def test_registry_auth_file_then_xdg_runtime_auth_json(env: dict[str, str], tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    write_json(runtime / "containers" / "auth.json", {"auths": {HOST: {"auth": b64("xdg:pw")}}})
    env["XDG_RUNTIME_DIR"] = str(runtime)
    credential = resolve_credential(HOST, environ=env)
    assert credential is not None and credential.username == "xdg"
    assert credential.source.startswith("containers auth.json ")

    env["REGISTRY_AUTH_FILE"] = str(write_json(tmp_path / "auth.json", {"auths": {HOST: {"auth": b64("raf:pw")}}}))
    credential = resolve_credential(HOST, environ=env)
    assert credential is not None and credential.username == "raf"
    assert credential.source.startswith("$REGISTRY_AUTH_FILE ")

    docker_config(env, {"auths": {HOST: {"auth": b64("docker:pw")}}})
    credential = resolve_credential(HOST, environ=env)
    assert credential is not None and credential.username == "docker"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"auths": {"reg.example.com": {"auth": "' + SECRET + '"', ":1: not valid JSON"),
        ('["a"]', "expected a JSON object"),
        ('{"auths": {"reg.example.com": {"auth": "!!' + SECRET + '"}}}', "auth: not base64"),
        ('{"auths": {"reg.example.com": "' + SECRET + '"}}', "expected an object"),
    ],
)
def test_malformed_config_names_the_file_not_the_contents(env: dict[str, str], text: str, message: str) -> None:
    path = Path(env["DOCKER_CONFIG"]) / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(InputError, match=message) as caught:
        resolve_credential(HOST, environ=env)
    assert str(caught.value).startswith(str(path))
    assert SECRET not in str(caught.value)


def test_secret_never_in_repr_or_str() -> None:
    credential = Credential("alice", SECRET, source="--password-stdin")
    assert SECRET not in repr(credential) and SECRET not in str(credential)
    identity = Credential("<token>", SECRET, identity_token=True)
    assert SECRET not in repr(identity)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"auths": ' + "[" * 200_000 + "]" * 200_000 + "}", "nested too deeply"),
        ('{"auths": {}, "n": ' + "9" * 5000 + "}", "number too large"),
        ("\udcff", "not UTF-8"),
    ],
    ids=["nested-200000-deep", "5000-digit-number", "not-utf8"],
)
def test_a_hostile_config_json_is_one_sentence(env: dict[str, str], text: str, message: str) -> None:
    path = Path(env["DOCKER_CONFIG"]) / "config.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(InputError, match=message) as caught:
        resolve_credential(HOST, environ=env)
    assert str(caught.value).startswith(str(path))


def test_an_endless_device_as_config_json_is_refused_after_a_bounded_read(env: dict[str, str]) -> None:
    path = Path(env["DOCKER_CONFIG"]) / "config.json"
    path.parent.mkdir(parents=True)
    path.symlink_to("/dev/zero")
    with pytest.raises(InputError, match=r"config\.json: over 4 MiB; not a credentials file\."):
        resolve_credential(HOST, environ=env)
    with pytest.raises(InputError, match=r"^/dev/zero: over 4 MiB"):
        resolve_credential(HOST, environ={**env, "DOCKER_CONFIG": env["HOME"], "REGISTRY_AUTH_FILE": "/dev/zero"})


def test_an_empty_creds_store_means_the_file(env: dict[str, str]) -> None:
    # Docker's own reading (and the usual WSL and Docker Desktop workaround): "" is no helper.
    docker_config(env, {"auths": {HOST: {"auth": b64("filed:pw")}}, "credsStore": ""})
    credential = resolve_credential(HOST, environ=env)
    assert credential is not None and credential.username == "filed"


def test_an_empty_cred_helper_means_the_file_even_with_a_creds_store(env: dict[str, str], tmp_path: Path) -> None:
    # Docker uses the host's credHelpers entry whenever there is one, so "" skips credsStore too.
    fake_helper(env, "test", f'touch {tmp_path}/store-asked\necho \'{{"Username":"store","Secret":"x"}}\'\n')
    docker_config(env, {"auths": {HOST: {"auth": b64("filed:pw")}}, "credHelpers": {HOST: ""}, "credsStore": "test"})
    credential = resolve_credential(HOST, environ=env)
    assert credential is not None and credential.username == "filed"
    assert not (tmp_path / "store-asked").exists()
    assert resolve_credential("ghcr.io", environ=env) is not None  # other hosts still use the store


@pytest.mark.parametrize("auth", [f"é{SECRET}", f"{SECRET}\u00a0=="])
def test_an_auth_value_with_non_ascii_characters_is_one_sentence_without_the_secret(
    env: dict[str, str], auth: str
) -> None:
    docker_config(env, {"auths": {HOST: {"auth": auth}}})
    with pytest.raises(InputError, match=r"auths\.reg\.example\.com\.auth: not base64 of username:password") as caught:
        resolve_credential(HOST, environ=env)
    assert SECRET not in str(caught.value)
