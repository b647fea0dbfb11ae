"""Scenario files: TOML `[[scenarios]]` tables validated through pydantic, every problem with its line."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from costcalc import toml_lines
from costcalc.errors import InputError
from costcalc.scenarios.retention import Retention
from costcalc.scenarios.spec import KINDS, PRESETS, Provider, Scenario, SpecProblem, parse, parse_spec, shown

# A scenario file is a handful of short tables: anything larger is not one.
MAX_FILE_BYTES = 1 << 20
FIELDS = ("spec", "id", "description", "repositories", "keep")

_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_Globs = Annotated[tuple[_Text, ...], Field(min_length=1)]


class ScenarioEntry(BaseModel):
    """One `[[scenarios]]` table as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: str
    id: _Text | None = None
    description: _Text | None = None
    repositories: _Globs | None = None
    keep: _Globs | None = None


class ScenarioFile(BaseModel):
    """A scenario file: its `[[scenarios]]` tables and nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenarios: tuple[ScenarioEntry, ...]


# What a problem with each field means, in the file's own terms (pydantic's words otherwise).
_FIELD_PROBLEMS = {
    "spec": "must be a string",
    "id": "must be a non-empty string",
    "description": "must be a non-empty string",
    "repositories": 'must be a list of globs, e.g. ["acme/api*"]',
    "keep": 'must be a list of globs, e.g. ["v*"]',
}


def from_option(value: str) -> list[Scenario]:
    """The scenarios of one `--scenario` value: a scenario file (*.toml, or a file) or a spec."""
    path = Path(value)
    kind, colon, _ = value.partition(":")
    is_spec = value.lower() in PRESETS or (bool(colon) and kind.lower() in KINDS)
    if not is_spec and (value.endswith(".toml") or path.is_file()):
        return load_scenario_file(path)
    return [parse_spec(value)]


def load_scenario_file(path: Path) -> list[Scenario]:
    """The scenarios in a TOML file of `[[scenarios]]`; problems as FILE:LINE: field: problem."""
    try:
        if path.exists() and not path.is_file():  # a device never ends, a FIFO blocks the open
            raise InputError(f"{path}: a scenario file must be a regular file.")
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such scenario file.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the scenario file ({exc.strerror or exc.__class__.__name__}).") from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{path}: a scenario file is at most {MAX_FILE_BYTES // 1024} KiB; this one is larger.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: the scenario file is not UTF-8 text.") from None
    return loads_scenarios(text, str(path))


def loads_scenarios(text: str, source: str) -> list[Scenario]:
    """The scenarios of scenario-file TEXT read from SOURCE (see load_scenario_file)."""
    try:
        data = toml_lines.loads(text)  # nesting and integer sizes bounded there
    except tomllib.TOMLDecodeError as exc:
        problem = toml_lines.syntax_problem(exc, text)
        raise InputError(f"{source}:{problem.line}: not valid TOML: {problem.reason.strip()}.") from None
    lines = toml_lines.key_lines(text)
    # (entry, phase, line, message): by entry in file order, field problems before spec problems
    problems: list[tuple[int, int, int, str]] = []
    entries: dict[int, ScenarioEntry] = {}
    invalid: set[int] = set()  # entries with a bad field: checked further, never used
    try:
        entries = dict(enumerate(ScenarioFile.model_validate(data).scenarios))
    except ValidationError as exc:
        bad_fields: dict[int, set[str | int]] = {}
        for index, field in _error_places(exc):
            bad_fields.setdefault(index, set()).add(field)
        # pydantic reports fields in the model's order: the file's order reads better
        problems += sorted(_validation_problems(exc, source, lines))
        raw = data.get("scenarios")
        for index, entry in enumerate(raw if isinstance(raw, list) else []):
            bad = bad_fields.get(index, set())
            if not isinstance(entry, dict) or "spec" in bad or "" in bad:
                continue
            # the fields that are valid still meet the checks that need the spec
            entries[index] = ScenarioEntry.model_validate({k: v for k, v in entry.items() if k not in bad})
            if bad:
                invalid.add(index)
    scenarios: list[Scenario] = []
    seen_ids: dict[str, int] = {}
    for index, entry in sorted(entries.items()):
        scenario, entry_problems = _scenario(entry, index, source, lines)
        problems += [(index, 1, 0, p) for p in entry_problems]
        if scenario is None or index in invalid:
            continue
        line = _line(lines, ("scenarios", index, "id" if entry.id is not None else "spec"))
        if scenario.id in seen_ids:
            problems.append(
                (
                    index,
                    2,
                    line,
                    f"{source}:{line}: id: {scenario.id!r} is already the id of the scenario at line "
                    f"{seen_ids[scenario.id]}; give one of them an id",
                )
            )
            continue
        seen_ids[scenario.id] = line
        scenarios.append(scenario)
    if problems:
        messages = [p if p.endswith(".") else p + "." for *_, p in sorted(problems, key=lambda p: p[:2])]
        more = f" (and {len(messages) - 1} more problems)" if len(messages) > 1 else ""
        raise InputError(messages[0][:-1] + more + ".", problems=messages)
    return scenarios


def _error_places(exc: ValidationError) -> Iterable[tuple[int, str | int]]:
    """(entry index, field) of each error inside a `[[scenarios]]` table; "" for the table itself."""
    for error in exc.errors():
        loc = error["loc"]
        if len(loc) >= 2 and loc[0] == "scenarios" and isinstance(loc[1], int):
            yield loc[1], loc[2] if len(loc) >= 3 else ""


def _validation_problems(
    exc: ValidationError, source: str, lines: dict[toml_lines.KeyPath, int]
) -> Iterable[tuple[int, int, int, str]]:
    """Each of pydantic's errors as (entry, 0, line, FILE:LINE: field: problem), one per field."""
    reported: set[tuple[str | int, ...]] = set()
    for error in exc.errors():
        loc = tuple(error["loc"])
        if loc and loc[0] == "scenarios" and len(loc) >= 3 and isinstance(loc[1], int):
            loc = loc[:3]  # a problem inside a list of globs is the field's problem
        if loc in reported:
            continue
        reported.add(loc)
        kind = error["type"]
        if len(loc) == 1:
            key = _key(loc[0])
            if kind == "extra_forbidden":
                message = f"{key}: unknown field (expected [[scenarios]] tables)"
            elif kind == "missing":
                message = f"{key}: no [[scenarios]] table in the file"
            else:
                message = f"{key}: must be [[scenarios]] tables"
            yield -1, 0, _line(lines, loc), f"{source}:{_line(lines, loc)}: {message}"
            continue
        index = loc[1] if isinstance(loc[1], int) else -1
        if len(loc) == 2:
            line = _line(lines, loc)
            yield index, 0, line, f"{source}:{line}: scenarios: each scenario must be a table with a spec"
            continue
        key = _key(loc[2])
        if kind == "extra_forbidden":
            message = f"{key}: unknown field (expected {', '.join(FIELDS)})"
        elif kind == "missing" and key == "spec":
            message = 'spec: missing; every scenario needs one, e.g. spec = "alpine"'
        else:
            message = f"{key}: {_FIELD_PROBLEMS.get(key, error['msg'])}"
        yield index, 0, _line(lines, loc), f"{source}:{_line(lines, loc)}: {message}"


