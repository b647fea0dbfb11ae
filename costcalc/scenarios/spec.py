"""Savings scenarios (SPEC §6): specs, scenario files, and their effect on priced quantities."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from costcalc import toml_lines
from costcalc.errors import InputError
from costcalc.inventory.model import Inventory
from costcalc.pricing import book_file
from costcalc.pricing.book import DedupScope
from costcalc.reference import REPOSITORY_RE, TAG_RE
from costcalc.report import build as costs
from costcalc.report.build import Quantities, RowQuantities, ScenarioResult, ScenarioRow, VersionBytes
from costcalc.scenarios.retention import (
    Retention,
    RetentionPlan,
    retained_inventory,
    retention_plan,
    version_bytes,
)

if TYPE_CHECKING:
    from costcalc.pricing.book import PriceBook
    from costcalc.usage.file import Usage

SAME_REGION = "same-region"
COLOCATED_CLASSES = ("internet", "cross-region")

# Typical Node.js service image sizes per packaging strategy (SPEC §6), against 912 MB for a
# standard Debian-based image. MB = 10^6 bytes.
DEBIAN_TYPICAL_BYTES = 912_000_000
PRESETS: Mapping[str, tuple[int, str]] = {
    "alpine": (186_000_000, "on an Alpine base image"),
    "multistage": (142_000_000, "with a multi-stage build"),
    "distroless": (78_000_000, "on a distroless base image"),
}

_SIZE = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[A-Za-z]*)")
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SPEC_FORMS = (
    "alpine, multistage, distroless, target:SIZE, ratio:R, measured:REPO:BEFORE=AFTER, "
    "retention:N, retention:DAYSd, colocate:P or provider:ID"
)
_FILE_FIELDS = ("spec", "id", "description", "repositories", "keep")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ShrinkToSize(_Frozen):
    """Images larger than size_bytes shrink to it (presets and target:SIZE)."""

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


Effect = Annotated[
    ShrinkToSize | ShrinkByRatio | MeasuredRatio | Retention | Colocate | Provider,
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


class _SpecProblem(Exception):
    """A spec that does not parse; str() is the problem without its location."""


# -- specs ------------------------------------------------------------------------------------


def parse_spec(text: str) -> Scenario:
    """The scenario a `--scenario` spec describes; a bad spec is an InputError of one sentence."""
    origin = f"--scenario '{text}'"
    try:
        return _parse(text, origin)
    except _SpecProblem as problem:
        raise InputError(f"{origin}: {problem}.") from None


def from_option(value: str) -> list[Scenario]:
    """The scenarios of one `--scenario` value: a scenario file (*.toml, or a file) or a spec."""
    path = Path(value)
    if value.endswith(".toml") or (path.is_file() and value.lower() not in PRESETS):
        return load_scenario_file(path)
    return [parse_spec(value)]


def _parse(text: str, origin: str, repositories: tuple[str, ...] = ()) -> Scenario:
    spec = text.strip()
    kind, colon, argument = spec.partition(":")
    kind = kind.lower()
    argument = argument.strip()
    effect: ShrinkToSize | ShrinkByRatio | MeasuredRatio | Retention | Colocate | Provider
    assumptions: tuple[str, ...]
    if kind in PRESETS and not colon:
        size, how = PRESETS[kind]
        effect = ShrinkToSize(size_bytes=size)
        description = f"Images larger than {format_bytes(size)} shrink to it (typical {kind} size)"
        assumptions = (
            f"{_exact_size(size)} is the typical size of a Node.js service packaged "
            f"{how}, "
            f"against {format_bytes(DEBIAN_TYPICAL_BYTES)} for a standard Debian-based image "
            "(costcalc SPEC §6); it is a typical size, not a measurement of these images: use "
            "measured:REPO:BEFORE=AFTER for a ratio measured on two of your own tags.",
        )
    elif kind == "target" and colon:
        size = parse_size(argument)
        effect = ShrinkToSize(size_bytes=size)
        description = f"Every image shrinks to at most {argument} ({size:,} bytes)"
        assumptions = (f"Images already at or below {argument} ({size:,} bytes) are unchanged.",)
    elif kind == "ratio" and colon:
        ratio = _decimal(argument, "ratio")
        if not Decimal(0) < ratio <= 1:
            raise _SpecProblem("ratio must be > 0 and <= 1")
        effect = ShrinkByRatio(ratio=ratio)
        description = f"Every image shrinks to {_plain(ratio)} x its bytes"
        assumptions = (f"Every image keeps {_plain(ratio * 100)} % of its bytes.",)
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
            raise _SpecProblem("colocate percentage must be > 0 and <= 100")
        effect = Colocate(percent=percent)
        description = f"{_plain(percent)} % of internet and cross-region pulls move to same-region"
        assumptions = (
            "Pulls move to a pull-through cache or regional replica in the registry's "
            "region; the replica's own storage and the replication transfer are not priced.",
        )
    elif kind == "provider" and colon:
        if not argument:
            raise _SpecProblem("provider needs a price book id or file, e.g. provider:gcp-artifact-registry")
        effect = Provider(book=argument)
        description = f"The same inventory and usage priced on {argument}"
        assumptions = ()
    else:
        raise _SpecProblem(f"unknown scenario; expected {_SPEC_FORMS}")
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
        raise _SpecProblem(f"{what} must be a number, not {text!r}") from None
    if not value.is_finite():
        raise _SpecProblem(f"{what} must be a finite number")
    return value


def _measured(argument: str) -> MeasuredRatio:
    repository, _, pair = argument.rpartition(":")
    before, equals, after = pair.partition("=")
    if not repository or not equals:
        raise _SpecProblem("measured needs REPO:BEFORE=AFTER, e.g. measured:acme/api:v1=v1-slim")
    if not REPOSITORY_RE.fullmatch(repository):
        raise _SpecProblem(f"{repository!r} is not a repository name")
    for tag in (before, after):
        if not TAG_RE.fullmatch(tag):
            raise _SpecProblem(f"{tag!r} is not a tag")
    if before == after:
        raise _SpecProblem("measured needs two different tags")
    return MeasuredRatio(repository=repository, before=before, after=after)


def _retention(argument: str) -> Retention:
    days = argument.lower().endswith("d")
    number = argument[:-1] if days else argument
    if not number.isdecimal() or int(number) < 1:
        raise _SpecProblem("retention needs a number of versions >= 1 (retention:10) or of days (retention:90d)")
    return Retention(days=int(number)) if days else Retention(versions=int(number))


def parse_size(text: str) -> int:
    """Bytes of a size such as `150MB`, `1.5GiB`, `500MiB` or `123456` (MB = 10^6, MiB = 2^20)."""
    match = _SIZE.fullmatch(text.strip())
    unit = _SIZE_UNITS.get(match.group("unit").lower()) if match else None
    if match is None or unit is None:
        raise _SpecProblem(f"{text!r} is not a size; use bytes or a unit: 150MB, 500MiB, 1.5GiB")
    size = (Decimal(match.group("number")) * unit).to_integral_value(ROUND_HALF_UP)
    if size <= 0:
        raise _SpecProblem("the size must be > 0 bytes")
    return int(size)


_DECIMAL_UNITS = (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3))
_BINARY_UNITS = (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def format_bytes(size: int | Decimal, unit: str = "GB") -> str:
    """SIZE for sentences in the unit family of a price book's UNIT: decimal (186 MB, 1.5 GB) for
    a GB book, binary (177.38 MiB, 1.4 GiB) for a GiB book, as the report's tables show bytes;
    exact bytes below 1 kB / 1 KiB."""
    for name, factor in _BINARY_UNITS if unit == "GiB" else _DECIMAL_UNITS:
        if size >= factor:
            return f"{_plain(Decimal(size) / factor, places=2)} {name}"
    return f"{_plain(Decimal(size))} B"


def _exact_size(size: int) -> str:
    """A size as the SPEC or the user gave it, made explicit: `186 MB (186,000,000 bytes)`."""
    return f"{format_bytes(size)} ({size:,} bytes)"


def integer_bytes(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_HALF_UP))


def _plain(value: Decimal, places: int = 4) -> str:
    rounded = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP).normalize()
    return f"{rounded:f}"


# -- scenario files ---------------------------------------------------------------------------


def load_scenario_file(path: Path) -> list[Scenario]:
    """The scenarios in a TOML file of `[[scenarios]]`; problems as FILE:LINE: field: problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such scenario file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the scenario file ({exc.__class__.__name__}).") from None
    return loads_scenarios(text, str(path))


