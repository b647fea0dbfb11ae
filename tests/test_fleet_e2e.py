"""A fleet end to end: two namespaces of one real registry and a second registry, scanned as separate
jobs, reported together with two books.

The fleet's totals must equal the reports of each registry made separately (the first from
one scan of the whole registry, so the merge of its two namespaces is checked against a
scan that never merged anything), and the layer the two namespaces share must be stored
as each book's dedup scope says: once under a registry-scoped book, once per repository
under a repository-scoped one. Then what guards a scheduled fleet: skipped tags, empty
namespaces, a scan that fails as a whole, --max-age and --strict.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
from typer.testing import CliRunner, Result

from costcalc.cli.app import app
from tests.registryd import Pushed, Pusher, RunningRegistry, start_registry

SHARED = bytes(range(256)) * 1024  # 256 KiB: the layer both namespaces of the first registry use
USER = "costcalc-reader"
PASSWORD = "pw-" + secrets.token_hex(12)
MONEY = ("storage_cost", "egress_cost", "monthly_cost", "horizon_cost")


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


def ok(*args: str, stdin: str | None = None) -> Result:
    result = run(*args, stdin=stdin)
    assert result.exit_code == 0, result.stderr
    return result


def report_json(*args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ok("report", *args, "--format", "json", "-q").stdout, parse_float=Decimal)
    return data


def blobs_of(item: Pushed) -> dict[str, int]:
    """Every blob an image's tag keeps stored: its manifest, config and layers, by digest."""
    assert item.config is not None
    return {item.digest: item.size, item.config["digest"]: item.config["size"]} | {
        layer["digest"]: layer["size"] for layer in item.layers
    }


@dataclass
class Fleet:
    first: RunningRegistry  # namespaces acme and beta
    second: RunningRegistry  # namespace corp, behind a password
    images: dict[str, list[Pushed]]  # repository -> its images, in the first registry
    corp: Pushed
    inventories: Path
    books: Path
    usage: Path

    def scan_second(self, *extra: str, password: str = PASSWORD) -> Result:
        return run(
            "scan",
            f"{self.second.host}/corp",
            "--username",
            USER,
            "--password-stdin",
            "-o",
            str(self.inventories / "corp.json"),
            "--no-cache",
            "-q",
            *extra,
            stdin=password,
        )

    def glob(self, registry: RunningRegistry, book: str) -> str:
        return f"{registry.host}={self.books / book}.toml"

    def bytes_stored(self, dedup_scope: str) -> int:
        """What the first registry stores, computed from the pushed bytes alone."""
        per_repository = [{k: v for i in images for k, v in blobs_of(i).items()} for images in self.images.values()]
        if dedup_scope == "registry":
            return sum({k: v for blobs in per_repository for k, v in blobs.items()}.values())
        return sum(sum(blobs.values()) for blobs in per_repository)


def write_books(directory: Path) -> None:
    """Two custom books at 1,000 USD per GiB-month, so a few hundred KiB cost dollars, not fractions of
    a cent: one registry-scoped (a self-hosted bucket), one repository-scoped (ECR), and an EUR one."""
    directory.mkdir()
    for name, parent, currency in (
        ("per-registry", "s3-self-hosted", "USD"),
        ("per-repository", "aws-ecr", "USD"),
        ("in-euros", "aws-ecr", "EUR"),
    ):
        (directory / f"{name}.toml").write_text(
            f'id = "{name}"\nextends = "{parent}"\nname = "{name}"\ncurrency = "{currency}"\n'
            "[storage]\nfree = 0\ntiers = [{ price = 1000 }]\n",
            encoding="utf-8",
        )


