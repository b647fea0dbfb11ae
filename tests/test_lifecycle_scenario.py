"""`--scenario ecr-lifecycle:FILE|current` in the report: which images expire, and what it saves."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from costcalc.errors import InputError
from costcalc.inventory.model import Inventory, ManifestRecord, build_inventory
from costcalc.pricing.book_file import load_book
from costcalc.render import html, markdown, table
from costcalc.render import json as json_render
from costcalc.report import build
from costcalc.scenarios.ecr_lifecycle import current_policies
from costcalc.scenarios.spec import parse_spec
from tests.inventory_builders import d, image, layer, when

GB = 1_000_000_000
POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "untagged older than a day",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "keep two v* images",
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": ["v"],
                "countType": "imageCountMoreThan",
                "countNumber": 2,
            },
            "action": {"type": "expire"},
        },
    ]
}


def m(name: str) -> str:
    """The digest of image NAME's manifest (d(NAME) is its own layer's)."""
    return d(f"m-{name}")


def pushed(name: str, size: int, day: int) -> ManifestRecord:
    return replace(image(f"c{name}", 10, layer("base", GB), layer(name, size)), pushed_at=when(day))


def fleet() -> Inventory:
    """app: v1..v3 pushed on days 1..3 and an untagged image of day 1; web: one tag."""
    manifests = {
        m("v1"): pushed("v1", 3 * GB, 1),
        m("v2"): pushed("v2", 2 * GB, 2),
        m("v3"): pushed("v3", GB, 3),
        m("old"): pushed("old", 5 * GB, 1),
        m("web"): pushed("web", GB, 1),
    }
    tags = {"app": [("v1", m("v1")), ("v2", m("v2")), ("v3", m("v3"))], "web": [("w1", m("web"))]}
    return build_inventory(
        "123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "",
        when(5),
        tags,
        manifests,
        untagged={"app": [m("old")]},
    )


def test_a_policy_file_expires_exactly_the_images_ecr_would_and_prices_the_blobs_they_free(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(POLICY), encoding="utf-8")
    book = load_book("aws-ecr")
    report = build(fleet(), None, [book], scenarios=[parse_spec(f"ecr-lifecycle:{policy}")])

    (scenario,) = report.scenarios
    expired = {(e.repository, e.digest): e.rule_priority for e in scenario.expired}
    # rule 1 expires the untagged image, rule 2 the oldest of three v* images; web's w1 is no v*
    assert expired == {("app", m("old")): 1, ("app", m("v1")): 2}
    # exact blob-level recomputation: the two images' own config, manifest and layer; 'base' stays
    assert scenario.bytes_freed == Decimal((10 + 500 + 5 * GB) + (10 + 500 + 3 * GB))
    assert scenario.monthly_savings > 0
    assert [r.monthly_savings > 0 for r in scenario.rows] == [True, False]  # app, web
    # its growth is the baseline's, and it says so
    assert any("Growth under the policy is projected as the baseline's" in a for a in scenario.assumptions)

    data = json.loads(json_render.render(report))
    listed = data["scenarios"][0]["expired"]
    assert {(e["repository"], e["digest"], e["rule_priority"]) for e in listed} == {
        ("app", m("old"), 1),
        ("app", m("v1"), 2),
    }
    assert next(e for e in listed if e["digest"] == m("v1"))["tags"] == ["v1"]
    text = table.render(report)
    assert "Images expired by ecr-lifecycle:" in text and "untagged (rule 1)" in text and "v1 (rule 2)" in text
    assert f"- app@{m('v1')[:19]}: v1 (rule 2)" in markdown.render(report)
    assert f"<li>app@{m('old')[:19]}: untagged (rule 1)</li>" in html.render(report)


def test_current_policies_apply_each_repository_its_own_and_none_where_it_has_none() -> None:
    policies = current_policies({"app": json.dumps(POLICY), "web": None})
    report = build(
        fleet(),
        None,
        [load_book("aws-ecr")],
        scenarios=[parse_spec("ecr-lifecycle:current")],
        lifecycle_policies=policies,
    )
    (scenario,) = report.scenarios
    assert {e.digest for e in scenario.expired} == {m("old"), m("v1")}
    assert scenario.bytes_freed == Decimal(8 * GB + 1020)


def test_current_without_policies_read_from_ecr_is_one_sentence() -> None:
    with pytest.raises(InputError, match="not an ECR registry"):
        build(fleet(), None, [load_book("aws-ecr")], scenarios=[parse_spec("ecr-lifecycle:current")])


def test_a_missing_policy_file_is_an_input_error_naming_the_scenario(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--scenario 'ecr-lifecycle:.*no such lifecycle policy file"):
        build(fleet(), None, [load_book("aws-ecr")], scenarios=[parse_spec(f"ecr-lifecycle:{tmp_path / 'x.json'}")])


def test_the_grammar_needs_a_file_or_current() -> None:
    with pytest.raises(InputError, match="ecr-lifecycle needs a lifecycle policy JSON file or `current`"):
        parse_spec("ecr-lifecycle:")
