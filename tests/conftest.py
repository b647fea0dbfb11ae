"""Shared fixtures: a real distribution registry per test, and moto's ECR server (fail, never skip, if missing)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.motoserver import RunningMoto, aws_environment, start_moto
from tests.registryd import Pusher, RunningRegistry, start_registry


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
