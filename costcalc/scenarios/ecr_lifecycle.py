"""Amazon ECR lifecycle policies: the policy document, and which images ECR would expire (pure).

The evaluation follows ECR's documented rules
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html and
lifecycle_policy_parameters.html, lifecycle_policy_examples.html beside it):

- rules are applied by `rulePriority`, lowest first;
- a rule *identifies* the images its `tagStatus` and tag filters select; of those it *marks*
  the ones beyond `imageCountMoreThan` (newest kept, by push time) or pushed more than
  `sinceImagePushed` days ago;
- an image identified by a higher-priority rule is never marked by a lower-priority one, but
  still counts among the images that rule identifies (so it can push others past a count);
- an image is expired by exactly one or zero rules.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from costcalc.errors import InputError
from costcalc.inventory.model import Inventory
from costcalc.pricing.validation import MiB, read_limited

MAX_WILDCARDS = 4  # per tagPatternList entry, as ECR documents
MAX_POLICY_BYTES = MiB  # ECR keeps at most 30,720 characters of policy text; room for indented JSON


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


TagFilter = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]


class Selection(_Document):
    """Which images a rule identifies, and how many or how old of them it marks."""

    tag_status: Literal["tagged", "untagged", "any"] = Field(alias="tagStatus")
    tag_prefix_list: TagFilter | None = Field(default=None, alias="tagPrefixList")
    tag_pattern_list: TagFilter | None = Field(default=None, alias="tagPatternList")
    # ECR's archive storage class is out of scope; "standard" is what every image is in.
    storage_class: Literal["standard"] | None = Field(default=None, alias="storageClass")
    count_type: Literal["imageCountMoreThan", "sinceImagePushed"] = Field(alias="countType")
    count_unit: Literal["days"] | None = Field(default=None, alias="countUnit")
    count_number: StrictInt = Field(alias="countNumber", ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> Selection:
        filtered = self.tag_prefix_list is not None or self.tag_pattern_list is not None
        if self.tag_status == "tagged" and not filtered:
            raise ValueError('tagStatus "tagged" needs a tagPrefixList or a tagPatternList')
        if self.tag_status != "tagged" and filtered:
            raise ValueError(
                f'tagPrefixList and tagPatternList are only used with tagStatus "tagged", not "{self.tag_status}"'
            )
        for pattern in self.tag_pattern_list or ():
            if pattern.count("*") > MAX_WILDCARDS:
                raise ValueError(f"tagPatternList entry {pattern!r} has more than {MAX_WILDCARDS} wildcards (*)")
        if self.count_type == "sinceImagePushed" and self.count_unit is None:
            raise ValueError('countType "sinceImagePushed" needs countUnit "days"')
        if self.count_type == "imageCountMoreThan" and self.count_unit is not None:
            raise ValueError('countUnit is only used with countType "sinceImagePushed"')
        return self

    def identifies(self, image: LifecycleImage) -> bool:
        """True if this selection's tag status and tag filters select IMAGE."""
        if self.tag_status == "any":
            return True
        if self.tag_status == "untagged":
            return not image.tags
        # Every prefix and every pattern must match at least one of the image's tags.
        prefixes = self.tag_prefix_list or ()
        patterns = [_pattern(p) for p in self.tag_pattern_list or ()]
        return (
            bool(image.tags)
            and all(any(t.startswith(p) for t in image.tags) for p in prefixes)
            and all(any(p.fullmatch(t) for t in image.tags) for p in patterns)
        )


class Action(_Document):
    type: Literal["expire"]


class Rule(_Document):
    rule_priority: StrictInt = Field(alias="rulePriority", ge=1)
    description: str | None = None
    selection: Selection
    action: Action


