"""The fleet options of `report`: several SOURCEs, and books, usage and scenarios mapped to registries.

`--pricing GLOB=BOOK`, `--usage GLOB=FILE` and `--scenario GLOB=SPEC` give a registry (matched
by a shell-style glob on its host name, case-insensitive) its own book, usage file or scenario;
the first matching glob wins. A value without `GLOB=` applies to every registry: one book (the
first) prices registries no glob names, further ones are comparisons; one usage file serves
every registry no glob names; a scenario applies fleet-wide.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from costcalc.errors import InputError
from costcalc.inventory.merge import InputSummary, RegistryInventory

if TYPE_CHECKING:
    from costcalc.pricing.book import PriceBook
    from costcalc.registry.options import ScanOptions
    from costcalc.report.fleet_members import Member
    from costcalc.scenarios.spec import Scenario
    from costcalc.usage.file import Usage

# A duration for --max-age: a whole number of hours, days or weeks.
_AGE = re.compile(r"^\s*(\d{1,6})\s*([hdw])\s*$", re.IGNORECASE)
_AGE_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


@dataclass(frozen=True, slots=True)
class Mapped:
    """The values of one repeatable option: those for every registry, and those for a glob's."""

    everywhere: tuple[str, ...]
    scoped: tuple[tuple[str, str], ...]  # (glob, value), in command-line order

    def values(self) -> tuple[str, ...]:
        """Every value given, plain or for a glob."""
        return (*self.everywhere, *(value for _, value in self.scoped))


def split_mapping(values: Sequence[str], *, is_plain: Callable[[str], bool] | None = None) -> Mapped:
    """VALUES split into plain ones and `GLOB=VALUE` ones.

    A value is plain when it names an existing file, has no `=`, or IS_PLAIN says
    so (a scenario spec such as `rebase:A=B` holds an `=` of its own).
    """
    everywhere: list[str] = []
    scoped: list[tuple[str, str]] = []
    for value in values:
        glob, equals, rest = value.partition("=")
        plain = not equals or Path(value).exists() or (is_plain is not None and is_plain(value))
        if plain:
            everywhere.append(value)
        elif not glob.strip() or not rest.strip():
            raise InputError(f"{value!r}: a registry mapping is GLOB=VALUE, with both parts given.")
        else:
            scoped.append((glob.strip().lower(), rest.strip()))
    return Mapped(tuple(everywhere), tuple(scoped))


def matching(glob: str, registry: str) -> bool:
    return fnmatch.fnmatchcase(registry.lower(), glob)


def first_match(scoped: Sequence[tuple[str, str]], registry: str) -> str | None:
    """The value of the first glob of SCOPED matching REGISTRY."""
    return next((value for glob, value in scoped if matching(glob, registry)), None)


def unmatched_globs(option: str, scoped: Sequence[tuple[str, str]], registries: Sequence[str]) -> list[str]:
    """A warning per glob of SCOPED that names no registry of the fleet (a typo, usually)."""
    return [
        f"{option} {glob}={value} matches no registry of the fleet ({', '.join(registries)})."
        for glob, value in scoped
        if not any(matching(glob, registry) for registry in registries)
    ]


def book_refs(mapped: Mapped, registries: Sequence[RegistryInventory]) -> dict[str, list[str]]:
    """Per registry, the books that price it: its own first, then the comparisons.

    Without mappings the first plain book prices every registry and the others compare; with
    mappings every plain book is a comparison, and a registry no glob maps is an error.
    """
    names = [r.registry for r in registries]
    if not mapped.scoped:
        refs = list(mapped.everywhere) or ["aws-ecr"]
        return dict.fromkeys(names, refs)
    unmapped = [name for name in names if first_match(mapped.scoped, name) is None]
    if unmapped:
        raise InputError(
            f"--pricing maps no book to {', '.join(unmapped)}; the fleet's registries are "
            f"{', '.join(names)}: add --pricing GLOB=BOOK for each."
        )
    return {name: [first_match(mapped.scoped, name) or "", *mapped.everywhere] for name in names}


def usage_refs(mapped: Mapped, registries: Sequence[RegistryInventory]) -> dict[str, str | None]:
    """Per registry, its usage file (None: no pull data)."""
    if len(mapped.everywhere) > 1:
        raise InputError(
            "--usage is given more than once for every registry; give one file, or map each to its "
            "registries with --usage GLOB=FILE."
        )
    default = mapped.everywhere[0] if mapped.everywhere else None
    return {r.registry: first_match(mapped.scoped, r.registry) or default for r in registries}


