"""Scenarios against the real distribution registry: retention projected, then done for real."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from costcalc import report as costs
from costcalc.inventory import file as inventory_file
from costcalc.inventory import model as inventory
from costcalc.report.savings import scenario_results
from costcalc.scenarios.projection import measured_ratio
from costcalc.scenarios.retention import exclusive_version_bytes, retention_plan
from costcalc.scenarios.spec import parse_spec
from tests.inventory_builders import flat_book
from tests.registryd import BINARY, Pusher, RunningRegistry, start_registry

pytestmark = pytest.mark.registry

ROOT = Path(__file__).resolve().parent.parent
BASE = b"debian-ish base layer shared by every version and by ns/web " * 200
COSIGN = "application/vnd.dev.cosign.simplesigning.v1+json"


book = flat_book


def scan(registry: RunningRegistry, tmp_path: Path, name: str) -> inventory.Inventory:
    out = tmp_path / f"{name}.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "costcalc",
            "scan",
            f"{registry.host}/ns",
            "-o",
            str(out),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return inventory_file.load(out)


def stored_blob_bytes(storage: Path) -> int:
    """What the registry keeps on disk: every blob's data file (layers, configs, manifests)."""
    return sum(p.stat().st_size for p in (storage / "docker/registry/v2/blobs").rglob("data"))


def push_versions(push: Pusher) -> None:
    """ns/api: four versions on one base (v4 = latest), v1 signed; ns/web on the same base."""
    for n in range(1, 5):
        pushed = push.image(
            "ns/api",
            f"v{n}",
            [BASE, f"api {n} ".encode() * (100 * n)],
            created=f"2026-0{n}-01T00:00:00Z",
        )
        if n == 1:
            hex_digest = pushed.digest.removeprefix("sha256:")
            push.artifact(
                "ns/api",
                f"sha256-{hex_digest}.sig",
                artifact_type=COSIGN,
                layers=[(COSIGN, b'{"critical": {"image": "' + pushed.digest.encode() + b'"}}')],
            )
    push.tag("ns/api", pushed.digest, "latest")
    push.image("ns/web", "latest", [BASE, b"web " * 300], created="2026-04-01T00:00:00Z")


