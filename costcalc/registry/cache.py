"""Content-addressed SQLite cache of verified manifest and config bodies, shared between runs."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SCHEMA_VERSION = 1
FILE_NAME = "cache.sqlite3"
BUSY_TIMEOUT_MS = 10_000

BodyKind = Literal["manifest", "config"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (
    digest TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    media_type TEXT,
    body BLOB NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class CachedBody:
    """A body read back from the cache, already re-verified against its digest."""

    digest: str
    kind: BodyKind
    media_type: str | None
    body: bytes


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/costcalc, else ~/.cache/costcalc."""
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "costcalc"


def _matches(body: bytes, digest: str) -> bool:
    algorithm, _, expected = digest.partition(":")
    return algorithm in ("sha256", "sha512") and hashlib.new(algorithm, body).hexdigest() == expected


class Cache:
    """Bodies by digest; only verified bodies go in, and every read is verified again."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self.hits = 0
        self.stores = 0

    def get(self, digest: str) -> CachedBody | None:
        """The body stored under DIGEST, or None (a row that fails verification is deleted)."""
        try:
            row = self._db.execute("SELECT kind, media_type, body FROM blobs WHERE digest = ?", (digest,)).fetchone()
            if row is None:
                return None
            kind, media_type, body = row
            if not isinstance(body, bytes) or kind not in ("manifest", "config") or not _matches(body, digest):
                self._db.execute("DELETE FROM blobs WHERE digest = ?", (digest,))
                return None
        except sqlite3.Error:  # a busy or damaged cache only costs a fetch
            return None
        self.hits += 1
        return CachedBody(digest=digest, kind=kind, media_type=media_type, body=body)

    def put(self, digest: str, body: bytes, kind: BodyKind, media_type: str | None) -> None:
        """Store BODY under DIGEST, committed at once; a BODY not hashing to DIGEST is refused."""
        if not _matches(body, digest):
            raise ValueError(f"refusing to cache {digest}: the body does not match the digest")
        try:
            self._db.execute(
                "INSERT OR IGNORE INTO blobs (digest, kind, media_type, body) VALUES (?, ?, ?, ?)",
                (digest, kind, media_type, body),
            )
        except sqlite3.Error:  # a full disk or a lock held too long: the next run fetches it again
            return
        self.stores += 1

    def close(self) -> None:
        self._db.close()


def open_cache(directory: Path | None = None, *, warn: Callable[[str], None] | None = None) -> Cache | None:
    """Open (creating if needed) DIRECTORY/cache.sqlite3; None with a warning if it is unusable.

    A file that is not a SQLite database, belongs to something else, or was written by a newer
    costcalc is left untouched: the run goes on without a cache.
    """
    path = (directory or default_cache_dir()) / FILE_NAME
    say = warn or (lambda _message: None)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: each stored body is durable at once, so a killed run keeps what it stored.
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        say(f"cannot open the cache {path} ({exc}); continuing without it.")
        return None
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Inspect and create under one write lock: a second run opening a new cache waits here
        # instead of seeing half-made tables and taking the cache for someone else's.
        db.execute("BEGIN IMMEDIATE")
        problem = _foreign(db, path)
        if problem is not None:
            db.execute("ROLLBACK")
            say(problem)
            db.close()
            return None
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        db.execute("COMMIT")
        # WAL lets readers and one writer work at once; only ever set on our own file.
        db.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL still keeps every committed row across a killed process (only an
        # OS crash may lose the last commits, which a rescan refetches); FULL fsyncs every put.
        db.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:
        say(f"cannot use the cache {path} ({exc}); continuing without it.")
        db.close()
        return None
    return Cache(db, path)


def _foreign(db: sqlite3.Connection, path: Path) -> str | None:
    """Why the database at PATH is not ours to use, or None if it is ours (or new)."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and "meta" not in tables:
        return f"{path} is not a costcalc cache; leaving it alone and continuing without a cache."
    if "meta" in tables and _stored_version(db) != SCHEMA_VERSION:
        return (
            f"the cache {path} was written by another version of costcalc "
            f"(schema {_stored_version(db)}, this one uses {SCHEMA_VERSION}); "
            "continuing without a cache."
        )
    return None


def _stored_version(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row and str(row[0]).isascii() and str(row[0]).isdigit() else -1
