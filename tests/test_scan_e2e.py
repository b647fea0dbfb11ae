"""End to end against the real distribution registry: figures, platforms and request counts."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from costcalc.inventory.model import Inventory
from costcalc.registry.scan import ScanOptions, run_scan
from tests.registryd import Pushed, Pusher, RunningRegistry

ROOT = Path(__file__).resolve().parent.parent
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
BASE = b"base layer shared by everyone " * 40
ARM_BASE = b"arm64 base layer " * 30


def push_acme(push: Pusher) -> dict[str, dict[str, Pushed]]:
    """The scenario: repo -> tag -> what was pushed."""
    tags: dict[str, dict[str, Pushed]] = defaultdict(dict)
    v1 = push.image("acme/api", "v1", [BASE, b"api 1"], created="2026-01-01T00:00:00Z")
    v2 = push.image("acme/api", "v2", [BASE, b"api 1", b"api 2 delta"], created="2026-02-01T00:00:00Z")
    push.tag("acme/api", v2.digest, "latest")
    tags["acme/api"] = {"v1": v1, "v2": v2, "latest": v2}

    amd = push.image("acme/web", None, [BASE, b"web amd64"], platform="linux/amd64")
    arm = push.image("acme/web", None, [ARM_BASE, b"web arm64"], platform="linux/arm64/v8")
    attestations = [push.attestation("acme/web", amd), push.attestation("acme/web", arm)]
    tags["acme/web"]["1.0"] = push.index("acme/web", "1.0", [amd, arm], attestations=attestations)

    worker = push.image("acme/worker", "v1", [BASE, b"worker"], media_type="docker")
    w_amd = push.image("acme/worker", None, [BASE, b"worker 2"], media_type="docker")
    w_arm = push.image(
        "acme/worker",
        None,
        [ARM_BASE, b"worker 2 arm"],
        platform="linux/arm/v7",
        media_type="docker",
    )
    tags["acme/worker"]["v1"] = worker
    tags["acme/worker"]["v2"] = push.index("acme/worker", "v2", [w_amd, w_arm], media_type="docker")

    tags["acme/tools/cli"]["0.1.0"] = push.artifact(
        "acme/tools/cli",
        "0.1.0",
        config_media_type=HELM_CONFIG,
        config=b'{"name":"cli"}',
        layers=[(HELM_CHART, b"chart tarball")],
    )
    tags["acme/tools/cli"]["sbom"] = push.artifact(
        "acme/tools/cli",
        "sbom",
        artifact_type="application/spdx+json",
        layers=[("application/spdx+json", b'{"spdxVersion": "SPDX-2.3"}')],
    )

    push.image("other/x", "v1", [BASE, b"outside the namespace"])
    return tags


# -- the expected values, computed from the pushed bytes alone -------------------------------


def reachable(item: Pushed) -> dict[str, int]:
    blobs = {item.digest: item.size}
    if item.config is not None:
        blobs[item.config["digest"]] = item.config["size"]
    for layer in item.layers:
        blobs[layer["digest"]] = layer["size"]
    for child in item.children:
        blobs.update(reachable(child))
    return blobs


def manifests_of(item: Pushed) -> set[str]:
    return {item.digest}.union(*(manifests_of(c) for c in item.children))


def layers_of(item: Pushed) -> set[str]:
    return {layer["digest"] for layer in item.layers}.union(*(layers_of(c) for c in item.children))


def is_image(item: Pushed) -> bool:
    """Pushed images carry a platform; attestations and artifacts do not."""
    return item.platform is not None and not item.attestation


def image_configs(item: Pushed) -> set[str]:
    own = {item.config["digest"]} if is_image(item) and item.config else set()
    return own.union(*(image_configs(c) for c in item.children))


def expected(tags: dict[str, dict[str, Pushed]], registry: str) -> dict[str, Any]:
    per_repo = {repo: {} for repo in tags}
    naive = 0
    for repo, by_tag in tags.items():
        for item in by_tag.values():
            blobs = reachable(item)
            naive += sum(blobs.values())
            per_repo[repo].update(blobs)
    everything: dict[str, int] = {}
    for blobs in per_repo.values():
        everything.update(blobs)
    layer_repos: dict[str, set[str]] = defaultdict(set)
    for repo, by_tag in tags.items():
        for item in by_tag.values():
            for digest in layers_of(item):
                layer_repos[digest].add(repo)
    all_items = [item for by_tag in tags.values() for item in by_tag.values()]
    return {
        "registry": registry,
        "namespace": "acme",
        "repositories": len(tags),
        "tags": sum(len(t) for t in tags.values()),
        "manifests": len(set().union(*(manifests_of(i) for i in all_items))),
        "blobs": len(everything),
        "unique_bytes": sum(everything.values()),
        "naive_bytes": naive,
        "per_repository_unique_bytes": sum(sum(b.values()) for b in per_repo.values()),
        "shared_layer_bytes": sum(everything[d] for d, repos in layer_repos.items() if len(repos) >= 2),
    }


def expected_platforms(item: Pushed) -> dict[str, int]:
    if item.children:
        return {c.platform: sum(layer["size"] for layer in c.layers) for c in item.children if is_image(c)}
    if not is_image(item):
        return {}
    return {item.platform: sum(layer["size"] for layer in item.layers)}


def cold_requests(tags: dict[str, dict[str, Pushed]]) -> int:
    items = [item for by_tag in tags.values() for item in by_tag.values()]
    manifests = set().union(*(manifests_of(i) for i in items))
    configs = set().union(*(image_configs(i) for i in items))
    list_pages = 1 + len(tags)  # one catalog page, one tags page per repository
    return list_pages + len(items) + len(manifests) + len(configs)


def cli_scan(registry: RunningRegistry, cache_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "costcalc",
            "scan",
            f"{registry.host}/acme",
            "--format",
            "json",
            "--cache-dir",
            str(cache_dir),
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


# -- the tests ------------------------------------------------------------------------------


def test_cold_and_warm_scan_figures_and_requests(registry: RunningRegistry, pusher: Pusher, tmp_path: Path) -> None:
    tags = push_acme(pusher)
    start = registry.access_log_offset()
    result = cli_scan(registry, tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"summary", "images", "errors"}
    assert document["errors"] == []
    assert document["summary"] == expected(tags, registry.host)
    images = {(i["repository"], i["tag"]): i for i in document["images"]}
    assert set(images) == {(repo, tag) for repo, by_tag in tags.items() for tag in by_tag}
    for (repo, tag), image in images.items():
        pushed = tags[repo][tag]
        assert image["digest"] == pushed.digest
        assert image["platforms"] == expected_platforms(pushed), (repo, tag)
        assert image["kind"] == ("artifact" if repo == "acme/tools/cli" else "image")
    assert images["acme/web", "1.0"]["platforms"].keys() == {"linux/amd64", "linux/arm64/v8"}
    assert images["acme/worker", "v2"]["platforms"].keys() == {"linux/amd64", "linux/arm/v7"}

    cold = registry.requests(start)
    assert all(status == 200 for _, _, status in cold), cold
    assert len(cold) == cold_requests(tags), cold
    heads = [uri for method, uri, _ in cold if method == "HEAD"]
    assert len(heads) == sum(len(t) for t in tags.values())
    assert not any("/v2/other/" in uri for _, uri, _ in cold[1:])  # listed, never scanned
    assert not any(uri == "/v2/" for _, uri, _ in cold)  # no ping
    gets = [uri for method, uri, _ in cold if method == "GET" and "/tags/" not in uri]
    assert len(gets) == len(set(gets))  # each manifest and config fetched once

    warm_start = registry.access_log_offset()
    again = cli_scan(registry, tmp_path / "cache")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["summary"] == document["summary"]
    warm = registry.requests(warm_start)
    assert len(warm) == 1 + len(tags) + len(heads)
    assert {method for method, uri, _ in warm if "/manifests/" in uri} == {"HEAD"}


def test_output_file_is_the_inventory_and_stdout_the_summary(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    tags = push_acme(pusher)
    out = tmp_path / "inventory.json"
    result = cli_scan(registry, tmp_path / "cache", "-o", str(out), "--exclude", "acme/tools/*")
    assert result.returncode == 0, result.stderr
    inventory = json.loads(out.read_text())
    assert next(iter(inventory)) == "schema_version"
    assert [r["name"] for r in inventory["repositories"]] == ["acme/api", "acme/web", "acme/worker"]
    web = inventory["manifests"][tags["acme/web"]["1.0"].digest]
    assert sum(1 for child in web["children"] if child["attestation"]) == 2
    api_v1 = inventory["manifests"][tags["acme/api"]["v1"].digest]
    assert api_v1["platform"] == "linux/amd64"
    assert api_v1["created"].startswith("2026-01-01T00:00:00")
    assert json.loads(result.stdout)["summary"]["repositories"] == 3


class Interrupted(BaseException):
    """Stands in for a kill: not an error the scanner may catch."""


class StopAfter(httpx.AsyncBaseTransport):
    """Forwards to the real registry and interrupts the scan after LIMIT manifest/blob GETs."""

    def __init__(self, limit: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.limit = limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and "/sha256:" in request.url.path:
            if self.limit == 0:
                raise Interrupted
            self.limit -= 1
        return await self.inner.handle_async_request(request)


def settled_offset(registry: RunningRegistry) -> int:
    """The access log's length once it has stopped growing for 300 ms (at most 5 s)."""
    deadline = time.monotonic() + 5
    offset = registry.access_log_offset()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = registry.access_log_offset()
        if now == offset:
            return offset
        offset = now
    return offset