def test_retention_projection_matches_what_garbage_collection_leaves(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    push_versions(pusher)
    before = scan(registry, tmp_path, "before")
    price_book = book()
    baseline = costs.measure(before, None, price_book)
    (result,) = scenario_results(before, price_book, baseline, [parse_spec("retention:2")], months=12)
    projected = sum((r.storage_bytes for r in baseline.rows), Decimal(0)) - result.bytes_freed

    # the versions and signature the projection drops, deleted for real by digest
    plan = retention_plan(before, "ns/api", parse_spec("retention:2").effect)  # type: ignore[arg-type]
    assert plan.kept_tags == {"v3", "v4", "latest"}
    dropped = {
        t.digest for r in before.repositories if r.name == "ns/api" for t in r.tags if t.tag not in plan.kept_tags
    }
    assert len(dropped) == 3  # v1, v2 and v1's signature
    for digest in sorted(dropped):
        deleted = httpx.delete(f"{registry.url}/v2/ns/api/manifests/{digest}")
        assert deleted.status_code == 202, deleted.text

    registry.stop()
    gc = subprocess.run(
        [BINARY, "garbage-collect", "--delete-untagged", str(registry.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert gc.returncode == 0, gc.stderr
    storage = registry.config_path.parent / "storage"
    restarted = start_registry(registry.config_path.parent)
    try:
        after = scan(restarted, tmp_path, "after")
    finally:
        restarted.stop()

    remaining = after.figures.unique_bytes
    assert stored_blob_bytes(storage) == remaining  # GC left exactly what the tags reach
    assert projected == remaining  # and the projection said so, to the byte
    assert result.bytes_freed == before.figures.unique_bytes - remaining
    # what v1 and v2 held alone (their own layer, v1 also its signature) is what went
    exclusive = {v.tags: size for v, size in exclusive_version_bytes(before, "ns/api")}
    assert exclusive[("v1",)] + exclusive[("v2",)] == result.bytes_freed


def test_measured_ratio_of_two_real_tags(registry: RunningRegistry, pusher: Pusher, tmp_path: Path) -> None:
    fat = [BASE, b"build toolchain " * 500]
    slim = [b"runtime only " * 100]
    pusher.image("ns/app", "1.0", fat, created="2026-01-01T00:00:00Z")
    pusher.image("ns/app", "1.0-slim", slim, created="2026-01-02T00:00:00Z")
    pusher.image("ns/app", "1.0-arm", slim, platform="linux/arm64", created="2026-01-03T00:00:00Z")
    scanned = scan(registry, tmp_path, "app")
    spec = parse_spec("measured:ns/app:1.0=1.0-slim")
    ratio = measured_ratio(scanned, spec.effect)  # type: ignore[arg-type]
    assert ratio == Decimal(sum(map(len, slim))) / Decimal(sum(map(len, fat)))

    price_book = book()
    baseline = costs.measure(scanned, None, price_book)
    (result,) = scenario_results(scanned, price_book, baseline, [spec], months=12)
    # storage only: the repository's storage scales by the measured ratio
    # (r is recomputed from the pulled image's bytes, so allow the last of 28 digits to differ)
    assert abs(result.bytes_freed - scanned.figures.unique_bytes * (1 - ratio)) < Decimal("1e-9")

    other_platform = parse_spec("measured:ns/app:1.0=1.0-arm")
    with pytest.raises(Exception, match="has no linux/amd64 image"):
        scenario_results(scanned, price_book, baseline, [other_platform], months=12)


def test_referrers_follow_their_subject_on_a_real_registry(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    """v1 with an OCI referrers index (an SBOM) under `sha256-<v1>`, v2 with a cosign signature
    under `sha256-<v2>.sig`, no `latest`: neither referrer is a version nor the pulled tag, and
    retention:1 drops v1 with its index and keeps v2 with its signature, as GC then confirms."""
    v1 = pusher.image("ns/api", "v1", [BASE, b"api one " * 300], created="2026-01-01T00:00:00Z")
    v2 = pusher.image("ns/api", "v2", [BASE, b"api two " * 300], created="2026-02-01T00:00:00Z")
    sbom = pusher.artifact(
        "ns/api", None, artifact_type="application/spdx+json", layers=[("application/spdx+json", b"{}" * 700)]
    )
    index_tag = f"sha256-{v1.digest.removeprefix('sha256:')}"
    pusher.index("ns/api", index_tag, [sbom])
    sig_tag = f"sha256-{v2.digest.removeprefix('sha256:')}.sig"
    pusher.artifact("ns/api", sig_tag, artifact_type=COSIGN, layers=[(COSIGN, b"signature of v2")])
    before = scan(registry, tmp_path, "before")

    price_book = book()
    baseline = costs.measure(before, None, price_book)
    (row,) = baseline.rows
    assert row.pulled_tag == "v2"
    plan = retention_plan(before, "ns/api", parse_spec("retention:1").effect)  # type: ignore[arg-type]
    assert plan.kept_tags == {"v2", sig_tag}
    assert [v.tags for v in plan.dropped] == [("v1",)]
    (result,) = scenario_results(before, price_book, baseline, [parse_spec("retention:1")], months=12)
    assert [(v.tags, v.dropped) for v in result.versions] == [(("v1",), True), (("v2",), False)]

    for tag in ("v1", index_tag):
        digest = next(t.digest for r in before.repositories for t in r.tags if t.tag == tag)
        assert httpx.delete(f"{registry.url}/v2/ns/api/manifests/{digest}").status_code == 202
    registry.stop()
    gc = subprocess.run(
        [BINARY, "garbage-collect", "--delete-untagged", str(registry.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert gc.returncode == 0, gc.stderr
    restarted = start_registry(registry.config_path.parent)
    try:
        after = scan(restarted, tmp_path, "after")
    finally:
        restarted.stop()
    assert result.bytes_freed == before.figures.unique_bytes - after.figures.unique_bytes > 0
    assert v2.digest in {t.digest for r in after.repositories for t in r.tags}


def test_a_referrer_found_by_its_subject_field_follows_its_subject_on_a_real_registry(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    """An SBOM pushed under an ordinary tag (`v1-sbom`), after v2, naming v1 as its `subject`:
    the scan records the subject, the SBOM is neither a version nor the pulled tag, and
    retention:1 drops it with v1."""
    v1 = pusher.image("ns/web", "v1", [BASE, b"web one " * 300], created="2026-01-01T00:00:00Z")
    pusher.image("ns/web", "v2", [BASE, b"web two " * 300], created="2026-02-01T00:00:00Z")
    sbom = pusher.artifact(
        "ns/web",
        "v1-sbom",
        artifact_type="application/spdx+json",
        layers=[("application/spdx+json", b"{}" * 500)],
        subject=v1,
    )
    scanned = scan(registry, tmp_path, "subject")

    assert scanned.manifests[sbom.digest].subject == v1.digest
    price_book = book()
    baseline = costs.measure(scanned, None, price_book)
    (row,) = baseline.rows
    assert row.pulled_tag == "v2"
    plan = retention_plan(scanned, "ns/web", parse_spec("retention:1").effect)  # type: ignore[arg-type]
    assert plan.kept_tags == {"v2"}
    assert [v.tags for v in plan.dropped] == [("v1",)]
    (result,) = scenario_results(scanned, price_book, baseline, [parse_spec("retention:1")], months=12)
    # v1's own layer and manifest and config, and the whole SBOM: nothing else reaches them
    reached_by_v2 = set(
        scanned.figures.reachable(next(t.digest for t in scanned.repositories[0].tags if t.tag == "v2"))
    )
    dropped = {**scanned.figures.reachable(v1.digest), **scanned.figures.reachable(sbom.digest)}
    assert result.bytes_freed == sum(size for blob, size in dropped.items() if blob not in reached_by_v2)


def test_retentions_horizon_saving_grows_with_the_horizon_on_a_real_registry(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    """Eight versions pushed ten days apart (three a month), each with a layer of its own: the
    baseline keeps growing, retention:2 holds two versions, so the saving per month widens and
    the horizon saving grows faster than the horizon."""
    for n in range(8):
        created = f"2026-{9 + (n * 10) // 30:02d}-{1 + (n * 10) % 30:02d}T00:00:00Z"
        pusher.image("ns/svc", f"v{n}", [BASE, f"service build {n} ".encode() * 4000], created=created)
    scanned = scan(registry, tmp_path, "growth")

    saving = {}
    for months in (6, 12, 24):
        report = costs.build(scanned, None, [book()], scenarios=[parse_spec("retention:2")], months=months)
        (result,) = report.scenarios
        assert report.totals.horizon_cost == sum(m.monthly_cost for m in report.monthly)
        saving[months] = result.horizon_savings
    assert 0 < saving[6] < saving[12] < saving[24]
    assert saving[24] / 24 > saving[6] / 6  # a wider gap every month, not the same saving x N
