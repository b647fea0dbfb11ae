"""The ECR lifecycle-policy evaluator, on the examples of ECR's documentation, rule by rule.

The examples are those of "Examples of lifecycle policies in Amazon ECR"
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html):
each repository's contents, each policy, and the images the page says are expired. The page
writes its filters as tagPatternList (`prod*`); its earlier revisions wrote the same
examples with tagPrefixList (`prod`): both spellings are checked against the same outcome.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from costcalc.errors import InputError
from costcalc.inventory.model import BlobRef, Inventory, ManifestRecord, build_inventory
from costcalc.scenarios.ecr_lifecycle import (
    LifecycleImage,
    current_policies,
    evaluate,
    expired_inventory,
    lifecycle_plan,
    lifecycle_plans,
    load_policy,
    parse_policy,
)
from tests import inventory_builders as builders
from tests.inventory_builders import d, layer, when

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def image(name: str, tags: list[str], days_ago: float) -> LifecycleImage:
    # The digest is the image's letter: the results read as the documentation's.
    return LifecycleImage(digest=name, tags=tuple(tags), pushed_at=NOW - timedelta(days=days_ago))


def rule(
    priority: int, status: str, count_type: str, number: int, tags: list[str] | None = None, *, form: str = "pattern"
) -> dict[str, Any]:
    selection: dict[str, Any] = {"tagStatus": status, "countType": count_type, "countNumber": number}
    if count_type == "sinceImagePushed":
        selection["countUnit"] = "days"
    if tags is not None:
        if form == "pattern":
            selection["tagPatternList"] = [f"{t}*" for t in tags]
        else:
            selection["tagPrefixList"] = tags
    return {
        "rulePriority": priority,
        "description": f"Rule {priority}",
        "selection": selection,
        "action": {"type": "expire"},
    }


def expired(rules: list[dict[str, Any]], images: list[LifecycleImage]) -> list[str]:
    policy = parse_policy(json.dumps({"rules": rules}), "policy.json")
    return [e.digest for e in evaluate(policy, images, NOW)]


FORMS = ["pattern", "prefix"]

# "Filtering on multiple rules": Examples A and B share one repository.
MULTIPLE_RULES = [
    image("A", ["beta-1", "prod-1"], 10),
    image("B", ["beta-2", "prod-2"], 9),
    image("C", ["beta-3"], 8),
]


@pytest.mark.parametrize("form", FORMS)
def test_multiple_rules_example_a_rule_by_rule(form: str) -> None:
    prod = rule(1, "tagged", "imageCountMoreThan", 1, ["prod"], form=form)
    beta = rule(2, "tagged", "imageCountMoreThan", 1, ["beta"], form=form)
    # Rule 1 alone: of the prod images (A, B) it keeps the newest and marks A.
    assert expired([prod], MULTIPLE_RULES) == ["A"]
    # Rule 2 alone would mark A and B (C is the newest beta image).
    assert expired([{**beta, "rulePriority": 1}], MULTIPLE_RULES) == ["A", "B"]
    # Together: B was identified by rule 1, so rule 2 may not expire it. Result: A.
    assert expired([prod, beta], MULTIPLE_RULES) == ["A"]


@pytest.mark.parametrize("form", FORMS)
def test_multiple_rules_example_b_rule_by_rule(form: str) -> None:
    beta = rule(1, "tagged", "imageCountMoreThan", 1, ["beta"], form=form)
    prod = rule(2, "tagged", "imageCountMoreThan", 1, ["prod"], form=form)
    # Rule 1 sees all three images and marks A and B.
    assert expired([beta], MULTIPLE_RULES) == ["A", "B"]
    # Rule 2 sees only images rule 1 already saw: it marks nothing more. Result: A and B.
    assert expired([beta, prod], MULTIPLE_RULES) == ["A", "B"]


@pytest.mark.parametrize("form", FORMS)
def test_multiple_tags_in_one_rule_example_a(form: str) -> None:
    images = [
        image("A", ["alpha-1"], 12),
        image("B", ["beta-1"], 11),
        image("C", ["alpha-2", "beta-2"], 10),
        image("D", ["alpha-3"], 4),
        image("E", ["beta-3"], 3),
        image("F", ["alpha-4", "beta-4"], 2),
    ]
    # Only C and F carry both an alpha and a beta tag; of them only C is older than 5 days.
    assert expired([rule(1, "tagged", "sinceImagePushed", 5, ["alpha", "beta"], form=form)], images) == ["C"]


@pytest.mark.parametrize("form", FORMS)
def test_multiple_tags_in_one_rule_example_b_tags_are_not_exclusive(form: str) -> None:
    images = [
        image("A", ["alpha-1", "beta-1", "gamma-1"], 10),
        image("B", ["alpha-2", "beta-2"], 9),
        image("C", ["alpha-3", "beta-3", "gamma-2"], 8),
    ]
    # Every image matches (a gamma tag does not stop it); the newest, C, is kept.
    assert expired([rule(1, "tagged", "imageCountMoreThan", 1, ["alpha", "beta"], form=form)], images) == ["A", "B"]


def test_all_images_example_a() -> None:
    images = [
        image("A", ["alpha-1"], 4),
        image("B", ["beta-1"], 3),
        image("C", [], 2),
        image("D", ["alpha-2"], 1),
    ]
    # tagStatus any sees tagged and untagged images alike: all but the newest expire.
    assert expired([rule(1, "any", "imageCountMoreThan", 1)], images) == ["A", "B", "C"]


@pytest.mark.parametrize("form", FORMS)
def test_all_images_example_b_rule_by_rule(form: str) -> None:
    # The page pushes D and E "1 day ago" and keeps E as the newest: E is pushed a minute
    # after D here, so the order the page implies does not rest on a tie-break.
    images = [
        image("A", ["alpha-1", "beta-1"], 4),
        image("B", [], 3),
        image("C", ["alpha-2"], 2),
        image("D", ["git hash"], 1 + 1 / 1440),
        image("E", [], 1),
    ]
    alpha = rule(1, "tagged", "imageCountMoreThan", 1, ["alpha"], form=form)
    untagged = rule(2, "untagged", "sinceImagePushed", 1)
    anything = rule(3, "any", "imageCountMoreThan", 1)
    # Rule 1: the alpha images are A and C; it keeps C and marks A.
    assert expired([alpha], images) == ["A"]
    # Rule 2: the untagged images are B and E; only B is older than one day.
    assert expired([{**untagged, "rulePriority": 1}], images) == ["B"]
    # Rule 3 alone would keep E and mark the rest.
    assert expired([{**anything, "rulePriority": 1}], images) == ["A", "B", "C", "D"]
    # Together: rule 3 may not mark A, B, C or E (higher rules identified them): it marks D.
    assert expired([alpha, untagged, anything], images) == ["A", "B", "D"]


def test_filtering_on_image_age_tagged_prod_older_than_14_days() -> None:
    images = [
        image("old-prod", ["prod-1"], 15),
        image("young-prod", ["prod-2"], 13),
        image("old-test", ["test-1"], 30),
        image("old-untagged", [], 30),
    ]
    policy = rule(1, "tagged", "sinceImagePushed", 14, ["prod"])
    assert expired([policy], images) == ["old-prod"]


def test_filtering_on_image_age_untagged_older_than_14_days() -> None:
    # The earlier revision of the page: untagged images older than 14 days.
    images = [image("tagged", ["v1"], 40), image("old", [], 20), image("young", [], 3)]
    assert expired([rule(1, "untagged", "sinceImagePushed", 14)], images) == ["old"]


def test_filtering_on_image_count_keeps_one_untagged_image() -> None:
    images = [image("u1", [], 5), image("u2", [], 4), image("u3", [], 3), image("tagged", ["v1"], 9)]
    assert expired([rule(1, "untagged", "imageCountMoreThan", 1)], images) == ["u1", "u2"]


def test_since_image_pushed_expires_only_images_older_than_the_limit() -> None:
    # "older than N days": an image pushed exactly N days ago stays.
    images = [image("exact", [], 7), image("older", [], 7 + 1 / 86400)]
    assert expired([rule(1, "untagged", "sinceImagePushed", 7)], images) == ["older"]


@pytest.mark.parametrize(
    ("pattern", "tags", "matches"),
    [
        ("prod*", ["prod"], True),
        ("prod*", ["production-9"], True),
        ("prod*", ["preprod"], False),
        ("*-rc*", ["1.2-rc3"], True),
        ("*-rc*", ["1.2"], False),
        ("v1.?", ["v1.?"], True),  # only * is a wildcard: ? and . are themselves
        ("v1.?", ["v1.2"], False),
        ("release", ["release"], True),
        ("release", ["release-2"], False),  # without a wildcard, the whole tag
        ("Prod*", ["prod-1"], False),  # case counts
    ],
)
def test_tag_pattern_matching(pattern: str, tags: list[str], matches: bool) -> None:
    policy = {
        "rulePriority": 1,
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": [pattern],
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": 1,
        },
        "action": {"type": "expire"},
    }
    assert expired([policy], [image("x", tags, 2)]) == (["x"] if matches else [])


def test_prefix_and_pattern_lists_in_one_rule_must_both_match() -> None:
    selection = {
        "tagStatus": "tagged",
        "tagPrefixList": ["prod"],
        "tagPatternList": ["*-eu"],
        "countType": "imageCountMoreThan",
        "countNumber": 1,
    }
    policy = [{"rulePriority": 1, "selection": selection, "action": {"type": "expire"}}]
    images = [image("a", ["prod-1-eu"], 3), image("b", ["prod-2"], 2), image("c", ["prod-3-eu"], 1)]
    assert expired(policy, images) == ["a"]


def test_rules_apply_by_priority_not_by_their_place_in_the_list() -> None:
    beta = rule(1, "tagged", "imageCountMoreThan", 1, ["beta"])
    prod = rule(2, "tagged", "imageCountMoreThan", 1, ["prod"])
    assert expired([prod, beta], MULTIPLE_RULES) == expired([beta, prod], MULTIPLE_RULES) == ["A", "B"]


def test_each_expiry_names_its_rule() -> None:
    policy = parse_policy(
        json.dumps(
            {"rules": [rule(5, "tagged", "imageCountMoreThan", 1, ["prod"]), rule(9, "any", "imageCountMoreThan", 2)]}
        ),
        "p",
    )
    images = [*MULTIPLE_RULES, image("D", ["x"], 7), image("E", [], 6), image("F", [], 5)]
    assert [(e.digest, e.rule_priority) for e in evaluate(policy, images, NOW)] == [("A", 5), ("C", 9), ("D", 9)]


def policy_error(document: object) -> str:
    with pytest.raises(InputError) as caught:
        parse_policy(json.dumps(document), "policy.json")
    return str(caught.value)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            [rule(1, "tagged", "imageCountMoreThan", 1, ["a"]), rule(1, "tagged", "imageCountMoreThan", 1, ["b"])],
            "rulePriority 1 is used by more than one rule",
        ),
        (
            [rule(2, "any", "imageCountMoreThan", 1), rule(3, "tagged", "imageCountMoreThan", 1, ["b"])],
            'rulePriority 2 selects tagStatus "any", so it must be the highest',
        ),
        (
            [rule(1, "untagged", "imageCountMoreThan", 1), rule(2, "untagged", "sinceImagePushed", 3)],
            "only one rule may select untagged images",
        ),
        (
            [rule(1, "tagged", "imageCountMoreThan", 1, ["a"]), rule(2, "tagged", "sinceImagePushed", 3, ["a"])],
            "rules 1 and 2 select the same tags",
        ),
        (
            [rule(1, "tagged", "imageCountMoreThan", 1)],
            'rules[0].selection (rulePriority 1): tagStatus "tagged" needs a tagPrefixList or a tagPatternList',
        ),
        (
            [
                {
                    **rule(1, "untagged", "imageCountMoreThan", 1),
                    "selection": {**rule(1, "untagged", "imageCountMoreThan", 1)["selection"], "tagPrefixList": ["a"]},
                }
            ],
            'are only used with tagStatus "tagged", not "untagged"',
        ),
        ([rule(1, "tagged", "imageCountMoreThan", 1, ["a*b*c*d*e"])], "has more than 4 wildcards"),
        (
            [rule(1, "untagged", "imageCountMoreThan", 0)],
            "rules[0].selection.countNumber (rulePriority 1): input should be greater than or equal to 1",
        ),
        (
            [{**rule(1, "untagged", "imageCountMoreThan", 2), "action": {"type": "transition"}}],
            "rules[0].action.type (rulePriority 1)",
        ),
        ([], "rules: needs at least one entry"),
    ],
)
def test_policies_ecr_refuses_are_refused_in_one_sentence(rules: list[dict[str, Any]], message: str) -> None:
    text = policy_error({"rules": rules})
    assert text.startswith("policy.json: ") and text.endswith(".")
    assert message in text


def test_count_unit_belongs_to_since_image_pushed_only() -> None:
    selection = {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1, "countUnit": "days"}
    assert 'countUnit is only used with countType "sinceImagePushed"' in policy_error(
        {"rules": [{"rulePriority": 1, "selection": selection, "action": {"type": "expire"}}]}
    )
    selection = {"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 1}
    assert 'needs countUnit "days"' in policy_error(
        {"rules": [{"rulePriority": 1, "selection": selection, "action": {"type": "expire"}}]}
    )


def test_a_number_given_as_text_or_true_is_refused() -> None:
    assert "countNumber" in policy_error(
        {
            "rules": [
                {
                    **rule(1, "untagged", "imageCountMoreThan", 1),
                    "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": True},
                }
            ]
        }
    )
    assert "rulePriority" in policy_error(
        {"rules": [{**rule(1, "untagged", "imageCountMoreThan", 1), "rulePriority": "1"}]}
    )


def test_bad_json_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{\n  "rules": [\n    {"rulePriority": 1,,}\n  ]\n}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"policy\.json:3: not valid JSON: "):
        load_policy(path)


def test_a_missing_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.json: no such lifecycle policy file\.$"):
        load_policy(tmp_path / "nope.json")


def test_a_policy_file_as_aws_prints_it_loads(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"rules": [rule(1, "untagged", "sinceImagePushed", 14)]}, indent=4), encoding="utf-8")
    policy = load_policy(path)
    images = [image("old", [], 15), image("young", [], 13), image("tagged", ["v1"], 30)]
    assert [e.digest for e in evaluate(policy, images, NOW)] == ["old"]


# -- a policy over an inventory ------------------------------------------------------------


def fleet(pushed: bool = True) -> Inventory:
    """acme/api: v1 (day 1), v2 and latest (day 2), two untagged builds (days 3 and 4)."""
    records = {
        "api1": image_record("capi1", layer("base", 900), layer("api-1", 300), day=1, pushed=pushed),
        "api2": image_record("capi2", layer("base", 900), layer("api-2", 400), day=2, pushed=pushed),
        "old": image_record("cold", layer("base", 900), layer("api-3", 500), day=3, pushed=pushed),
        "new": image_record("cnew", layer("base", 900), layer("api-4", 600), day=4, pushed=pushed),
    }
    tags = {"acme/api": [("v1", d("api1")), ("v2", d("api2")), ("latest", d("api2"))]}
    untagged = {"acme/api": [d("old"), d("new")]}
    manifests = {d(name): record for name, record in records.items()}
    return build_inventory("r.example", "acme", when(30), tags, manifests, untagged=untagged)


def image_record(config: str, *layers: BlobRef, day: int, pushed: bool) -> ManifestRecord:
    record = builders.image(config, 10, *layers, created=when(day) - timedelta(hours=1))
    return replace(record, pushed_at=when(day)) if pushed else record


def test_a_plan_over_an_inventory_expires_tagged_and_untagged_images() -> None:
    inventory = fleet()
    policy = parse_policy(
        json.dumps({"rules": [rule(1, "untagged", "imageCountMoreThan", 1), rule(2, "any", "imageCountMoreThan", 3)]}),
        "p",
    )
    plan = lifecycle_plan(inventory, "acme/api", policy)
    # rule 1 keeps the newest untagged build; rule 2 keeps the three newest of all four images
    # (`old` among them, though rule 1 expires it), so v1 goes
    assert [(e.digest, e.rule_priority) for e in plan.expired] == [(d("api1"), 2), (d("old"), 1)]
    assert plan.kept_tags == {"v2", "latest"}
    assert plan.expired_untagged == {d("old")}
    after = expired_inventory(inventory, {"acme/api": plan})
    assert after.figures.unique_bytes == inventory.figures.unique_bytes - (300 + 10 + 500) - (500 + 10 + 500)
    [repo] = after.repositories
    assert [t.tag for t in repo.tags] == ["latest", "v2"] and repo.untagged == (d("new"),)


def test_without_push_times_the_creation_time_orders_images() -> None:
    with_push = lifecycle_plan(
        fleet(), "acme/api", parse_policy(json.dumps({"rules": [rule(1, "any", "imageCountMoreThan", 3)]}), "p")
    )
    without = lifecycle_plan(
        fleet(pushed=False),
        "acme/api",
        parse_policy(json.dumps({"rules": [rule(1, "any", "imageCountMoreThan", 3)]}), "p"),
    )
    assert [e.digest for e in with_push.expired] == [e.digest for e in without.expired] == [d("api1")]


def test_an_image_with_no_time_is_kept_and_counted() -> None:
    inventory = fleet(pushed=False)
    undated = {
        digest: replace(record, created=None) if digest == d("old") else record
        for digest, record in inventory.manifests.items()
    }
    inventory = replace(inventory, manifests=undated)
    plan = lifecycle_plan(
        inventory, "acme/api", parse_policy(json.dumps({"rules": [rule(1, "any", "imageCountMoreThan", 1)]}), "p")
    )
    assert d("old") not in {e.digest for e in plan.expired}
    assert plan.undated_kept == 1


def test_a_plan_for_a_repository_the_inventory_lacks_is_one_sentence() -> None:
    policy = parse_policy(json.dumps({"rules": [rule(1, "any", "imageCountMoreThan", 1)]}), "p")
    with pytest.raises(InputError, match=r"^the inventory has no repository acme/nope\.$"):
        lifecycle_plan(fleet(), "acme/nope", policy)


def test_one_policy_for_every_repository_or_each_its_own() -> None:
    inventory = fleet()
    keep_one = parse_policy(json.dumps({"rules": [rule(1, "any", "imageCountMoreThan", 1)]}), "p")
    everywhere = lifecycle_plans(inventory, keep_one)
    assert [e.digest for e in everywhere["acme/api"].expired] == [d("api1"), d("api2"), d("old")]
    texts = {"acme/api": None}
    assert lifecycle_plans(inventory, current_policies(texts)) == {}
    texts = {"acme/api": json.dumps({"rules": [rule(1, "untagged", "imageCountMoreThan", 1)]})}
    own = lifecycle_plans(inventory, current_policies(texts))
    assert own["acme/api"].expired_untagged == {d("old")}


def test_a_bad_current_policy_names_its_repository() -> None:
    with pytest.raises(InputError, match=r"^the lifecycle policy of acme/api: rules: needs at least one entry\.$"):
        current_policies({"acme/api": json.dumps({"rules": []})})