def loads_scenarios(text: str, source: str) -> list[Scenario]:
    """The scenarios of scenario-file TEXT read from SOURCE (see load_scenario_file)."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        problem = toml_lines.syntax_problem(exc, text)
        raise InputError(f"{source}:{problem.line}: not valid TOML: {problem.reason.strip()}.") from None
    lines = _Lines(text)
    problems: list[str] = []
    for key in data:
        if key != "scenarios":
            problems.append(f"{source}:{lines.top(key)}: {key}: unknown field (expected [[scenarios]] tables)")
    entries = data.get("scenarios")
    if entries is None:
        problems.append(f"{source}:1: scenarios: no [[scenarios]] table in the file")
        entries = []
    elif not isinstance(entries, list):
        problems.append(f"{source}:{lines.top('scenarios')}: scenarios: must be [[scenarios]] tables")
        entries = []
    scenarios: list[Scenario] = []
    seen_ids: dict[str, int] = {}
    for index, entry in enumerate(entries):
        scenario = _file_entry(entry, index, source, lines, problems)
        if scenario is None:
            continue
        line = lines.field(index, "id" if isinstance(entry, dict) and "id" in entry else "spec")
        if scenario.id in seen_ids:
            problems.append(
                f"{source}:{line}: id: {scenario.id!r} is already the id of the scenario at line "
                f"{seen_ids[scenario.id]}; give one of them an id"
            )
            continue
        seen_ids[scenario.id] = line
        scenarios.append(scenario)
    if problems:
        problems = [p if p.endswith(".") else p + "." for p in problems]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InputError(problems[0][:-1] + more + ".", problems=problems)
    return scenarios


def _file_entry(entry: object, index: int, source: str, lines: _Lines, problems: list[str]) -> Scenario | None:
    at = lines.entry(index)
    if not isinstance(entry, dict):
        problems.append(f"{source}:{at}: scenarios: each scenario must be a table with a spec")
        return None
    before = len(problems)
    for key in entry:
        if key not in _FILE_FIELDS:
            problems.append(
                f"{source}:{lines.field(index, key)}: {key}: unknown field (expected {', '.join(_FILE_FIELDS)})"
            )
    spec = entry.get("spec")
    if spec is None:
        problems.append(f'{source}:{at}: spec: missing; every scenario needs one, e.g. spec = "alpine"')
        return None
    if not isinstance(spec, str):
        problems.append(f"{source}:{lines.field(index, 'spec')}: spec: must be a string")
        return None
    repositories = _string_list(entry, "repositories", index, source, lines, problems)
    keep = _string_list(entry, "keep", index, source, lines, problems)
    description = entry.get("description")
    if description is not None and (not isinstance(description, str) or not description.strip()):
        problems.append(f"{source}:{lines.field(index, 'description')}: description: must be a non-empty string")
    scenario_id = entry.get("id")
    if scenario_id is not None and (not isinstance(scenario_id, str) or not scenario_id.strip()):
        problems.append(f"{source}:{lines.field(index, 'id')}: id: must be a non-empty string")
    spec_line = lines.field(index, "spec")
    try:
        scenario = _parse(spec, f"{source}:{spec_line}: spec", repositories or ())
    except _SpecProblem as problem:
        problems.append(f"{source}:{spec_line}: spec: {problem}")
        return None
    if repositories and isinstance(scenario.effect, Provider):
        problems.append(
            f"{source}:{lines.field(index, 'repositories')}: repositories: a provider scenario "
            "prices "
            "the whole inventory on another book and cannot be scoped"
        )
    if keep and not isinstance(scenario.effect, Retention):
        problems.append(f"{source}:{lines.field(index, 'keep')}: keep: only a retention scenario keeps tags")
    if len(problems) > before:
        return None
    update: dict[str, object] = {}
    if keep and isinstance(scenario.effect, Retention):
        update["effect"] = scenario.effect.model_copy(update={"keep": keep})
        update["assumptions"] = (
            *scenario.assumptions,
            f"Tags matching {', '.join(keep)} are always kept.",
        )
    if isinstance(description, str):
        update["description"] = description.strip()
    if isinstance(scenario_id, str):
        update["id"] = scenario_id.strip()
    elif repositories:
        update["id"] = f"{scenario.id} ({', '.join(repositories)})"
    return scenario.model_copy(update=update)


def _string_list(
    entry: dict[str, object], key: str, index: int, source: str, lines: _Lines, problems: list[str]
) -> tuple[str, ...] | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item.strip() for item in value):
        problems.append(f'{source}:{lines.field(index, key)}: {key}: must be a list of globs, e.g. ["acme/api*"]')
        return None
    return tuple(item.strip() for item in value)


class _Lines:
    """Line numbers of scenario-file keys, for FILE:LINE: field: problem messages."""

    def __init__(self, text: str) -> None:
        self.lines = toml_lines.key_lines(text)

    def top(self, key: str) -> int:
        return self.lines.get((key,), 1)

    def entry(self, index: int) -> int:
        return self.lines.get(("scenarios", index)) or self.top("scenarios")

    def field(self, index: int, key: str) -> int:
        return self.lines.get(("scenarios", index, key)) or self.entry(index)


# -- projection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """Where a projection is: the inventory it keeps, the book it prices on, its quantities."""

    inventory: Inventory
    book: PriceBook
    quantities: Quantities
    notes: tuple[str, ...] = ()
    versions: tuple[VersionBytes, ...] = ()  # what retention steps dropped and kept


@dataclass(frozen=True)
class _Step:
    """A scenario with what it needs from outside resolved once: a measured ratio, another book."""

    scenario: Scenario
    ratio: Decimal | None = None
    book: PriceBook | None = None


def project(
    inventory: Inventory,
    usage: Usage | None,
    book: PriceBook,
    baseline: Quantities,
    scenarios: Sequence[Scenario],
    *,
    months: int,
    keep: Sequence[str] = (),
) -> tuple[ScenarioResult, ...]:
    """Each scenario priced alone against BASELINE, then `combined` (in order) for two or more.

    BASELINE is `costs.measure(inventory, usage, book)`; USAGE is already folded into it (a
    provider scenario keeps its pulls and egress bytes and re-prices them). Savings are per
    month; horizon savings cover MONTHS months.
    """
    steps = [_resolve(scenario, inventory) for scenario in scenarios]
    for step in steps:
        if step.book is not None and step.book.currency != book.currency:
            raise InputError(
                f"{step.scenario.origin}: {step.book.id} prices in {step.book.currency} and the "
                f"report in {book.currency}: savings across currencies would be meaningless; "
                f"compare the books side by side with --pricing {book.id} --pricing {step.book.id}."
            )
    baseline_costs = costs.monthly_cost_by_repository(baseline, book)
    start = _State(inventory=inventory, book=book, quantities=baseline)
    # a retention step applied alone and again in `combined` (after steps that leave the
    # inventory and the pulled tags as they are) plans and measures the same thing: once
    cache: _RetentionCache = {}
    results = [
        _result(
            step.scenario.id,
            step.scenario.description,
            start,
            _apply(start, step, keep, cache),
            baseline_costs,
            months,
            step.scenario.assumptions,
        )
        for step in steps
    ]
    if len(steps) >= 2:
        state = start
        for step in steps:
            state = _apply(state, step, keep, cache)
        combined = _result(
            "combined",
            "All scenarios applied in order: " + ", then ".join(s.scenario.id for s in steps),
            start,
            state,
            baseline_costs,
            months,
            (),  # each step's standing assumptions are already on its own result
        )
        # a step's note that reads the same as on its own result says nothing new: only the
        # notes whose figures changed by applying the earlier steps first are repeated
        said = {note for result in results for note in result.assumptions}
        results.append(
            combined.model_copy(update={"assumptions": tuple(a for a in combined.assumptions if a not in said)})
        )
    return tuple(results)


def _resolve(scenario: Scenario, inventory: Inventory) -> _Step:
    effect = scenario.effect
    if isinstance(effect, MeasuredRatio):
        return _Step(scenario=scenario, ratio=measured_ratio(inventory, effect, scenario.origin))
    if isinstance(effect, Provider):
        try:
            other = book_file.load_book(effect.book)
        except InputError as exc:
            raise InputError(f"{scenario.origin}: {exc}") from None
        return _Step(scenario=scenario, book=other)
    return _Step(scenario=scenario)


def measured_ratio(inventory: Inventory, effect: MeasuredRatio, origin: str = "measured") -> Decimal:
    """AFTER's image bytes / BEFORE's, on BEFORE's default platform, which AFTER must also have."""
    repository = next((r for r in inventory.repositories if r.name == effect.repository), None)
    if repository is None:
        raise InputError(f"{origin}: the inventory has no repository {effect.repository}.")
    digests = {t.tag: t.digest for t in repository.tags}
    for tag in (effect.before, effect.after):
        if tag not in digests:
            raise InputError(f"{origin}: {effect.repository} has no tag {tag} in the inventory.")
    figures = inventory.figures
    before = figures.platforms(digests[effect.before])
    after = figures.platforms(digests[effect.after])
    platform = figures.default_platform(digests[effect.before])
    if platform is None or not before.get(platform):
        raise InputError(f"{origin}: {effect.repository}:{effect.before} is not an image with image bytes.")
    if platform not in after:
        raise InputError(
            f"{origin}: {effect.repository}:{effect.after} has no {platform} image to compare with "
            f"{effect.repository}:{effect.before}."
        )
    return Decimal(after[platform]) / Decimal(before[platform])


