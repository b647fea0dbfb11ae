"""rebase: against the real distribution registry: projected from apps on a large base, equal to
the same apps rebuilt on a small base and scanned, to the byte."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from costcalc import report as costs
from costcalc.inventory import file as inventory_file
from costcalc.inventory import model as inventory
from costcalc.report.savings import scenario_results
from costcalc.scenarios.projection import project
from costcalc.scenarios.spec import parse_spec
from tests.registryd import Pusher, RunningRegistry
from tests.test_scenarios_e2e import book

pytestmark = pytest.mark.registry

ROOT = Path(__file__).resolve().parent.parent


def blob(text: str, size: int) -> bytes:
    return (text.encode() * (size // len(text) + 1))[:size]


# Layer sizes of the two bases have as many digits, so manifests that list them are as long:
# the projection keeps each image's manifest and config sizes, and so does this rebuild.
LARGE = [blob("debian bookworm rootfs ", 600_000), blob("node 20 runtime ", 400_000)]
SMALL = [blob("distroless static ", 150_000), blob("node 20 slim ", 100_000)]
APPS = {
    "api": [("v1", blob("api one ", 50_000), "2026-01-01"), ("v2", blob("api two ", 60_000), "2026-02-01")],
    "web": [("v1", blob("web one ", 70_000), "2026-01-15")],
}


def push_fleet(push: Pusher, namespace: str, base: list[bytes]) -> None:
    """NAMESPACE/base:1 and the apps built on it (FROM NAMESPACE/base:1, one layer of their own)."""
    push.image(f"{namespace}/base", "1", base, created="2025-12-01T00:00:00Z")
    for app, versions in APPS.items():
        for tag, layer, day in versions:
            pushed = push.image(f"{namespace}/{app}", tag, [*base, layer], created=f"{day}T00:00:00Z")
        push.tag(f"{namespace}/{app}", pushed.digest, "latest")


def scan(registry: RunningRegistry, tmp_path: Path, namespace: str) -> inventory.Inventory:
    out = tmp_path / f"{namespace}.json"
    done = subprocess.run(
        [sys.executable, "-m", "costcalc", "scan", f"{registry.host}/{namespace}", "-o", str(out), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return inventory_file.load(out)


@pytest.mark.parametrize("dedup", ["registry", "repository"])
def test_rebase_projection_equals_the_scan_of_the_apps_rebuilt_on_the_small_base(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path, dedup: str
) -> None:
    push_fleet(pusher, "large", LARGE)
    push_fleet(pusher, "small", SMALL)
    large, small = scan(registry, tmp_path, "large"), scan(registry, tmp_path, "small")
    price_book = book(dedup)
    baseline = costs.measure(large, None, price_book)
    spec = parse_spec(f"rebase:large/base:1={registry.host}/small/base:1")
    (projection,) = project(large, price_book, baseline, [spec], bases=small)
    rebuilt = costs.measure(small, None, price_book)

    def figures(rows: tuple[costs.RowQuantities, ...]) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
        return {r.repository.split("/", 1)[1]: (r.storage_bytes, r.image_bytes, r.pull_bytes) for r in rows}

    assert figures(projection.quantities.rows) == figures(rebuilt.rows)
    (result,) = scenario_results(large, price_book, baseline, [spec], months=12, bases=small)
    total = sum((r.storage_bytes for r in baseline.rows), Decimal(0)) - result.bytes_freed
    stored = small.figures.unique_bytes if dedup == "registry" else small.figures.per_repository_unique_bytes
    assert total == stored
    assert stored < (large.figures.unique_bytes if dedup == "registry" else large.figures.per_repository_unique_bytes)


def test_report_finds_the_base_and_prices_the_rebase_with_bases_scanned_on_the_fly(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    push_fleet(pusher, "large", LARGE)
    push_fleet(pusher, "small", SMALL)
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "repository,pulls_per_month,deploys_per_month,nodes\nlarge/api,100,30,5\nlarge/web,10,,\n", encoding="utf-8"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "costcalc",
            "report",
            f"{registry.host}/large",
            "--bases",
            f"{registry.host}/small",
            "--usage",
            str(usage),
            "--scenario",
            "rebase:large/base:1=small/base:1",
            "--format",
            "json",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (base,) = report["bases"]
    assert (base["name"], base["origin"], base["layers"]) == ("large/base:1", "inventory", 2)
    assert base["size_bytes"] == sum(map(len, LARGE))
    assert base["repositories"] == ["large/api", "large/web"]
    assert base["egress_bytes"] == (100 + 10) * sum(map(len, LARGE))  # cold pulls only
    (scenario,) = report["scenarios"]
    # five nodes of large/api fetch the small base once; large/web names no nodes
    assert scenario["migration_bytes"] == 5 * sum(map(len, SMALL))
    assert scenario["bytes_freed"] > 0
