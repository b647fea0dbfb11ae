"""What a scan is asked to do (pure): apart from scan.py so that `report` on an inventory file
never imports the HTTP stack (httpx and asyncio take ~0.1 s to import)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """What `costcalc scan` (and `report` scanning on the fly) was asked to do; no typer here."""

    repos: tuple[str, ...] = ()
    repos_file: Path | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    plain_http: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_cache: bool = True
    cache_dir: Path | None = None