@pytest.fixture
def fleet(registry: RunningRegistry, pusher: Pusher, tmp_path: Path) -> Iterator[Fleet]:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"{USER}:{bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    second = start_registry(tmp_path / "second", auth={"htpasswd": {"realm": "test", "path": str(htpasswd)}})
    try:
        images = {
            "acme/api": [
                pusher.image("acme/api", "v1", [SHARED, b"api 1"], created="2026-10-01T00:00:00Z"),
                pusher.image("acme/api", "v2", [SHARED, b"api 1", b"api 2"], created="2026-11-01T00:00:00Z"),
            ],
            "beta/web": [pusher.image("beta/web", "1.0", [SHARED, b"web"])],
        }
        basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        other = Pusher(second.url, headers={"Authorization": f"Basic {basic}"})
        corp = other.image("corp/app", "v1", [SHARED, b"app"])  # the same layer, in another registry
        other.close()
        inventories = tmp_path / "inventories"
        inventories.mkdir()
        usage = tmp_path / "usage.csv"
        usage.write_text(
            "repository,team,source,pulls_per_month,tag\nacme/api,api,internet,400000,v2\nbeta/web,web,internet,100,\n",
            encoding="utf-8",
        )
        write_books(tmp_path / "books")
        found = Fleet(registry, second, images, corp, inventories, tmp_path / "books", usage)
        for namespace in ("acme", "beta"):
            ok("scan", f"{registry.host}/{namespace}", "-o", str(inventories / f"{namespace}.json"), "--no-cache", "-q")
        assert found.scan_second().exit_code == 0
        yield found
    finally:
        second.stop()


def by_registry(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["registry"]: entry for entry in report["registries"]}


@pytest.mark.parametrize(
    ("first_book", "second_book"), [("per-registry", "per-repository"), ("per-repository", "per-registry")]
)
def test_the_fleet_is_the_sum_of_its_registries_each_stored_as_its_book_says(
    fleet: Fleet, tmp_path: Path, first_book: str, second_book: str
) -> None:
    whole = tmp_path / "whole-first-registry.json"  # one scan of the first registry: nothing to merge
    ok("scan", fleet.first.host, "-o", str(whole), "--no-cache", "-q")
    first = report_json(str(whole), "--pricing", str(fleet.books / f"{first_book}.toml"), "--usage", str(fleet.usage))
    second = report_json(str(fleet.inventories / "corp.json"), "--pricing", str(fleet.books / f"{second_book}.toml"))
    together = report_json(
        str(fleet.inventories),
        "--pricing",
        fleet.glob(fleet.first, first_book),
        "--pricing",
        fleet.glob(fleet.second, second_book),
        "--usage",
        f"{fleet.first.host}={fleet.usage}",
        "--group-by",
        "registry",
    )

    # the shared layer: once in the first registry under a registry-scoped book, once per
    # repository (acme/api and beta/web) under a repository-scoped one
    scope = "registry" if first_book == "per-registry" else "repository"
    assert first["totals"]["storage_bytes"] == fleet.bytes_stored(scope)
    assert fleet.bytes_stored("repository") - fleet.bytes_stored("registry") == len(SHARED)
    # the second registry keeps its own copy of it, whatever the books
    assert second["totals"]["storage_bytes"] == sum(blobs_of(fleet.corp).values())

    for key in ("storage_bytes", *MONEY):
        assert together["totals"][key] == first["totals"][key] + second["totals"][key], key
    assert together["totals"]["egress_cost"] > 0 and together["totals"]["storage_cost"] > Decimal("0.1")
    assert first["totals"]["egress_complete"] and not together["totals"]["egress_complete"]

    registries = by_registry(together)
    assert sorted(registries) == sorted([fleet.first.host, fleet.second.host])
    for host, alone, book in ((fleet.first.host, first, first_book), (fleet.second.host, second, second_book)):
        entry = registries[host]
        assert entry["pricing_id"] == book
        assert entry["dedup_scope"] == ("registry" if book == "per-registry" else "repository")
        for key in ("storage_bytes", *MONEY):
            assert entry[key] == alone["totals"][key], (host, key)
    assert registries[fleet.first.host]["namespaces"] == ["acme", "beta"]
    assert registries[fleet.second.host]["namespaces"] == ["corp"]
    assert registries[fleet.first.host]["repositories"] == 2 and registries[fleet.first.host]["tags"] == 3
    rows = {row["name"]: row for row in together["rows"]}
    assert {host: rows[host]["monthly_cost"] for host in registries} == {
        host: entry["monthly_cost"] for host, entry in registries.items()
    }