def test_interrupted_scan_resumes_from_the_cache(registry: RunningRegistry, pusher: Pusher, tmp_path: Path) -> None:
    tags = push_acme(pusher)
    options = ScanOptions(cache_dir=tmp_path / "cache", concurrency=2)
    with pytest.raises(Interrupted):
        run_scan(f"{registry.host}/acme", options, transport=StopAfter(5))
    # A request of the interrupted scan may still be in the registry's hands: the registry
    # logs it when it answers, so wait for the log to settle before counting the rerun.
    start = settled_offset(registry)
    inventory = run_scan(f"{registry.host}/acme", options)
    assert inventory.figures.summary().model_dump() == expected(tags, registry.host)
    fetched = [uri for method, uri, _ in registry.requests(start) if method == "GET" and "/sha256:" in uri]
    cold_fetches = cold_requests(tags) - (1 + len(tags)) - sum(len(t) for t in tags.values())
    # At most 5 bodies were fetched before the interruption, each stored at once.
    assert cold_fetches - 5 <= len(fetched) < cold_fetches
    assert len(fetched) == len(set(fetched))


class CountingRelay:
    """A TCP relay in front of the registry that counts the connections clients open."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:  # closed
                return
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._server.close()


@pytest.mark.parametrize("concurrency", [4, 64])
def test_connections_are_reused_and_never_exceed_the_concurrency(
    registry: RunningRegistry, pusher: Pusher, concurrency: int
) -> None:
    for service in range(4):
        for version in range(6):
            pusher.image(f"load/svc-{service}", f"v{version}", [BASE, f"svc {service} v{version}".encode()])
    relay = CountingRelay(int(registry.host.rsplit(":", 1)[1]))
    try:
        inventory = run_scan(f"127.0.0.1:{relay.port}/load", ScanOptions(concurrency=concurrency, use_cache=False))
    finally:
        relay.close()
    assert inventory.figures.summary().tags == 24
    requests = 1 + 4 + 3 * 24  # catalog, tag lists, then a HEAD, a manifest and a config per tag
    # Kept-alive connections carry many requests each, and no more are open than requests
    # can be in flight at once, plus the one that found the loopback port does not speak TLS.
    assert 2 <= relay.connections <= min(concurrency, 24) + 1
    assert relay.connections * 3 <= requests


def test_the_scanned_inventory_is_never_formatted_on_the_way_out(
    registry: RunningRegistry, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # asyncio.run() formats the repr of its main task (and so of the task's result) when it
    # restores the SIGINT handler: on a large registry, a repr of the whole inventory.
    pusher.image("acme/api", "v1", [BASE, b"api 1"])

    formatted: list[object] = []

    def record(self: object) -> str:
        formatted.append(self)  # (asyncio's reprlib would swallow an exception raised here)
        return "Inventory(...)"

    monkeypatch.setattr(Inventory, "__repr__", record)
    inventory = run_scan(f"{registry.host}/acme", ScanOptions(use_cache=False))
    assert inventory.figures.summary().tags == 1
    assert formatted == []
