"""The scenario grammar: what a `--scenario` spec means, as a Scenario with its effect (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from costcalc.errors import InputError, InvalidReference
from costcalc.reference import REPOSITORY_RE, TAG_RE, parse_image_reference
from costcalc.scenarios.retention import MAX_DAYS, MAX_VERSIONS, Retention
from costcalc.units import ARITHMETIC, exact_size, format_bytes, parse_size, plain

# Typical uncompressed sizes of a Node.js service image per packaging strategy, as a published
# comparison of packaging strategies measured them, against 912 MB for a standard Debian-based
# image. MB = 10^6 bytes.
DEBIAN_TYPICAL_BYTES = 912_000_000
PRESETS: Mapping[str, tuple[int, str]] = {
    "alpine": (186_000_000, "on an Alpine base image"),
    "multistage": (142_000_000, "with a multi-stage build"),
    "distroless": (78_000_000, "on a distroless base image"),
}

KINDS = ("target", "ratio", "measured", "retention", "colocate", "provider", "ecr-lifecycle", "rebase")
_FORMS = (
    "alpine, multistage, distroless, target:SIZE, ratio:R, measured:REPO:BEFORE=AFTER, "
    "retention:N, retention:DAYSd, colocate:P, provider:ID, ecr-lifecycle:FILE|current or rebase:FROM=TO"
)
CURRENT_POLICIES = "current"  # ecr-lifecycle:current: each repository's own policy, read from ECR
# Ratios and percentages carry at most this many decimals: finer steps change no printed
# figure, and an exponent such as 1e-999999 would make exact arithmetic unbounded.
_MAX_PLACES = 6


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Preset(_Frozen):
    """Image versions larger than size_bytes shrink by size_bytes / standard_bytes (alpine ...)."""

    kind: Literal["preset"] = "preset"
    name: str
    size_bytes: int = Field(gt=0)
    standard_bytes: int = Field(gt=0)

    @property
    def ratio(self) -> Decimal:
        return ARITHMETIC.divide(Decimal(self.size_bytes), Decimal(self.standard_bytes))


class ShrinkToSize(_Frozen):
    """Images larger than size_bytes shrink to it (target:SIZE)."""

    kind: Literal["shrink-to-size"] = "shrink-to-size"
    size_bytes: int = Field(gt=0)


class ShrinkByRatio(_Frozen):
    """Every image's bytes are multiplied by ratio (ratio:R)."""

    kind: Literal["shrink-by-ratio"] = "shrink-by-ratio"
    ratio: Decimal = Field(gt=0, le=1)


class MeasuredRatio(_Frozen):
    """AFTER's image bytes / BEFORE's (two tags of one repository), applied to every image."""

    kind: Literal["measured-ratio"] = "measured-ratio"
    repository: str
    before: str
    after: str


class Colocate(_Frozen):
    """percent % of internet and cross-region egress moves to same-region."""

    kind: Literal["colocate"] = "colocate"
    percent: Decimal = Field(gt=0, le=100)


class Provider(_Frozen):
    """The same quantities priced on another price book (id or file)."""

    kind: Literal["provider"] = "provider"
    book: str


class EcrLifecycle(_Frozen):
    """An Amazon ECR lifecycle policy applied: a JSON file's for every repository, or (policy
    `current`) each repository's own, as ECR holds it."""

    kind: Literal["ecr-lifecycle"] = "ecr-lifecycle"
    policy: str

    @property
    def current(self) -> bool:
        return self.policy == CURRENT_POLICIES


class Rebase(_Frozen):
    """Images built on base image FROM rebuilt on TO: TO's layers in place of FROM's, their own kept."""

    kind: Literal["rebase"] = "rebase"
    source: str  # FROM, an image reference (REPO:TAG, REPO@DIGEST, HOST/REPO:TAG)
    target: str  # TO


Effect = Annotated[
    Preset | ShrinkToSize | ShrinkByRatio | MeasuredRatio | Retention | Colocate | Provider | EcrLifecycle | Rebase,
    Field(discriminator="kind"),
]


class Scenario(_Frozen):
    """One what-if: an effect, optionally scoped to repository globs, with its assumptions."""

    id: str
    description: str
    effect: Effect
    repositories: tuple[str, ...] = ()  # globs over repository names; empty = every repository
    assumptions: tuple[str, ...] = ()  # where the numbers come from, as sentences for the report
    origin: str = ""  # where the user gave it ("--scenario 'x'", "file.toml:3"): prefixes its errors


