"""Scenario files: TOML `[[scenarios]]` tables validated through pydantic, every problem with its line."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, ValidationError

from costcalc import toml_lines
from costcalc.errors import InputError
from costcalc.pricing.validation import FileModel, KeyPath, Problem, describe, located, problem, read_limited
from costcalc.scenarios.retention import Retention
from costcalc.scenarios.spec import KINDS, PRESETS, Provider, Scenario, SpecProblem, parse, parse_spec, shown

# A scenario file is a handful of short tables: anything larger is not one.
MAX_FILE_BYTES = 1 << 20
FIELDS = ("spec", "id", "description", "repositories", "keep")
COMBINED = "combined"  # the report's projection of all scenarios together; a scenario of that id would be lost


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem(f"must be a non-empty string, not {describe(value)}")
    return value.strip()


def _globs(example: str) -> BeforeValidator:
    """A validator of a non-empty list of globs; its message shows EXAMPLE."""

    def check(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise problem(f"must be a list of globs, e.g. {example}, not {describe(value)}")
        if not value or not all(isinstance(g, str) and g.strip() for g in value):
            raise problem(f"must be a list of one or more non-empty globs, e.g. {example}")
        return tuple(g.strip() for g in value)

    return BeforeValidator(check)


def _spec(value: Any) -> str:
    if not isinstance(value, str):
        raise problem(f'must be a string, e.g. spec = "alpine", not {describe(value)}')
    return value


def _tables(value: Any) -> Any:
    if not isinstance(value, list):
        raise problem(f"must be [[scenarios]] tables, not {describe(value)}")
    return value


class ScenarioEntry(FileModel):
    """One `[[scenarios]]` table as written; its spec is checked with the fields it constrains."""

    WHAT: ClassVar[str] = "a table with a spec"

    spec: Annotated[str, BeforeValidator(_spec)]
    id: Annotated[str | None, BeforeValidator(_text)] = None
    description: Annotated[str | None, BeforeValidator(_text)] = None
    repositories: Annotated[tuple[str, ...] | None, _globs('["acme/api*"]')] = None
    keep: Annotated[tuple[str, ...] | None, _globs('["v*"]')] = None

    @classmethod
    def rules(cls, data: dict[str, Any], context: Mapping[str, Any]) -> list[Problem]:
        spec = data.get("spec")
        if not isinstance(spec, str):
            return []  # missing or not a string: the field says so
        try:
            scenario = parse(spec, "")
        except SpecProblem as exc:
            return [(("spec",), str(exc))]
        found: list[Problem] = []
        if data.get("repositories") and isinstance(scenario.effect, Provider):
            found.append(
                (
                    ("repositories",),
                    "a provider scenario prices the whole inventory on another book and cannot be scoped",
                )
            )
        if data.get("keep") and not isinstance(scenario.effect, Retention):
            found.append((("keep",), "only a retention scenario keeps tags"))
        return found


class ScenarioFile(FileModel):
    """A scenario file: its `[[scenarios]]` tables and nothing else; scenario ids are unique."""

    WHAT: ClassVar[str] = "a scenario file"

    scenarios: Annotated[tuple[ScenarioEntry, ...], BeforeValidator(_tables)]

    @classmethod
    def rules(cls, data: dict[str, Any], context: Mapping[str, Any]) -> list[Problem]:
        lines: Mapping[KeyPath, int] = context.get("lines", {})
        seen: dict[str, int] = {}
        found: list[Problem] = []
        entries = data.get("scenarios")
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict) or not isinstance(entry.get("spec"), str):
                continue
            scenario_id, key = _id_of(entry)
            line = _line(lines, ("scenarios", index, key))
            if key == "id" and scenario_id == COMBINED:
                found.append(
                    (
                        ("scenarios", index, key),
                        f"{COMBINED!r} is the id the report gives all its scenarios applied together; "
                        "give this scenario another id",
                    )
                )
            elif scenario_id in seen:
                found.append(
                    (
                        ("scenarios", index, key),
                        f"{scenario_id!r} is already the id of the scenario at line {seen[scenario_id]}; "
                        "give one of them an id",
                    )
                )
            else:
                seen[scenario_id] = line
        return found


def _id_of(entry: Mapping[str, Any]) -> tuple[str, str]:
    """The id a table's scenario gets, and the key that names it (`id`, else `spec`).

    ENTRY is the table as written (for the rules, before its fields are checked) or a
    checked ScenarioEntry's fields: its `repositories` a list or a tuple of globs.
    """
    given = entry.get("id")
    if isinstance(given, str) and given.strip():
        return given.strip(), "id"
    spec = str(entry.get("spec", "")).strip()
    globs = entry.get("repositories")
    if isinstance(globs, list | tuple) and globs and all(isinstance(g, str) for g in globs):
        return f"{spec} ({', '.join(g.strip() for g in globs)})", "spec"
    return spec, "spec"


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
    too_large = f"a scenario file is at most {MAX_FILE_BYTES // 1024} KiB; this one is larger."
    try:
        data = read_limited(path, MAX_FILE_BYTES, "a scenario file", too_large)
    except FileNotFoundError:
        raise InputError(f"{path}: no such scenario file.") from None
    except IsADirectoryError:
        raise InputError(f"{path}: a scenario file must be a regular file.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the scenario file ({exc.strerror or exc.__class__.__name__}).") from None
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
        syntax = toml_lines.syntax_problem(exc, text)
        raise InputError(f"{source}:{syntax.line}: not valid TOML: {syntax.reason.strip()}.") from None
    lines = toml_lines.key_lines(text)
    if "scenarios" not in data:
        data = {**data, "scenarios": []}
        missing: list[tuple[int, str]] = [(1, f"{source}:1: scenarios: no [[scenarios]] table in the file.")]
    else:
        missing = []
    try:
        parsed = ScenarioFile.model_validate(data, context={"lines": lines})
    except ValidationError as exc:
        known: dict[KeyPath, tuple[str, ...]] = {(): ("scenarios",)}
        tables = data["scenarios"]
        known.update({("scenarios", i): FIELDS for i in range(len(tables) if isinstance(tables, list) else 0)})
        found = [
            (_line(lines, path), f"{source}:{_line(lines, path)}: {_field(path)}: {message}.")
            for path, message in located(exc, known)
        ]
        _raise(missing + sorted(found, key=lambda item: item[0]))
    if missing:
        _raise(missing)
    return [_scenario(entry, index, source, lines) for index, entry in enumerate(parsed.scenarios)]


def _raise(problems: list[tuple[int, str]]) -> None:
    messages = [message for _, message in problems]
    more = {1: "", 2: " (and 1 more problem)"}.get(len(messages), f" (and {len(messages) - 1} more problems)")
    raise InputError(messages[0][:-1] + more + ".", problems=messages)


def _field(path: KeyPath) -> str:
    """The key a problem at PATH names: its last key, or `scenarios` for a table itself."""
    keys = [part for part in path if isinstance(part, str)]
    return _key(keys[-1]) if keys else "scenarios"


def _scenario(entry: ScenarioEntry, index: int, source: str, lines: Mapping[KeyPath, int]) -> Scenario:
    """The scenario of one validated table (its spec parsed again, now with its origin)."""
    spec_line = _line(lines, ("scenarios", index, "spec"))
    scenario = parse(entry.spec, f"{source}:{spec_line}: spec", entry.repositories or ())
    update: dict[str, object] = {}
    if entry.keep and isinstance(scenario.effect, Retention):
        update["effect"] = scenario.effect.model_copy(update={"keep": entry.keep})
    if entry.description is not None:
        update["description"] = entry.description
    update["id"] = _id_of(entry.model_dump())[0]
    return scenario.model_copy(update=update)


def _key(key: str | int) -> str:
    """A key as a message names it: bare keys as written, any other quoted and escaped."""
    text = str(key)
    return text if toml_lines.BARE_KEY.fullmatch(text) else shown(repr(text), 60)


def _line(lines: Mapping[KeyPath, int], loc: KeyPath) -> int:
    """The line of LOC, else of the nearest table holding it, else 1."""
    for length in range(len(loc), 0, -1):
        line = lines.get(loc[:length])
        if line is not None:
            return line
    return 1