def test_a_directory_is_its_inventories(fleet: Fleet) -> None:
    books = (
        "--pricing",
        fleet.glob(fleet.first, "per-registry"),
        "--pricing",
        fleet.glob(fleet.second, "per-registry"),
    )
    files = sorted(str(p) for p in fleet.inventories.glob("*.json"))
    assert len(files) == 3
    # a subdirectory is not read: an older copy kept there would otherwise replace nothing but warn
    (fleet.inventories / "old").mkdir()
    (fleet.inventories / "old" / "acme.json").write_bytes((fleet.inventories / "acme.json").read_bytes())
    from_directory = report_json(str(fleet.inventories), *books)
    from_files = report_json(*files, *books)
    assert from_directory["totals"] == from_files["totals"]
    assert sorted(from_directory["source"].split(", ")) == files


def test_a_scan_target_is_a_source_beside_inventory_files(fleet: Fleet) -> None:
    books = (
        "--pricing",
        fleet.glob(fleet.first, "per-registry"),
        "--pricing",
        fleet.glob(fleet.second, "per-registry"),
    )
    from_files = report_json(str(fleet.inventories), *books)
    # acme scanned on the spot, beta and corp from their files: the same fleet, the same figures
    mixed = report_json(
        f"{fleet.first.host}/acme",
        str(fleet.inventories / "beta.json"),
        str(fleet.inventories / "corp.json"),
        *books,
        "--no-cache",
    )
    assert mixed["totals"] == from_files["totals"]
    assert by_registry(mixed)[fleet.first.host]["namespaces"] == ["acme", "beta"]


def test_a_fleet_in_two_currencies_is_refused(fleet: Fleet, tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    result = run(
        "report",
        str(fleet.inventories),
        "--pricing",
        fleet.glob(fleet.first, "per-registry"),
        "--pricing",
        fleet.glob(fleet.second, "in-euros"),
        "-o",
        str(out),
    )
    assert result.exit_code == 1 and not out.exists()
    assert result.stderr.startswith("costcalc: error: the fleet is priced in 2 currencies (")
    assert f"{fleet.second.host} in EUR (in-euros)" in result.stderr and result.stderr.count("\n") == 1


def test_an_unmapped_registry_is_an_error_listing_the_fleets_registries(fleet: Fleet) -> None:
    result = run("report", str(fleet.inventories), "--pricing", fleet.glob(fleet.first, "per-registry"))
    hosts = ", ".join(sorted([fleet.first.host, fleet.second.host]))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"costcalc: error: --pricing maps no book to {fleet.second.host}; the fleet's registries are "
        f"{hosts}: add --pricing GLOB=BOOK for each.\n"
    )