def _apply(state: _State, step: _Step, keep: Sequence[str], cache: _RetentionCache | None = None) -> _State:
    scenario = step.scenario
    effect = scenario.effect
    names = [row.repository for row in state.quantities.rows]
    scope, unmatched = _scope(names, scenario.repositories)
    notes = [f"{scenario.id}: the glob {glob!r} matches no repository, so it changes nothing." for glob in unmatched]
    match effect:
        case ShrinkToSize(size_bytes=size):
            target = Decimal(size)
            state = _shrink(state, scope, lambda image: min(image, target), scenario.id)
        case ShrinkByRatio(ratio=ratio):
            state = _shrink(state, scope, lambda image: image * ratio, scenario.id)
        case MeasuredRatio():
            ratio = step.ratio if step.ratio is not None else Decimal(1)
            state = _shrink(state, scope, lambda image: image * ratio, scenario.id)
            notes.append(
                f"{scenario.id}: {effect.repository}:{effect.after} has "
                f"{_plain(ratio * 100, 2)} % of the image bytes of "
                f"{effect.repository}:{effect.before}; every image is assumed to shrink alike."
            )
        case Retention():
            state = _retain(state, scope, effect, (*keep, *effect.keep), scenario.id, cache)
        case Colocate(percent=percent):
            state = _colocate(state, scope, percent, scenario)
        case Provider():
            assert step.book is not None  # resolved by _resolve
            state = _reprice(state, step.book, scenario.id)
    return _State(state.inventory, state.book, state.quantities, (*state.notes, *notes), state.versions)