def _scenario(
    entry: ScenarioEntry, index: int, source: str, lines: dict[toml_lines.KeyPath, int]
) -> tuple[Scenario | None, list[str]]:
    """The scenario of one valid table, or the problems its spec and fields have together."""
    spec_line = _line(lines, ("scenarios", index, "spec"))
    try:
        scenario = parse(entry.spec, f"{source}:{spec_line}: spec", entry.repositories or ())
    except SpecProblem as problem:
        return None, [f"{source}:{spec_line}: spec: {problem}"]
    problems = []
    if entry.repositories and isinstance(scenario.effect, Provider):
        problems.append(
            f"{source}:{_line(lines, ('scenarios', index, 'repositories'))}: repositories: a provider "
            "scenario prices the whole inventory on another book and cannot be scoped"
        )
    if entry.keep and not isinstance(scenario.effect, Retention):
        problems.append(
            f"{source}:{_line(lines, ('scenarios', index, 'keep'))}: keep: only a retention scenario keeps tags"
        )
    if problems:
        return None, problems
    update: dict[str, object] = {}
    if entry.keep and isinstance(scenario.effect, Retention):
        update["effect"] = scenario.effect.model_copy(update={"keep": entry.keep})
        update["assumptions"] = (*scenario.assumptions, f"Tags matching {', '.join(entry.keep)} are always kept.")
    if entry.description is not None:
        update["description"] = entry.description
    if entry.id is not None:
        update["id"] = entry.id
    elif entry.repositories:
        update["id"] = f"{scenario.id} ({', '.join(entry.repositories)})"
    return scenario.model_copy(update=update), []


def _key(key: str | int) -> str:
    """A key as a message names it: bare keys as written, any other quoted and escaped."""
    text = str(key)
    return text if toml_lines.BARE_KEY.fullmatch(text) else shown(repr(text), 60)


def _line(lines: dict[toml_lines.KeyPath, int], loc: tuple[str | int, ...]) -> int:
    """The line of LOC, else of the nearest table holding it, else 1."""
    for length in range(len(loc), 0, -1):
        line = lines.get(loc[:length])
        if line is not None:
            return line
    return 1