class LifecyclePolicy(_Document):
    """An ECR lifecycle policy document, checked against ECR's documented constraints."""

    rules: Annotated[tuple[Rule, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _rules_agree(self) -> LifecyclePolicy:
        priorities = [r.rule_priority for r in self.rules]
        repeated = sorted({p for p in priorities if priorities.count(p) > 1})
        if repeated:
            raise ValueError(f"rulePriority {repeated[0]} is used by more than one rule; each must be unique")
        ordered = self.ordered
        for rule in ordered[:-1]:
            if rule.selection.tag_status == "any":
                raise ValueError(
                    f'rulePriority {rule.rule_priority} selects tagStatus "any", so it must be the highest rulePriority'
                )
        if sum(r.selection.tag_status == "untagged" for r in ordered) > 1:
            raise ValueError('only one rule may select untagged images (tagStatus "untagged")')
        seen: dict[tuple[frozenset[str], frozenset[str]], int] = {}
        for rule in ordered:
            if rule.selection.tag_status != "tagged":
                continue
            key = (frozenset(rule.selection.tag_prefix_list or ()), frozenset(rule.selection.tag_pattern_list or ()))
            if key in seen:
                raise ValueError(
                    f"rules {seen[key]} and {rule.rule_priority} select the same tags; "
                    "each rule needs its own set of tag prefixes or patterns"
                )
            seen[key] = rule.rule_priority
        return self

    @property
    def ordered(self) -> tuple[Rule, ...]:
        """The rules in the order ECR applies them: lowest rulePriority first."""
        return tuple(sorted(self.rules, key=lambda r: r.rule_priority))


@dataclass(frozen=True, slots=True)
class LifecycleImage:
    """One image of a repository as a lifecycle policy sees it: digest, tags, push time."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime


@dataclass(frozen=True, slots=True)
class Expiry:
    """An image a policy expires, and the rulePriority of the rule that expires it."""

    digest: str
    rule_priority: int


def evaluate(policy: LifecyclePolicy, images: Iterable[LifecycleImage], now: datetime) -> tuple[Expiry, ...]:
    """The images of ONE repository that POLICY expires at NOW, oldest push first.

    Push times must be timezone-aware. Images pushed at the same instant are ordered by
    digest (ECR does not document a tie-break), so the result is the same on every run.
    """
    # Newest first: imageCountMoreThan keeps the first countNumber of each rule's images.
    newest_first = sorted(images, key=lambda i: (i.pushed_at, i.digest), reverse=True)
    identified: set[str] = set()  # by a higher-priority rule: never marked by a later one
    expired: dict[str, Expiry] = {}
    for rule in policy.ordered:
        selection = rule.selection
        selected = [image for image in newest_first if selection.identifies(image)]
        if selection.count_type == "imageCountMoreThan":
            marked = selected[selection.count_number :]
        else:
            cutoff = now - timedelta(days=selection.count_number)
            marked = [image for image in selected if image.pushed_at < cutoff]
        for image in marked:
            if image.digest not in identified:
                expired[image.digest] = Expiry(image.digest, rule.rule_priority)
        identified.update(image.digest for image in selected)
    by_digest = {image.digest: image for image in newest_first}
    return tuple(sorted(expired.values(), key=lambda e: (by_digest[e.digest].pushed_at, e.digest)))


def parse_policy(text: str, source: str) -> LifecyclePolicy:
    """The lifecycle policy in TEXT (ECR's JSON); a bad one is an InputError naming SOURCE."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg}.") from None
    except RecursionError:
        raise InputError(f"{source}: not valid JSON: nested too deeply.") from None
    if not isinstance(data, dict):
        raise InputError(f"{source}: a lifecycle policy is a JSON object with a list of rules.")
    try:
        return LifecyclePolicy.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A rule that fails leaves the rules list short: that is the rule's problem, not another.
        shown = [
            e
            for e in errors
            if e["type"] != "too_short" or not any(o["loc"][: len(e["loc"])] == e["loc"] and o is not e for o in errors)
        ]
        problems = [f"{source}: {_where(e['loc'], data)}{_reason(e)}." for e in shown]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(problems[0][:-1] + more + ".", problems=problems) from None


def load_policy(path: Path) -> LifecyclePolicy:
    """The lifecycle policy in the JSON file PATH (as `aws ecr get-lifecycle-policy` prints its text)."""
    try:
        text = read_limited(path, MAX_POLICY_BYTES, "a lifecycle policy file").decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such lifecycle policy file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the lifecycle policy file ({exc.__class__.__name__}).") from None
    return parse_policy(text, str(path))


@functools.lru_cache(maxsize=256)  # asked once per image and rule
def _pattern(text: str) -> re.Pattern[str]:
    """A tagPatternList entry as a regular expression: `*` is any run of characters, the rest literal."""
    return re.compile(".*".join(re.escape(piece) for piece in text.split("*")), re.DOTALL)


def _where(loc: Sequence[int | str], data: Any) -> str:
    """`rules[1].selection.countNumber: ` for a pydantic location (rules by rulePriority where known)."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif "[" in part or "-" in part:
            continue  # pydantic's own step names (validators, unions), not the document's
        else:
            path += f".{part}" if path else part
    if not path:
        return ""
    rule_index = loc[1] if len(loc) > 1 and loc[0] == "rules" and isinstance(loc[1], int) else None
    if rule_index is not None:
        rules = data.get("rules")
        rule = rules[rule_index] if isinstance(rules, list) and rule_index < len(rules) else None
        priority = rule.get("rulePriority") if isinstance(rule, dict) else None
        if isinstance(priority, int) and not isinstance(priority, bool):
            path += f" (rulePriority {priority})"
    return f"{path}: "


def _reason(error: Any) -> str:
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "is not a lifecycle policy field costcalc knows"
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "too_short":
        return "needs at least one entry"
    return message[:1].lower() + message[1:]


@dataclass(frozen=True, slots=True)
class LifecyclePlan:
    """What a lifecycle policy does to one repository of an inventory."""

    repository: str
    expired: tuple[Expiry, ...]  # oldest push first
    kept_tags: frozenset[str]
    expired_untagged: frozenset[str]
    undated_kept: int = 0  # images with neither a push nor a creation time: no rule can place them


def lifecycle_images(inventory: Inventory, repository: str) -> tuple[list[LifecycleImage], int]:
    """REPOSITORY's images as ECR's lifecycle sees them (each tagged digest, each untagged one),
    and how many have no time to order them by.

    The time is ECR's push time where the scan recorded one, else the image's creation time
    (an inventory scanned through the registry API knows no push times). An index's platform
    manifests are not images of their own: they go with their index.
    """
    repo = next((r for r in inventory.repositories if r.name == repository), None)
    if repo is None:
        raise InputError(f"the inventory has no repository {repository}.")
    tags: dict[str, list[str]] = {}
    for ref in repo.tags:
        tags.setdefault(ref.digest, []).append(ref.tag)
    for digest in repo.untagged:
        tags.setdefault(digest, [])
    images, undated = [], 0
    for digest, names in tags.items():
        record = inventory.manifests.get(digest)
        when = record.pushed_at if record is not None else None
        if when is None:
            when = inventory.figures.created(digest)
        if when is None:
            undated += 1
            continue
        images.append(LifecycleImage(digest=digest, tags=tuple(sorted(names)), pushed_at=_aware(when)))
    return images, undated


def lifecycle_plan(
    inventory: Inventory, repository: str, policy: LifecyclePolicy, now: datetime | None = None
) -> LifecyclePlan:
    """What POLICY expires in REPOSITORY at NOW (default: when the inventory was scanned)."""
    images, undated = lifecycle_images(inventory, repository)
    expired = evaluate(policy, images, _aware(now or inventory.scanned_at))
    gone = {e.digest for e in expired}
    repo = next(r for r in inventory.repositories if r.name == repository)
    return LifecyclePlan(
        repository=repository,
        expired=expired,
        kept_tags=frozenset(t.tag for t in repo.tags if t.digest not in gone),
        expired_untagged=frozenset(d for d in repo.untagged if d in gone),
        undated_kept=undated,
    )


def lifecycle_plans(
    inventory: Inventory,
    policies: LifecyclePolicy | Mapping[str, LifecyclePolicy | None],
    now: datetime | None = None,
) -> dict[str, LifecyclePlan]:
    """The plan of every repository: one POLICY for all (`ecr-lifecycle:FILE`), or each
    repository's own (`ecr-lifecycle:current`, a repository without a policy keeps everything)."""
    plans = {}
    for repo in inventory.repositories:
        policy = policies if isinstance(policies, LifecyclePolicy) else policies.get(repo.name)
        if policy is not None:
            plans[repo.name] = lifecycle_plan(inventory, repo.name, policy, now)
    return plans


def current_policies(texts: Mapping[str, str | None]) -> dict[str, LifecyclePolicy | None]:
    """Each repository's policy from the texts GetLifecyclePolicy returned (None: it has none)."""
    return {
        name: None if text is None else parse_policy(text, f"the lifecycle policy of {name}")
        for name, text in texts.items()
    }


def expired_inventory(inventory: Inventory, plans: Mapping[str, LifecyclePlan]) -> Inventory:
    """INVENTORY as it would be once PLANS' images expired: their tags and untagged entries gone.

    The manifests stay listed; what no tag or untagged entry reaches counts in no figure.
    """
    repositories = tuple(
        replace(
            repo,
            tags=tuple(t for t in repo.tags if t.tag in plans[repo.name].kept_tags),
            untagged=tuple(d for d in repo.untagged if d not in plans[repo.name].expired_untagged),
        )
        if repo.name in plans
        else repo
        for repo in inventory.repositories
    )
    # a new Inventory, not a copy: a copy would carry the memoised figures of the original
    return replace(inventory, repositories=repositories)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