def _scope(names: Iterable[str], globs: Sequence[str]) -> tuple[frozenset[str], list[str]]:
    """The repositories GLOBS select (all when there are none) and the globs that match nothing."""
    names = list(names)
    if not globs:
        return frozenset(names), []
    selected = {name for name in names if any(fnmatchcase(name, g) for g in globs)}
    unmatched = [g for g in globs if not any(fnmatchcase(name, g) for name in names)]
    return frozenset(selected), unmatched


def _with_rows(
    state: _State,
    rows: Iterable[RowQuantities],
    notes: Iterable[str] = (),
    *,
    inventory: Inventory | None = None,
    book: PriceBook | None = None,
    versions: Iterable[VersionBytes] = (),
) -> _State:
    added = tuple(versions)
    merged_versions = state.versions
    if added and not merged_versions:
        merged_versions = added  # one entry per (repository, digest) already
    elif added:
        # a later retention step re-reports the versions an earlier one kept: the later word counts
        merged = {(v.repository, v.digest): v for v in state.versions}
        merged.update({(v.repository, v.digest): v for v in added})
        merged_versions = tuple(merged.values())
    return _State(
        inventory=inventory or state.inventory,
        book=book or state.book,
        quantities=state.quantities.model_copy(update={"rows": tuple(rows)}),
        notes=(*state.notes, *notes),
        versions=merged_versions,
    )


