"""Shared fixtures: a real distribution registry per test, and moto's ECR server (fail, never skip, if missing);
and no DNS lookups from the tests' own process."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from costcalc.registry import network
from tests.motoserver import RunningMoto, aws_environment, start_moto
from tests.registryd import Pusher, RunningRegistry, start_registry

# The host names the tests give to registries and token servers, and what they resolve to. A
# token server's address decides whether costcalc asks it (an internal one is refused), so a
# test must not depend on what this machine's DNS or /etc/hosts says about `registry.test`.
# These stand for hosts on the internet: example.com's address, which nothing connects to
# (resolve only tells how internal a host is; the requests go to the tests' mock transports).
PUBLIC_ADDRESS = "93.184.215.14"
RESOLVED = {name: [PUBLIC_ADDRESS] for name in ("registry.test", "auth.test", "auth.example.com")}


def _numeric(host: str) -> bool:
    """True for an IP address in any spelling getaddrinfo takes without DNS (127.1, 0x7f000001)."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        try:
            socket.inet_aton(host)
        except OSError:
            return False
    return True


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """costcalc's own lookups (network.resolve) answered from RESOLVED; IP addresses and
    localhost as the system answers them; any other name fails the test (added to RESOLVED
    if it is meant). Subprocesses are not covered: they are given IP addresses or localhost."""
    real = network.resolve
    strays: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        if host.lower() in RESOLVED:
            return RESOLVED[host.lower()]
        if _numeric(host) or host.lower() == "localhost":
            return await real(host, port)
        strays.append(host)
        # not an OSError, which costcalc takes for a name that does not resolve
        raise AssertionError(f"{host}: looked up in DNS by a test; add it to RESOLVED in tests/conftest.py")

    monkeypatch.setattr(network, "resolve", resolve)
    yield
    if strays:
        pytest.fail(
            f"the test looked up {', '.join(sorted(set(strays)))} in DNS; add them to RESOLVED in tests/conftest.py"
        )


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RunningRegistry]:
    """A fresh `docker-registry` on a free 127.0.0.1 port with storage under tmp_path."""
    running = start_registry(tmp_path / "registry")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def pusher(registry: RunningRegistry) -> Iterator[Pusher]:
    """A Pusher bound to the `registry` fixture."""
    push = Pusher(registry.url)
    try:
        yield push
    finally:
        push.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite tests/golden/* from the current output instead of comparing.",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """golden(NAME, TEXT): TEXT must equal tests/golden/NAME (rewritten with --update-golden)."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, text: str) -> None:
        path = Path(__file__).parent / "golden" / name
        if update:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
            return
        assert path.exists(), f"{path} is missing: run pytest --update-golden"
        assert text == path.read_bytes().decode("utf-8"), f"{name} differs: run pytest --update-golden"

    return check


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMoto]:
    """One moto server (Amazon ECR's API on loopback) for the whole run."""
    server = start_moto(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto(moto_server: RunningMoto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunningMoto:
    """The moto server, emptied, with only fake credentials in the environment."""
    moto_server.reset()
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in aws_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    return moto_server
