"""A fleet of two registries on two books, made of the README's example inventory, for render tests."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from costcalc.inventory.file import load
from costcalc.pricing.book_file import load_book
from costcalc.report import Member, Report, build_fleet
from costcalc.usage.file import load_usage
from tests.inventory_builders import by_registry

EXAMPLES = Path(__file__).parent.parent / "examples"
PINNED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def fleet_report(*, max_age: timedelta | None = None, ghcr_scanned_days_ago: int = 0) -> Report:
    """examples/fleet.json on aws-ecr with its usage, and the same inventory as ghcr.io on
    github-packages without usage (scanned GHCR_SCANNED_DAYS_AGO days before it), time pinned."""
    example = load(EXAMPLES / "fleet.json")
    ghcr = dataclasses.replace(
        example, registry="ghcr.io", scanned_at=example.scanned_at - timedelta(days=ghcr_scanned_days_ago)
    )
    registries = by_registry([("examples/fleet.json", example), ("ghcr.json", ghcr)])
    books = {"ghcr.io": load_book("github-packages"), "registry.example.com": load_book("aws-ecr")}
    usage = load_usage(EXAMPLES / "usage.csv")
    members = [
        Member(r, (books[r.registry],), usage if r.registry == "registry.example.com" else None) for r in registries
    ]
    report = build_fleet(members, generated_at=PINNED, max_age=max_age)
    # pinned so that a release does not change the goldens; base images have goldens of their own
    here = f"{EXAMPLES.parent}/"  # the usage file's path in warnings, as the README's command line names it
    return report.model_copy(
        update={
            "tool_version": "0.0.0+golden",
            "bases": (),
            "usage_source": "examples/usage.csv",
            "warnings": tuple(w.replace(here, "") for w in report.warnings),
        }
    )