def _shrink(
    state: _State,
    scope: frozenset[str],
    new_size: Callable[[Decimal], Decimal],
    scenario_id: str,
) -> _State:
    """Each scoped row's pulled image gets r = new / old bytes; storage and egress scale by r."""
    rows: list[RowQuantities] = []
    shrunk = 0
    for row in state.quantities.rows:
        image = Decimal(row.image_bytes)
        new_image = new_size(image) if row.repository in scope and image > 0 else image
        if new_image == image:
            rows.append(row)
            continue
        shrunk += 1
        r = new_image / image
        egress = row.egress_bytes_by_class
        rows.append(
            row.model_copy(
                update={
                    "storage_bytes": row.storage_bytes * r,
                    "image_bytes": new_image,
                    # manifests and config are not part of the image and keep their size
                    "pull_bytes": row.pull_bytes - image + new_image,
                    "delta_bytes": row.delta_bytes * r,
                    "egress_bytes_by_class": None if egress is None else {c: b * r for c, b in egress.items()},
                }
            )
        )
    candidates = sum(1 for row in state.quantities.rows if row.repository in scope and row.image_bytes > 0)
    notes = [
        f"{scenario_id}: {shrunk} of {candidates} repositories with a pulled image shrink. "
        "Storage scales by the pulled image's size ratio (the SPEC §6 approximation: older "
        "versions and shared layers are assumed to shrink alike); monthly egress scales by the "
        "same ratio, manifests and config included.",
    ]
    return _with_rows(state, rows, notes)


