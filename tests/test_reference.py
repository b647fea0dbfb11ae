"""Targets and names: hosts, ports, IPv6, Docker Hub's API host and library/ prefix, bad input."""

from __future__ import annotations

import pytest

from costcalc.errors import InvalidReference
from costcalc.reference import in_namespace, is_loopback, normalize_repository, parse_target


@pytest.mark.parametrize(
    ("text", "registry", "namespace", "api_host"),
    [
        ("ghcr.io/acme", "ghcr.io", "acme", "ghcr.io"),
        ("docker.io/library", "docker.io", "library", "registry-1.docker.io"),
        ("index.docker.io/acme", "docker.io", "acme", "registry-1.docker.io"),
        ("127.0.0.1:5000/acme/tools", "127.0.0.1:5000", "acme/tools", "127.0.0.1:5000"),
        ("registry.example.com", "registry.example.com", "", "registry.example.com"),
        (
            "https://Registry.Example.com:8443/team/",
            "registry.example.com:8443",
            "team",
            "registry.example.com:8443",
        ),
        ("[::1]:5000/acme", "[::1]:5000", "acme", "[::1]:5000"),
        ("localhost:5000", "localhost:5000", "", "localhost:5000"),
    ],
)
def test_targets(text: str, registry: str, namespace: str, api_host: str) -> None:
    target = parse_target(text)
    assert (target.registry, target.namespace, target.api_host) == (registry, namespace, api_host)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "/acme",
        "ghcr.io//x",
        "ghcr.io/Acme",
        "host:99999/x",
        "host:port/x",
        "ghcr.io/acme/",
        "bad_host!/x",
    ],
)
def test_bad_targets(text: str) -> None:
    if text == "ghcr.io/acme/":  # a trailing slash is tolerated
        assert parse_target(text).namespace == "acme"
        return
    with pytest.raises(InvalidReference):
        parse_target(text)


def test_docker_hub_one_segment_names_get_library() -> None:
    hub, other = parse_target("docker.io/acme"), parse_target("ghcr.io/acme")
    assert normalize_repository(hub, "nginx") == "library/nginx"
    assert normalize_repository(hub, "acme/api") == "acme/api"
    assert normalize_repository(other, "nginx") == "nginx"


def test_namespace_is_a_path_component_prefix() -> None:
    assert in_namespace("acme", "acme/api") and in_namespace("acme", "acme")
    assert not in_namespace("acme", "acme-corp/api") and not in_namespace("acme", "acmex")
    assert in_namespace("", "anything/at/all")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("localhost", True),
        ("[::1]:5000", True),
        ("127.9.9.9", True),
        ("10.0.0.1", False),
        ("ghcr.io", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("text", ["ghcr.io:²/acme", "ghcr.io:١٢/acme", "[::1]:²"])
def test_a_port_of_non_ascii_digits_is_an_invalid_target(text: str) -> None:
    with pytest.raises(InvalidReference, match="not a valid registry host"):
        parse_target(text)


def test_scan_of_a_target_with_a_non_ascii_port_is_one_sentence() -> None:
    from typer.testing import CliRunner

    from costcalc.cli.app import app

    result = CliRunner().invoke(app, ["scan", "ghcr.io:²/acme"])
    assert result.exit_code == 1
    assert "is not a valid registry host[:port]" in result.output
    assert "bug in costcalc" not in result.output
