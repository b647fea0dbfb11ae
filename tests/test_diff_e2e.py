"""`costcalc diff` end to end on the real registry: scan, push a version and delete a tag, rescan, diff."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from costcalc.cli.app import app
from tests.registryd import Pusher, RunningRegistry

BASE = b"base layer shared by every version " * 40
NEW_LAYER = bytes(range(256)) * 4096  # 1 MiB that only v3 holds: what the pulls of `latest` now transfer


def run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code in (0, 3), result.output
    return result


def test_diff_of_two_scans_equals_the_difference_of_their_reports(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    v1 = pusher.image("acme/api", "v1", [BASE, b"api 1"], created="2026-01-01T00:00:00Z")
    v2 = pusher.image("acme/api", "v2", [BASE, b"api 2"], created="2026-02-01T00:00:00Z")
    pusher.tag("acme/api", v2.digest, "latest")
    pusher.image("acme/web", "1.0", [BASE, b"web"])
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "repository,team,source,pulls_per_month,tag\nacme/api,api,internet,200000,latest\nacme/web,web,internet,10,\n",
        encoding="utf-8",
    )
    cache = ["--cache-dir", str(tmp_path / "cache")]
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    run("scan", f"{registry.host}/acme", "-o", str(old), "-q", *cache)

    # a week later: v3 is pushed and becomes `latest`; v1 is deleted (its only tag goes with it)
    v3 = pusher.image("acme/api", "v3", [BASE, b"api 2", NEW_LAYER], created="2026-03-01T00:00:00Z")
    pusher.tag("acme/api", v3.digest, "latest")
    deleted = httpx.delete(f"{registry.url}/v2/acme/api/manifests/{v1.digest}")
    assert deleted.status_code == 202, deleted.text
    assert sorted(httpx.get(f"{registry.url}/v2/acme/api/tags/list").json()["tags"]) == ["latest", "v2", "v3"]
    run("scan", f"{registry.host}/acme", "-o", str(new), "-q", *cache)

    priced = ["--usage", str(usage), "--pricing", "aws-ecr", "--format", "json", "-q"]
    before = json.loads(run("report", str(old), *priced).stdout, parse_float=Decimal)
    after = json.loads(run("report", str(new), *priced).stdout, parse_float=Decimal)
    expected = after["totals"]["monthly_cost"] - before["totals"]["monthly_cost"]
    assert expected > Decimal("0.01")  # 200,000 pulls of 1 MiB more, beyond the free tier

    out = tmp_path / "diff.json"
    limit = str(expected - Decimal("0.01"))
    result = run("diff", str(old), str(new), *priced, "-o", str(out), "--fail-above-increase", limit)
    assert result.exit_code == 3
    diff = json.loads(out.read_text(encoding="utf-8"), parse_float=Decimal)
    assert diff["totals"]["monthly_change"] == expected  # to the cent, and to the 0.0001
    assert diff["totals"]["monthly_cost_before"] == before["totals"]["monthly_cost"]
    assert diff["totals"]["monthly_cost_after"] == after["totals"]["monthly_cost"]
    api = next(r for r in diff["repositories"] if r["name"] == "acme/api")
    assert api["status"] == "changed" and api["team"] == "api"
    assert api["tags_added"] == ["v3"] and api["tags_removed"] == ["v1"]
    assert (api["versions_added"], api["versions_removed"]) == (1, 1)
    assert v1.config is not None and v3.config is not None
    assert api["bytes_added"] == v3.size + v3.config["size"] + len(NEW_LAYER)
    assert api["bytes_removed"] == v1.size + v1.config["size"] + len(b"api 1")
    assert api["monthly_change"] == expected - next(
        r["monthly_change"] for r in diff["repositories"] if r["name"] == "acme/web"
    )
    teams = {t["name"]: t for t in diff["teams"]}
    assert teams["api"]["monthly_change"] + teams["web"]["monthly_change"] == expected
    assert diff["added_repositories"] == [] and diff["removed_repositories"] == []

    markdown = run("diff", str(old), str(new), *priced[:-3], "--format", "markdown", "-q").stdout
    assert "**Monthly cost goes up by " in markdown and "| acme/api | +" in markdown