def _colocate(state: _State, scope: frozenset[str], percent: Decimal, scenario: Scenario) -> _State:
    classes = set(state.book.egress_classes)
    if SAME_REGION not in classes:
        raise InputError(
            f"{scenario.origin}: the price book {state.book.id} has no {SAME_REGION} egress class, "
            "so pulls cannot move to one."
        )
    share = percent / 100
    rows: list[RowQuantities] = []
    moved_total = Decimal(0)
    for row in state.quantities.rows:
        egress = row.egress_bytes_by_class
        if row.repository not in scope or egress is None:
            rows.append(row)
            continue
        moved_by_class = {c: egress[c] * share for c in COLOCATED_CLASSES if egress.get(c)}
        if not moved_by_class:
            rows.append(row)
            continue
        moved = sum(moved_by_class.values(), Decimal(0))
        moved_total += moved
        updated = {c: b - moved_by_class.get(c, Decimal(0)) for c, b in egress.items()}
        updated[SAME_REGION] = updated.get(SAME_REGION, Decimal(0)) + moved
        rows.append(row.model_copy(update={"egress_bytes_by_class": updated}))
    note = (
        f"{scenario.id}: {format_bytes(moved_total, state.book.unit)} of egress a month moves from internet and "
        "cross-region to same-region."
        if moved_total
        else f"{scenario.id}: no repository in scope pulls over internet or cross-region, so nothing moves."
    )
    return _with_rows(state, rows, [note])