def set_scanned_at(path: Path, when: datetime) -> None:
    """PATH as if its scan had run at WHEN (what a scan job that has failed since leaves behind)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["scanned_at"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps(data), encoding="utf-8")


def test_a_skipped_tag_is_recorded_and_fails_only_a_strict_scan(fleet: Fleet, pusher: Pusher) -> None:
    amd = pusher.image("beta/multi", None, [b"multi amd64"])
    arm = pusher.image("beta/multi", None, [b"multi arm64"], platform="linux/arm64")
    pusher.index("beta/multi", "2.0", [amd, arm])
    # the registry loses one platform's manifest: the index's tag can no longer be read whole
    assert httpx.delete(f"{fleet.first.url}/v2/beta/multi/manifests/{arm.digest}").status_code == 202
    inventory = fleet.inventories / "beta.json"
    target = f"{fleet.first.host}/beta"

    lenient = ok("scan", target, "-o", str(inventory), "--no-cache")
    assert lenient.stderr.startswith("costcalc: warning: skipped beta/multi:2.0: ")
    errors = json.loads(inventory.read_text(encoding="utf-8"))["errors"]
    assert [(e["repository"], e["tag"]) for e in errors] == [("beta/multi", "2.0")]

    inventory.unlink()
    strict = run("scan", target, "-o", str(inventory), "--no-cache", "--strict")
    assert strict.exit_code == 1
    assert strict.stderr.splitlines()[-1] == "costcalc: error: 1 repositories or tags were skipped (--strict)."
    assert len(json.loads(inventory.read_text(encoding="utf-8"))["errors"]) == 1  # written all the same

    books = (
        "--pricing",
        fleet.glob(fleet.first, "per-registry"),
        "--pricing",
        fleet.glob(fleet.second, "per-registry"),
    )
    warned = report_json(str(fleet.inventories), *books)
    assert f"{inventory} ({fleet.first.host}/beta): its scan skipped 1 repositories or tags" in " ".join(
        warned["warnings"]
    )
    refused = run("report", str(fleet.inventories), *books, "--strict")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr == f"costcalc: error: --strict: {inventory} skipped 1 repositories or tags.\n"


def test_a_namespace_with_no_repository_fails_only_a_strict_scan(fleet: Fleet, tmp_path: Path) -> None:
    out = tmp_path / "empty.json"
    lenient = ok("scan", f"{fleet.first.host}/nobody", "-o", str(out), "--no-cache")
    assert "no repository found" in lenient.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["repositories"] == []
    out.unlink()
    strict = run("scan", f"{fleet.first.host}/nobody", "-o", str(out), "--no-cache", "--strict")
    assert strict.exit_code == 1 and json.loads(out.read_text(encoding="utf-8"))["repositories"] == []
    assert (
        strict.stderr.splitlines()[-1]
        == f"costcalc: error: no repository was found under {fleet.first.host}/nobody (--strict)."
    )


def test_a_failed_scan_keeps_the_last_inventory_which_max_age_then_flags(fleet: Fleet, tmp_path: Path) -> None:
    corp = fleet.inventories / "corp.json"
    three_days_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    set_scanned_at(corp, three_days_ago)
    before = corp.read_bytes()

    failed = fleet.scan_second(password="an expired token")  # fails as a whole: credentials refused
    assert failed.exit_code == 1
    assert failed.stderr.startswith("costcalc: error: ") and failed.stderr.count("\n") == 1
    assert "an expired token" not in failed.stderr
    assert corp.read_bytes() == before  # -o is replaced only by a complete inventory

    books = (
        "--pricing",
        fleet.glob(fleet.first, "per-registry"),
        "--pricing",
        fleet.glob(fleet.second, "per-registry"),
    )
    out = tmp_path / "fleet.json"
    warned = run("report", str(fleet.inventories), *books, "--max-age", "2d", "-o", str(out))
    assert warned.exit_code == 0, warned.stderr
    stale = (
        f"costcalc: warning: {corp} ({fleet.second.host}/corp) was scanned {three_days_ago:%Y-%m-%d %H:%M} UTC, "
        "longer ago than --max-age 2d: its figures may be out of date."
    )
    assert stale in warned.stderr.splitlines()
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {Path(i["source"]).name: i["stale"] for i in report["inputs"]} == {
        "acme.json": False,
        "beta.json": False,
        "corp.json": True,
    }
    assert report["totals"]["storage_bytes"] > 2 * len(SHARED)  # corp still counted, at its last scan

    out.unlink()
    refused = run("report", str(fleet.inventories), *books, "--max-age", "2d", "--strict", "-o", str(out))
    assert refused.exit_code == 1 and not out.exists()
    assert refused.stderr == (
        f"costcalc: error: --strict: {corp} is older than --max-age (scanned {three_days_ago:%Y-%m-%d %H:%M} UTC).\n"
    )
    assert report_json(str(fleet.inventories), *books, "--max-age", "4d", "--strict")["totals"]