class SpecProblem(Exception):
    """A spec that does not parse; str() is the problem without its location."""


def parse_spec(text: str) -> Scenario:
    """The scenario a `--scenario` spec describes; a bad spec is an InputError of one sentence."""
    origin = f"--scenario '{shown(text)}'"
    try:
        return parse(text, origin)
    except SpecProblem as problem:
        raise InputError(f"{origin}: {problem}.") from None


def shown(text: str, limit: int = 60) -> str:
    """TEXT as an error quotes it: cut after LIMIT characters and control characters escaped,
    so a hostile spec stays one short line that cannot move a terminal's cursor."""
    cut = text if len(text) <= limit else f"{text[:limit]}..."
    return cut if cut.isprintable() else repr(cut)[1:-1]


def parse(text: str, origin: str, repositories: tuple[str, ...] = ()) -> Scenario:
    """The scenario TEXT describes, scoped to REPOSITORIES globs; raises SpecProblem."""
    spec = text.strip()
    kind, colon, argument = spec.partition(":")
    kind = kind.lower()
    argument = argument.strip()
    effect: (
        Preset | ShrinkToSize | ShrinkByRatio | MeasuredRatio | Retention | Colocate | Provider | EcrLifecycle | Rebase
    )
    assumptions: tuple[str, ...]
    if kind in PRESETS and not colon:
        size, how = PRESETS[kind]
        effect = Preset(name=kind, size_bytes=size, standard_bytes=DEBIAN_TYPICAL_BYTES)
        shown_size, standard = format_bytes(size, trim=True), format_bytes(DEBIAN_TYPICAL_BYTES, trim=True)
        share = f"{plain(effect.ratio * 100, 2)} %"
        description = f"Image versions larger than {shown_size} shrink by the typical {kind} ratio ({share})"
        assumptions = (
            f"{exact_size(size)} and {standard} are typical uncompressed sizes of a Node.js service "
            f"image packaged {how} and on a standard Debian-based image, from a published comparison "
            "of packaging strategies. Registries store compressed layers, so costcalc applies the "
            f"comparison's ratio ({shown_size} / {standard} = {share}) to each image version larger "
            f"than {shown_size}; versions at or under it are unchanged. These are typical sizes, not a "
            "measurement of these images: measured:REPO:BEFORE=AFTER applies a ratio measured on two "
            "of your own tags.",
        )
    elif kind == "target" and colon:
        try:
            size = parse_size(argument)
        except ValueError as problem:
            raise SpecProblem(str(problem)) from None
        effect = ShrinkToSize(size_bytes=size)
        description = f"Every image shrinks to at most {argument} ({size:,} bytes)"
        assumptions = (f"Images already at or below {argument} ({size:,} bytes) are unchanged.",)
    elif kind == "ratio" and colon:
        ratio = _decimal(argument, "ratio")
        if not Decimal(0) < ratio <= 1:
            raise SpecProblem("ratio must be > 0 and <= 1")
        effect = ShrinkByRatio(ratio=ratio)
        description = f"Every image shrinks to {plain(ratio)} x its bytes"
        assumptions = (f"Every image keeps {plain(ratio * 100)} % of its bytes.",)
    elif kind == "measured" and colon:
        effect = _measured(argument)
        description = (
            f"Every image shrinks by the ratio of {effect.repository}:{effect.after} "
            f"to {effect.repository}:{effect.before}"
        )
        assumptions = ()
    elif kind == "retention" and colon:
        effect = _retention(argument)
        description = (
            f"Keep the newest {effect.versions} versions of each repository"
            if effect.versions is not None
            else f"Keep the versions created in the last {effect.days} days (and the newest)"
        )
        assumptions = ()
    elif kind == "colocate" and colon:
        percent = _decimal(argument.removesuffix("%"), "colocate percentage")
        if not Decimal(0) < percent <= 100:
            raise SpecProblem("colocate percentage must be > 0 and <= 100")
        effect = Colocate(percent=percent)
        description = f"{plain(percent)} % of internet and cross-region pulls move to same-region"
        assumptions = (
            "Pulls move to a pull-through cache or regional replica in the registry's "
            "region; the replica's own storage and the replication transfer are not priced.",
        )
    elif kind == "provider" and colon:
        if not argument:
            raise SpecProblem("provider needs a price book id or file, e.g. provider:gcp-artifact-registry")
        effect = Provider(book=argument)
        description = f"The same inventory and usage priced on {argument}"
        assumptions = ()
    elif kind == "ecr-lifecycle" and colon:
        if not argument:
            raise SpecProblem(
                "ecr-lifecycle needs a lifecycle policy JSON file or `current` (each repository's own policy)"
            )
        effect = EcrLifecycle(policy=argument)
        description = (
            "Each repository's current ECR lifecycle policy applied"
            if effect.current
            else f"The ECR lifecycle policy {argument} applied to every repository"
        )
        assumptions = (
            "Rules are applied by rulePriority, lowest first, as ECR documents: an image is expired by "
            "one rule or none, imageCountMoreThan keeps the newest by push time (the image's creation "
            "time where the inventory has no push time), sinceImagePushed counts days to the scan.",
        )
    elif kind == "rebase" and colon:
        effect = rebase_effect(argument)
        description = f"Images built on {effect.source} rebuilt on {effect.target}"
        assumptions = (
            f"An image is built on {effect.source} when its layers start with {effect.source}'s (per "
            f"platform); rebuilt on {effect.target}, it has {effect.target}'s layers in their place and keeps "
            "its own layers, manifest and config sizes. Storage is measured again from the projected "
            "blobs; a cold pull changes by the difference of the two bases' bytes; a deploy on a node "
            "that holds the previous version still fetches only the layers that changed, once the node "
            f"has fetched {effect.target}'s layers (the one-time migration transfer, shown apart).",
        )
    else:
        raise SpecProblem(f"unknown scenario; expected {_FORMS}")
    if repositories:
        description += f" (in {', '.join(repositories)})"
    return Scenario(
        id=spec,
        description=description,
        effect=effect,
        repositories=repositories,
        assumptions=assumptions,
        origin=origin,
    )


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise SpecProblem(f"{what} must be a number, not {shown(text)!r}") from None
    if not value.is_finite():
        raise SpecProblem(f"{what} must be a finite number")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_MAX_PLACES:
        raise SpecProblem(f"{what} has more than {_MAX_PLACES} decimals: {shown(text, 20)}")
    return value