def _reprice(state: _State, other: PriceBook, scenario_id: str) -> _State:
    """Storage re-attributed under OTHER's dedup scope; egress classes mapped by name."""
    figures = state.inventory.figures
    old_scope, new_scope = _dedup_scope(state.book), _dedup_scope(other)
    old = figures.attributed_bytes(old_scope)
    new = figures.attributed_bytes(new_scope)
    classes = set(other.egress_classes)
    fallback = "internet" if "internet" in classes else None
    unmapped: set[str] = set()
    rows: list[RowQuantities] = []
    for row in state.quantities.rows:
        storage = row.storage_bytes
        if old.get(row.repository):
            storage = storage * Decimal(new.get(row.repository, 0)) / Decimal(old[row.repository])
        egress = row.egress_bytes_by_class
        mapped: dict[str, Decimal] | None = None
        if egress is not None:
            mapped = {}
            for cls, amount in egress.items():
                target = cls if cls in classes else fallback
                if target != cls:
                    unmapped.add(cls)
                if target is not None:
                    mapped[target] = mapped.get(target, Decimal(0)) + amount
        rows.append(row.model_copy(update={"storage_bytes": storage, "egress_bytes_by_class": mapped}))
    notes = [
        f"{scenario_id}: priced on {other.id}; storage attributed under its {new_scope} dedup "
        "scope "
        f"(was {old_scope}); pulls and egress bytes are unchanged.",
    ]
    for cls in sorted(unmapped):
        notes.append(
            f"{scenario_id}: {other.id} has no {cls} egress class; those bytes are priced as internet."
            if fallback
            else f"{scenario_id}: {other.id} has no {cls} egress class and no internet class; "
            "those "
            "bytes are not priced, so this projection understates the cost."
        )
    return _with_rows(state, rows, notes, book=other)


def _dedup_scope(book: PriceBook) -> DedupScope:
    return "repository" if book.dedup_scope == "repository" else "registry"


@dataclass(frozen=True)
class _Retained:
    """What a retention policy does to one inventory, whatever the quantities it is applied to."""

    inventory: Inventory  # the input, kept so that its id() in the cache key stays its own
    plans: Mapping[str, RetentionPlan]
    retained: Inventory
    before: Mapping[str, int]  # attributed bytes, before and after
    after: Mapping[str, int]
    retained_tags: Mapping[str, int]
    versions: tuple[VersionBytes, ...]


_RetentionKey = tuple[int, Retention, tuple[str, ...], frozenset[str], tuple[tuple[str, str], ...], str]
_RetentionCache = dict[_RetentionKey, _Retained]


def _retention_outcome(
    inventory: Inventory,
    scope: frozenset[str],
    policy: Retention,
    keep: Sequence[str],
    pulled: Mapping[str, str],
    dedup: DedupScope,
) -> _Retained:
    plans = {
        repo.name: retention_plan(
            inventory, repo.name, policy, (*keep, pulled[repo.name]) if repo.name in pulled else tuple(keep)
        )
        for repo in inventory.repositories
        if repo.name in scope
    }
    retained = retained_inventory(inventory, {name: plan.kept_tags for name, plan in plans.items()})
    return _Retained(
        inventory=inventory,
        plans=plans,
        retained=retained,
        before=inventory.figures.attributed_bytes(dedup),
        after=retained.figures.attributed_bytes(dedup),
        retained_tags={repo.name: len(repo.tags) for repo in retained.repositories},
        versions=tuple(version_bytes(inventory, plans, dedup)),
    )


