"""`costcalc report --scenario ecr-lifecycle:current|FILE` end to end against moto's ECR server.

moto stores push times to the second, so the tests wait a second between pushes that a rule
must tell apart (ECR's own times are finer).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.motoserver import REGION, EcrPusher, RunningMoto
from tests.test_ecr_cli import costcalc

KEEP_ONE_V: dict[str, Any] = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": ["v"],
                "countType": "imageCountMoreThan",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        }
    ]
}


def push_fleet(push: EcrPusher, policy: dict[str, Any] | None) -> dict[str, Any]:
    push.repository("app", lifecycle_policy=policy)
    push.repository("web")  # no policy: `current` keeps all of it
    v1 = push.image("app", "v1", [b"base" * 500, b"one" * 700])
    time.sleep(1.1)
    v2 = push.image("app", "v2", [b"base" * 500, b"two" * 300])
    orphan = push.image("app", None, [b"base" * 500, b"orphan" * 100])
    web = push.image("web", "v9", [b"web" * 200])
    return {"v1": v1, "v2": v2, "orphan": orphan, "web": web}


def own_bytes(image: Any, *others: Any) -> int:
    """IMAGE's stored bytes that none of OTHERS stores."""
    shared = set().union(*(o.stored for o in others))
    return sum(size for digest, size in image.stored.items() if digest not in shared)


def test_current_reads_each_repository_policy_and_lists_what_it_expires(moto: RunningMoto, tmp_path: Path) -> None:
    pushed = push_fleet(EcrPusher(moto.url), KEEP_ONE_V)

    done = costcalc(
        moto,
        tmp_path,
        "report",
        f"ecr://{REGION}",
        "--scenario",
        "ecr-lifecycle:current",
        "--format",
        "json",
        "--quiet",
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (scenario,) = report["scenarios"]
    assert scenario["expired"] == [
        {"repository": "app", "digest": pushed["v1"].digest, "tags": ["v1"], "rule_priority": 1}
    ]
    v1, v2, orphan = pushed["v1"], pushed["v2"], pushed["orphan"]
    assert scenario["bytes_freed"] == own_bytes(v1, v2, orphan)
    assert float(scenario["monthly_savings"]) >= 0
    # the untagged image is billed and shown on its repository's row
    rows = {row["name"]: row for row in report["rows"]}
    assert rows["app"]["untagged"]["images"] == 1
    assert rows["app"]["untagged"]["bytes"] == own_bytes(orphan, v1, v2)
    assert "untagged" not in rows["web"]


def test_a_policy_file_applies_to_every_repository_of_a_scanned_inventory(moto: RunningMoto, tmp_path: Path) -> None:
    pushed = push_fleet(EcrPusher(moto.url), None)
    scanned = costcalc(moto, tmp_path, "scan", f"ecr://{REGION}", "-o", "inventory.json", "--quiet")
    assert scanned.returncode == 0, scanned.stderr
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(KEEP_ONE_V), encoding="utf-8")

    done = costcalc(moto, tmp_path, "report", "inventory.json", "--scenario", f"ecr-lifecycle:{policy}")

    assert done.returncode == 0, done.stderr
    assert "Images expired by ecr-lifecycle:" in done.stdout
    assert f"app@{pushed['v1'].digest[:19]}: v1 (rule 1)" in done.stdout
    assert "web@" not in done.stdout  # one v* image: nothing beyond the count


def test_current_on_a_registry_that_is_not_ecr_is_one_sentence(moto: RunningMoto, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.json"
    inventory.write_text(
        json.dumps(
            {
                "schema_version": 2,
                "registry": "r.example",
                "scanned_at": "2026-01-01T00:00:00Z",
                "repositories": [],
                "manifests": {},
            }
        ),
        encoding="utf-8",
    )
    done = costcalc(moto, tmp_path, "report", str(inventory), "--scenario", "ecr-lifecycle:current")
    assert done.returncode == 1
    assert "r.example is not an Amazon ECR registry" in done.stderr and "Traceback" not in done.stderr