def _measured(argument: str) -> MeasuredRatio:
    repository, _, pair = argument.rpartition(":")
    before, equals, after = pair.partition("=")
    if not repository or not equals:
        raise SpecProblem("measured needs REPO:BEFORE=AFTER, e.g. measured:acme/api:v1=v1-slim")
    if not REPOSITORY_RE.fullmatch(repository):
        raise SpecProblem(f"{shown(repository)!r} is not a repository name")
    for tag in (before, after):
        if not TAG_RE.fullmatch(tag):
            raise SpecProblem(f"{shown(tag)!r} is not a tag")
    if before == after:
        raise SpecProblem("measured needs two different tags")
    return MeasuredRatio(repository=repository, before=before, after=after)


def rebase_effect(argument: str) -> Rebase:
    """FROM=TO, each an image reference with an optional registry host."""
    source, equals, target = (part.strip() for part in argument.partition("="))
    if not equals or not source or not target:
        raise SpecProblem("rebase needs FROM=TO, e.g. rebase:library/node:20=library/node:20-slim")
    for reference in (source, target):
        first, slash, rest = reference.partition("/")
        hosted = slash and ("." in first or ":" in first or first == "localhost")
        try:
            parse_image_reference(rest if hosted else reference)
        except InvalidReference:
            raise SpecProblem(f"{shown(reference)!r} is not an image reference (REPO:TAG or REPO@DIGEST)") from None
    if source == target:
        raise SpecProblem("rebase needs two different images")
    return Rebase(source=source, target=target)


def _retention(argument: str) -> Retention:
    days = argument.lower().endswith("d")
    number = argument[:-1] if days else argument
    digits = number.isascii() and number.isdecimal()
    if not digits or (len(number) <= 12 and int(number) < 1):
        raise SpecProblem("retention needs a number of versions >= 1 (retention:10) or of days (retention:90d)")
    limit, what = (MAX_DAYS, "days (100 years)") if days else (MAX_VERSIONS, "versions")
    count = int(number) if len(number) <= 12 else limit + 1
    if count > limit:
        raise SpecProblem(f"retention keeps at most {limit:,} {what}, not {shown(number, 20)}")
    return Retention(days=count) if days else Retention(versions=count)