def _retain(
    state: _State,
    scope: frozenset[str],
    policy: Retention,
    keep: Sequence[str],
    scenario_id: str,
    cache: _RetentionCache | None = None,
) -> _State:
    """Storage recomputed exactly from the blobs the kept tags reach, as a ratio per repository."""
    inventory = state.inventory
    dedup = _dedup_scope(state.book)
    # the tag a repository's pulls use stays, so its egress is unchanged
    pulled = {r.repository: r.pulled_tag for r in state.quantities.rows if r.pulled_tag}
    key: _RetentionKey = (id(inventory), policy, tuple(keep), scope, tuple(sorted(pulled.items())), dedup)
    cached = cache.get(key) if cache is not None else None
    if cached is not None and cached.inventory is inventory:
        outcome = cached
    else:
        outcome = _retention_outcome(inventory, scope, policy, keep, pulled, dedup)
        if cache is not None:
            cache[key] = outcome
    plans, retained = outcome.plans, outcome.retained
    before, after, retained_tags = outcome.before, outcome.after, outcome.retained_tags
    rows: list[RowQuantities] = []
    for row in state.quantities.rows:
        name = row.repository
        if before.get(name, 0) == after.get(name, 0) and retained_tags.get(name, row.tags) == row.tags:
            rows.append(row)
            continue
        # a ratio, not the retained bytes themselves, so it composes with an earlier shrink
        ratio = Decimal(after.get(name, 0)) / Decimal(before[name]) if before.get(name) else Decimal(1)
        rows.append(
            row.model_copy(
                update={
                    "storage_bytes": row.storage_bytes * ratio,
                    "tags": retained_tags.get(name, row.tags),
                    "unique_bytes": retained.figures.repository_bytes.get(name, 0),
                }
            )
        )
    # freed in this state's storage: after an earlier shrink, the scaled bytes
    freed = sum((r.storage_bytes for r in state.quantities.rows), Decimal(0)) - sum(
        (r.storage_bytes for r in rows), Decimal(0)
    )
    dropped = [name for name, plan in plans.items() if plan.dropped]
    dropped_total = sum(len(p.dropped) for p in plans.values())
    versions_total = sum(len(inventory.figures.image_versions(name)) for name in plans)
    notes = [
        f"{scenario_id}: versions are distinct image digests ordered by their config's created "
        "time "
        "(tags aliasing one digest are one version); signatures, attestations and SBOMs tagged "
        "sha256-<digest>.* follow their image; other artifacts are kept. The tag each "
        "repository's pulls use is kept, so egress is unchanged.",
        f"{scenario_id}: drops {dropped_total} of {versions_total} image "
        f"versions in {len(dropped)} {'repository' if len(dropped) == 1 else 'repositories'}; "
        f"storage recomputed from the blobs the kept tags still reach under {dedup} dedup frees "
        f"{format_bytes(freed, state.book.unit)} ({integer_bytes(freed):,} bytes); layers shared "
        "with a kept version or another repository stay, and layers shared only among dropped versions are freed but "
        "count in no version's exclusive bytes (listed per version).",
    ]
    if keep:
        notes.append(f"{scenario_id}: tags matching {', '.join(keep)} are always kept.")
    undated = sum(plan.undated_kept for plan in plans.values())
    if undated:
        notes.append(f"{scenario_id}: {undated} versions have no creation time and are kept.")
    return _with_rows(state, rows, notes, inventory=retained, versions=outcome.versions)


# -- results ----------------------------------------------------------------------------------


def _result(
    scenario_id: str,
    description: str,
    start: _State,
    end: _State,
    baseline_costs: Mapping[str, Decimal],
    months: int,
    assumptions: tuple[str, ...],
) -> ScenarioResult:
    projected_costs = costs.monthly_cost_by_repository(end.quantities, end.book)
    baseline_total = sum(baseline_costs.values(), Decimal(0))
    monthly = sum(projected_costs.values(), Decimal(0))
    savings = baseline_total - monthly
    storage_before = sum((row.storage_bytes for row in start.quantities.rows), Decimal(0))
    storage_after = sum((row.storage_bytes for row in end.quantities.rows), Decimal(0))
    rows = tuple(
        ScenarioRow(
            repository=name,
            baseline_monthly_cost=baseline_costs.get(name, Decimal(0)),
            monthly_cost=projected_costs.get(name, Decimal(0)),
            monthly_savings=baseline_costs.get(name, Decimal(0)) - projected_costs.get(name, Decimal(0)),
        )
        for name in sorted(set(baseline_costs) | set(projected_costs))
    )
    return ScenarioResult(
        id=scenario_id,
        description=description,
        pricing_id=end.book.id,
        baseline_monthly_cost=baseline_total,
        monthly_cost=monthly,
        monthly_savings=savings,
        horizon_savings=savings * months,
        savings_pct=savings / baseline_total * 100 if baseline_total else Decimal(0),
        bytes_freed=storage_before - storage_after,
        assumptions=(*assumptions, *end.notes),
        rows=rows,
        versions=end.versions,
    )
