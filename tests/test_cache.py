"""The SQLite cache: verified bodies only, corruption, foreign files, concurrency, kill safety."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from costcalc.registry.cache import FILE_NAME, default_cache_dir, open_cache
from costcalc.registry.oci import sha256_digest

ROOT = Path(__file__).resolve().parent.parent
BODY = b'{"schemaVersion": 2}'
DIGEST = sha256_digest(BODY)


def test_round_trip_and_only_verified_bodies(tmp_path: Path) -> None:
    cache = open_cache(tmp_path)
    assert cache is not None
    cache.put(DIGEST, BODY, "manifest", "application/vnd.oci.image.manifest.v1+json")
    with pytest.raises(ValueError, match="does not match"):
        cache.put(sha256_digest(b"other"), BODY, "manifest", None)
    got = cache.get(DIGEST)
    assert got is not None and got.body == BODY and got.kind == "manifest"
    assert got.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert cache.get(sha256_digest(b"other")) is None
    cache.close()


def test_corrupt_row_is_ignored_and_deleted(tmp_path: Path) -> None:
    cache = open_cache(tmp_path)
    assert cache is not None
    cache.put(DIGEST, BODY, "manifest", None)
    cache.close()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("UPDATE blobs SET body = ? WHERE digest = ?", (b"tampered", DIGEST))
    cache = open_cache(tmp_path)
    assert cache is not None
    assert cache.get(DIGEST) is None
    cache.close()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("SELECT COUNT(*) FROM blobs").fetchone() == (0,)


def test_newer_schema_is_left_alone_with_a_warning(tmp_path: Path) -> None:
    cache = open_cache(tmp_path)
    assert cache is not None
    cache.close()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    warnings: list[str] = []
    assert open_cache(tmp_path, warn=warnings.append) is None
    assert "schema 99" in warnings[0]
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("SELECT value FROM meta").fetchone() == ("99",)


def test_not_a_database_or_someone_elses_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / FILE_NAME).write_bytes(b"definitely not sqlite" * 100)
    warnings: list[str] = []
    assert open_cache(tmp_path / "a", warn=warnings.append) is None
    assert (tmp_path / "a" / FILE_NAME).read_bytes() == b"definitely not sqlite" * 100
    (tmp_path / "b").mkdir()
    with sqlite3.connect(tmp_path / "b" / FILE_NAME) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    assert open_cache(tmp_path / "b", warn=warnings.append) is None
    assert "not a costcalc cache" in warnings[1]
    assert len(warnings) == 2


def test_default_location_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "costcalc"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "costcalc"


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from costcalc.registry.cache import open_cache
    from costcalc.registry.oci import sha256_digest
    cache = open_cache(Path(sys.argv[1]), warn=print)
    assert cache is not None
    start, count, hang = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "hang"
    for i in range(start, start + count):
        body = b"body %d" % i
        cache.put(sha256_digest(body), body, "config", None)
        print(i, flush=True)
    if hang:
        import time
        time.sleep(60)
""")


def writer(directory: Path, start: int, count: int, hang: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            WRITER,
            str(directory),
            str(start),
            str(count),
            "hang" if hang else "exit",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_two_processes_write_concurrently(tmp_path: Path) -> None:
    first, second = writer(tmp_path, 0, 300), writer(tmp_path, 150, 300)
    outputs = [first.communicate(timeout=60)[0], second.communicate(timeout=60)[0]]
    assert first.returncode == 0 and second.returncode == 0, outputs
    cache = open_cache(tmp_path)
    assert cache is not None
    for i in range(450):
        got = cache.get(sha256_digest(b"body %d" % i))
        assert got is not None and got.body == b"body %d" % i


def test_bodies_survive_sigkill(tmp_path: Path) -> None:
    process = writer(tmp_path, 0, 50, hang=True)
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(50)]
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    assert lines[-1].strip() == "49"
    cache = open_cache(tmp_path)
    assert cache is not None
    assert all(cache.get(sha256_digest(b"body %d" % i)) is not None for i in range(50))
