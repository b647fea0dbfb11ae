"""What a scan is asked to do (pure): apart from the scan driver so that `report` on an inventory
file never imports the HTTP stack."""

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
    # HTTP/1.1 only, even where the registry offers HTTP/2 (`--http1`).
    http1: bool = False
    # A PEM file of extra certificate authorities, trusted beside the system's (`--ca-file`).
    ca_file: Path | None = None
    # Amazon ECR through its API: the AWS profile and region boto3 uses (`--profile`, `--region`).
    aws_profile: str | None = None
    aws_region: str | None = None
