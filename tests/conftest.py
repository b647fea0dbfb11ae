"""Shared fixtures: a real distribution registry per test (fails, never skips, if missing)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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