def expand_sources(sources: Sequence[str]) -> list[str]:
    """SOURCES with each directory replaced by its `*.json` files (sorted; not recursive)."""
    expanded: list[str] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files = sorted(str(p) for p in path.glob("*.json") if p.is_file())
            if not files:
                raise InputError(f"{source}: a directory of inventories, but it holds no *.json file.")
            expanded.extend(files)
        else:
            expanded.append(source)
    return expanded


def parse_max_age(text: str | None) -> timedelta | None:
    """--max-age: `36h`, `7d` or `2w`."""
    if text is None:
        return None
    found = _AGE.match(text)
    if found is None or int(found.group(1)) == 0:
        raise InputError(f"--max-age {text!r}: give a whole number of hours, days or weeks (36h, 7d, 2w).")
    return int(found.group(1)) * _AGE_UNITS[found.group(2).lower()]


def strict_problems(inputs: Sequence[InputSummary], now: datetime, max_age: timedelta | None) -> list[str]:
    """What `--strict` refuses: inputs scanned longer ago than MAX_AGE, and scans that skipped something."""
    problems = []
    for given in inputs:
        if max_age is not None and now - given.scanned_at > max_age:
            problems.append(f"{given.source} is older than --max-age (scanned {given.scanned_at:%Y-%m-%d %H:%M} UTC)")
        if given.errors:
            problems.append(f"{given.source} skipped {given.errors} repositories or tags")
    return problems


def is_scenario_spec(value: str) -> bool:
    """True when VALUE begins as a scenario spec does (its own `=`, as in `rebase:A=B`, is no scope)."""
    from costcalc.scenarios.spec import KINDS, PRESETS

    kind, colon, _ = value.partition(":")
    return value.lower() in PRESETS or (bool(colon) and kind.lower() in KINDS)


@dataclass(frozen=True, slots=True)
class Inputs:
    """Every book, usage file and scenario the options name, read and checked before any
    inventory is read (or any registry scanned): a bad one is said at once."""

    pricing: Mapped
    usage: Mapped
    scenarios: Mapped
    books: Mapping[str, PriceBook]
    usage_files: Mapping[str, Usage]
    specs: Mapping[str, list[Scenario]]


def read_inputs(pricing: Mapped, usage: Mapped, scenarios: Mapped) -> Inputs:
    from costcalc.pricing.book_file import load_book
    from costcalc.scenarios.file import from_option
    from costcalc.usage.file import load_usage

    book_names = pricing.values() if pricing.everywhere else ("aws-ecr", *pricing.values())
    return Inputs(
        pricing,
        usage,
        scenarios,
        books={ref: load_book(ref) for ref in book_names},
        usage_files={ref: load_usage(Path(ref)) for ref in usage.values()},
        specs={value: from_option(value) for value in scenarios.values()},
    )


def members(
    registries: Sequence[RegistryInventory], inputs: Inputs, scan: ScanOptions
) -> tuple[list[Member], list[str]]:
    """Each registry with its books, usage and scenarios; and the warnings about globs matching none."""
    from costcalc.cli.lifecycle import current_lifecycle_policies
    from costcalc.report.fleet_members import Member, ScopedScenario
    from costcalc.usage.file import check_sources

    names = [r.registry for r in registries]
    scenarios = inputs.scenarios
    fleet_wide = [ScopedScenario(s) for value in scenarios.everywhere for s in inputs.specs[value]]
    book_of = book_refs(inputs.pricing, registries)
    usage_of = usage_refs(inputs.usage, registries)
    built = []
    for registry in registries:
        own = [
            ScopedScenario(s, glob)
            for glob, value in scenarios.scoped
            if matching(glob, registry.registry)
            for s in inputs.specs[value]
        ]
        chosen = (*fleet_wide, *own)
        registry_books = tuple(inputs.books[ref] for ref in book_of[registry.registry])
        usage_ref = usage_of[registry.registry]
        usage_file = inputs.usage_files[usage_ref] if usage_ref is not None else None
        if usage_file is not None:
            check_sources(usage_file, registry_books[0])
        source = registry.inputs[0].source
        policies = current_lifecycle_policies([s.scenario for s in chosen], source, registry.inventory, scan)
        built.append(Member(registry, registry_books, usage_file, chosen, policies))
    warnings = [
        *unmatched_globs("--pricing", inputs.pricing.scoped, names),
        *unmatched_globs("--usage", inputs.usage.scoped, names),
        *unmatched_globs("--scenario", scenarios.scoped, names),
    ]
    return built, warnings
