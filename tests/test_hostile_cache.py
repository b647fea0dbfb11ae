"""The cache under abuse: truncated, from a newer costcalc, shared by two processes, killed
mid-write; and a body that fails verification never enters it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from costcalc.inventory.file import dumps
from costcalc.registry.cache import FILE_NAME, open_cache
from tests.hostile import FakeRegistry, LoopbackServer, digest_of, scan_fake, serve_registry

REPO_ROOT = Path(__file__).resolve().parent.parent


def fleet(repos: int = 3, tags: int = 2) -> FakeRegistry:
    registry = FakeRegistry()
    for r in range(repos):
        for t in range(tags):
            registry.push_image(f"acme/r{r}", f"v{t}")
    return registry


def content(inventory) -> dict:  # type: ignore[no-untyped-def]
    data = json.loads(dumps(inventory))
    data.pop("scanned_at")
    return data


def cached_digests(directory: Path) -> set[str]:
    with sqlite3.connect(directory / FILE_NAME) as db:
        return {row[0] for row in db.execute("SELECT digest FROM blobs")}


def test_body_failing_verification_is_rejected_and_never_cached(tmp_path: Path) -> None:
    registry = fleet(1, 1)
    digest = registry.repos["acme/r0"]["v0"]
    registry.on(
        "GET",
        r"/manifests/sha256:",
        lambda r, m: httpx.Response(
            200,
            content=b'{"schemaVersion":2,"manifests":[]}',
            headers={"Content-Type": "application/vnd.oci.image.index.v1+json"},
        ),
    )
    cache = open_cache(tmp_path)
    assert cache is not None
    inventory = scan_fake(registry, "acme", cache=cache)
    cache.close()
    assert any("does not match" in e.reason for e in inventory.errors)
    assert digest not in cached_digests(tmp_path)
    assert cached_digests(tmp_path) == set()


def test_head_and_get_disagreeing_on_the_digest_is_an_error_not_a_wrong_answer() -> None:
    registry = fleet(1, 1)
    other = registry.push_image("acme/other", "x")
    registry.on(
        "HEAD",
        r"/acme/r0/manifests/v0",
        lambda r, m: httpx.Response(
            200,
            headers={
                "Docker-Content-Digest": digest_of(b"not what GET serves"),
                "Content-Type": "application/vnd.oci.image.manifest.v1+json",
            },
        ),
    )
    inventory = scan_fake(registry, "acme", repos=("acme/r0",))
    assert [e.tag for e in inventory.errors] == ["v0"]
    assert inventory.repositories == () or inventory.repositories[0].tags == ()
    assert other not in inventory.manifests


def test_missing_docker_content_digest_falls_back_to_get_and_hashes_the_body() -> None:
    registry = fleet(1, 2)
    registry.on(
        "HEAD",
        r"/manifests/",
        lambda r, m: httpx.Response(200, headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}),
    )
    inventory = scan_fake(registry, "acme")
    assert inventory.errors == ()
    assert {t.digest for t in inventory.repositories[0].tags} == set(registry.repos["acme/r0"].values())
    # the body came with the fallback GET: no second GET of the same manifest by digest
    assert registry.count("GET", r"/manifests/sha256:") == 0


def test_truncated_cache_file_is_survived_with_correct_results(tmp_path: Path) -> None:
    registry = fleet()
    cache = open_cache(tmp_path)
    assert cache is not None
    expected = content(scan_fake(registry, "acme", cache=cache))
    cache.close()
    path = tmp_path / FILE_NAME
    for size in (path.stat().st_size // 2, 100, 0):
        with path.open("r+b") as handle:
            handle.truncate(size)
        for wal in tmp_path.glob(f"{FILE_NAME}-*"):
            wal.unlink()
        warnings: list[str] = []
        cache = open_cache(tmp_path, warn=warnings.append)
        assert content(scan_fake(registry, "acme", cache=cache)) == expected
        if cache is not None:
            cache.close()


def test_cache_written_by_a_newer_version_is_left_alone(tmp_path: Path) -> None:
    registry = fleet()
    cache = open_cache(tmp_path)
    assert cache is not None
    expected = content(scan_fake(registry, "acme", cache=cache))
    cache.close()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    before = (tmp_path / FILE_NAME).read_bytes()
    warnings: list[str] = []
    cache = open_cache(tmp_path, warn=warnings.append)
    assert cache is None
    assert any("another version" in w for w in warnings)
    assert content(scan_fake(registry, "acme", cache=cache)) == expected
    assert (tmp_path / FILE_NAME).read_bytes() == before


def test_corrupted_rows_are_refetched_not_trusted(tmp_path: Path) -> None:
    registry = fleet()
    cache = open_cache(tmp_path)
    assert cache is not None
    expected = content(scan_fake(registry, "acme", cache=cache))
    cache.close()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("UPDATE blobs SET body = CAST('{\"schemaVersion\": 2}' AS BLOB)")
    cache = open_cache(tmp_path)
    assert content(scan_fake(registry, "acme", cache=cache)) == expected
    assert cache is not None
    cache.close()


# -- other processes ------------------------------------------------------------------

_SCANNER = """
import json, sys
from costcalc.inventory.file import dumps
from costcalc.registry.scan import ScanOptions, run_scan
inventory = run_scan(sys.argv[1], ScanOptions(cache_dir=__import__("pathlib").Path(sys.argv[2]),
                                              concurrency=4))
data = json.loads(dumps(inventory)); data.pop("scanned_at")
print(json.dumps(data, sort_keys=True))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DOCKER_CONFIG": str(tmp_path / "nodocker"),
        "REGISTRY_AUTH_FILE": str(tmp_path / "noauth.json"),
        "PYTHONPATH": str(REPO_ROOT),
    }


def _start(server: LoopbackServer, cache_dir: Path, tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _SCANNER, f"{server.host}/acme", str(cache_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=_env(tmp_path),
    )


def test_two_processes_scanning_at_once_share_the_cache(tmp_path: Path) -> None:
    registry = fleet(4, 3)
    cache_dir = tmp_path / "cache"
    with LoopbackServer() as server:
        registry.host = server.host
        serve_registry(server, registry)
        expected = json.dumps(
            content(scan_fake(registry, "acme", transport=httpx.AsyncHTTPTransport())), sort_keys=True
        )
        first, second = _start(server, cache_dir, tmp_path), _start(server, cache_dir, tmp_path)
        outputs = [p.communicate(timeout=60) for p in (first, second)]
    for process, (stdout, stderr) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, stderr
        assert stdout.strip() == expected
    assert cached_digests(cache_dir) == set(registry.blobs)  # every manifest and config, once


def test_scan_killed_mid_write_then_rerun_gives_correct_results(tmp_path: Path) -> None:
    registry = fleet(6, 3)
    cache_dir = tmp_path / "cache"
    with LoopbackServer() as server:
        registry.host = server.host
        serve_registry(server, registry)
        expected = json.dumps(
            content(scan_fake(registry, "acme", transport=httpx.AsyncHTTPTransport())), sort_keys=True
        )
        drip = registry.repos["acme/r5"]["v2"]
        body = registry.blobs[drip][0]
        # One manifest drips slowly, so the process is still writing others when it is killed.
        server.route("GET", rf"/manifests/{drip}", lambda h: h.slow_body(body, delay=0.05))
        victim = _start(server, cache_dir, tmp_path)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if (cache_dir / FILE_NAME).exists():
                try:
                    if len(cached_digests(cache_dir)) >= 4:
                        break
                except sqlite3.Error:
                    pass
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        victim.communicate(timeout=10)
        assert victim.returncode == -signal.SIGKILL
        stored = cached_digests(cache_dir)
        assert stored, "nothing was stored before the kill"
        server.routes.pop(0)
        before = sum(1 for s in server.seen if s.method == "GET" and "sha256:" in s.path)
        rerun = _start(server, cache_dir, tmp_path)
        stdout, stderr = rerun.communicate(timeout=60)
        fetched = sum(1 for s in server.seen if s.method == "GET" and "sha256:" in s.path) - before
    assert rerun.returncode == 0, stderr
    assert stdout.strip() == expected
    assert fetched <= len(registry.blobs) - len(stored), "the rerun re-fetched what the cache held"
    with sqlite3.connect(cache_dir / FILE_NAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_cache_whose_schema_version_is_not_ascii_digits_is_left_alone(tmp_path: Path) -> None:
    cache = open_cache(tmp_path)
    assert cache is not None
    cache.close()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("UPDATE meta SET value = '²' WHERE key = 'schema_version'")
    warnings: list[str] = []
    assert open_cache(tmp_path, warn=warnings.append) is None
    assert any("another version" in w for w in warnings)
