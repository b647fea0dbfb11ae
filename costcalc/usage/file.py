"""Usage files: CSV or TOML read within limits into a Usage, every problem as FILE:LINE: field: problem (pure).

Each row is validated by ``costcalc.usage.record.UsageRecord`` (a TOML file as a whole by
``UsageFile``); this module reads the text, finds the lines, checks what spans rows
(duplicate patterns) and builds the ``Usage``. A file is read no further than 16 MiB.
CSV quoting is strict: a quoted cell that is never closed, or text after a closing quote,
is refused at the row where it starts instead of swallowing the rows after it.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Mapping, Sequence
from decimal import localcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, ValidationError

from costcalc import toml_lines
from costcalc.errors import InputError
from costcalc.pricing.validation import MAX_USAGE_BYTES, FileModel, KeyPath, located, problem, read_limited
from costcalc.usage.model import HOURS_PER_DAY, HOURS_PER_MONTH, Usage, UsageRow, check_sources
from costcalc.usage.record import COLUMNS, MEASURED_COLUMNS, READ_COLUMNS, UsageRecord, show

if TYPE_CHECKING:
    from costcalc.inventory.model import Inventory

__all__ = [
    "COLUMNS",
    "HOURS_PER_DAY",
    "HOURS_PER_MONTH",
    "MEASURED_COLUMNS",
    "Usage",
    "UsageRow",
    "check_sources",
    "load_usage",
    "loads_csv",
    "loads_toml",
    "template",
]


def _array_of_tables(value: Any) -> Any:
    if not isinstance(value, list):
        raise problem("must be an array of tables ([[usage]])")
    return value


class UsageFile(FileModel):
    """A TOML usage file: an array of ``[[usage]]`` tables, one per row."""

    usage: Annotated[tuple[UsageRecord, ...], BeforeValidator(_array_of_tables)] = ()


def load_usage(path: Path) -> Usage:
    """Read a usage file: TOML if PATH ends in .toml, CSV otherwise."""
    try:
        data = read_limited(path, MAX_USAGE_BYTES, "a usage file")
    except FileNotFoundError:
        raise InputError(f"{path}: no such usage file.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the usage file ({exc.__class__.__name__}).") from None
    try:
        text = data.decode("utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError:
        raise InputError(f"{path}:1: file: not UTF-8 text.") from None
    if path.suffix.lower() == ".toml":
        return loads_toml(text, str(path))
    return loads_csv(text, str(path))


def loads_csv(text: str, source: str = "<usage>") -> Usage:
    """Parse usage CSV TEXT, comma- or semicolon-separated; every problem is reported at once."""
    if not text.strip():
        raise InputError(f"{source}:1: file: empty usage file (expected a header row: {','.join(COLUMNS)}).")
    first_line = text.split("\n", 1)[0]
    semicolons = ";" in first_line and "," not in first_line  # what Excel writes under a decimal comma
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if semicolons else ",", strict=True)
    problems: list[tuple[int, str]] = []
    try:
        header = [cell.strip() for cell in next(reader)]
    except csv.Error as exc:
        raise InputError(f"{source}:1: file: not valid CSV ({exc}).") from None
    for name in header:
        if name not in READ_COLUMNS:
            problems.append(
                (1, f"{source}:1: {show(name) or '(blank)'}: unknown column (known: {', '.join(READ_COLUMNS)})")
            )
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    problems += [(1, f"{source}:1: {name}: column given twice") for name in duplicated]
    if "repository" not in header:  # every row would repeat it: the header problems are the news
        problems.append((1, f"{source}:1: repository: missing column"))
        _raise(problems)
    records: list[tuple[int, dict[str, Any]]] = []
    line = reader.line_num
    start = line + 1
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                problems.append((start, f"{source}:{start}: row: {len(cells)} cells but the header has {len(header)}"))
                continue
            record = {
                name: cell for name, cell in zip(header, cells, strict=False) if cell.strip() and name in READ_COLUMNS
            }
            records.append((start, record))
    except csv.Error as exc:
        start = line + 1  # the record that failed starts after the last one read
        reason = "a quoted cell is never closed" if "end of data" in str(exc) else f"not valid CSV ({exc})"
        problems.append((start, f"{source}:{start}: row: {reason}"))
    if not records and not problems:
        problems.append((1, f"{source}:1: file: no rows after the header (add one row per repository glob, or `*`)"))
    context = {"csv": True, "decimal_comma": semicolons}
    checked: list[tuple[int, UsageRecord]] = []
    for start, record in records:
        try:
            checked.append((start, UsageRecord.model_validate(record, context=context)))
        except ValidationError as exc:
            problems += [(start, f"{source}:{start}: {_field(path)}: {message}") for path, message in located(exc)]
    return _build(source, checked, problems, {})


def loads_toml(text: str, source: str = "<usage>") -> Usage:
    """Parse usage TOML TEXT: one `[[usage]]` table per row, with the CSV's columns as keys."""
    try:
        data = toml_lines.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = toml_lines.syntax_problem(exc, text)
        raise InputError(f"{source}:{problem.line}: file: not valid TOML ({problem.reason.strip()})") from None
    if not data or data.get("usage") == []:
        raise InputError(f"{source}:1: file: no [[usage]] tables (add one per repository glob, or `*`)")
    lines = toml_lines.key_lines(text)
    try:
        parsed = UsageFile.model_validate(data)
    except ValidationError as exc:
        problems = [(_line(lines, path), f"{_field(path)}: {message}") for path, message in located(exc)]
        _raise([(line, f"{source}:{line}: {message}") for line, message in problems])
    # (line of the row's table, key) -> line of the key, for problems found across rows
    key_lines = {
        (lines.get(key[:2], 1), str(key[2])): line for key, line in lines.items() if len(key) == 3 and key[0] == "usage"
    }
    records = [(lines.get(("usage", index), 1), record) for index, record in enumerate(parsed.usage)]
    return _build(source, records, [], key_lines)


def _line(lines: Mapping[KeyPath, int], path: KeyPath) -> int:
    """The line of PATH, or of the nearest table above it that has one."""
    for length in range(len(path), 0, -1):
        if path[:length] in lines:
            return lines[path[:length]]
    return 1


def _field(path: KeyPath) -> str:
    """The field a problem is about: the column, or `usage` for a problem with a whole entry."""
    names = [part for part in path if isinstance(part, str)]
    return names[-1] if names else "row"


def _raise(problems: Sequence[tuple[int, str]]) -> None:
    ordered = [message for _, message in sorted(problems, key=lambda item: item[0])]
    raise InputError(ordered[0], ordered)


def _build(
    source: str,
    records: Sequence[tuple[int, UsageRecord]],
    problems: list[tuple[int, str]],
    key_lines: Mapping[tuple[int, str], int],
) -> Usage:
    rows: list[UsageRow] = []
    # A pattern may have one row per source class (a repository pulled from several places);
    # its team, tag and platform are the pattern's, so its rows must not disagree on them.
    first: dict[str, tuple[int, UsageRecord]] = {}
    classes: dict[tuple[str, str | None], int] = {}
    for start, record in records:
        pattern = record.repository
        line = key_lines.get((start, "repository"), start)
        if (pattern, record.source) in classes:
            earlier = classes[(pattern, record.source)]
            what = f"pattern {pattern!r}" + (f" with source {record.source!r}" if record.source else "")
            problems.append((line, f"{source}:{line}: repository: duplicate {what} (first on line {earlier})"))
            continue
        if pattern in first:
            first_start, first_record = first[pattern]
            for field in ("team", "tag", "platform"):
                if getattr(record, field) != getattr(first_record, field):
                    problems.append(
                        (
                            line,
                            f"{source}:{line}: {field}: rows of pattern {pattern!r} differ only by source; "
                            f"{field} must be as on line {first_start}",
                        )
                    )
            if record.source is None or first_record.source is None:
                problems.append((line, f"{source}:{line}: source: a repeated pattern needs a source on every row"))
        else:
            first[pattern] = (start, record)
        classes[(pattern, record.source)] = start
        values = record.model_dump(exclude={"repository"}, exclude_none=True)
        per_day = record.pulls_per_day
        if per_day is not None:
            with localcontext() as ctx:
                ctx.prec = 50  # as the price books compute: no rounding a bill could see
                values["pulls_per_month"] = per_day * HOURS_PER_MONTH / HOURS_PER_DAY
        rows.append(UsageRow(pattern=pattern, line=start, **values))
    if problems:
        _raise(problems)
    return Usage(source=source, rows=tuple(rows))


def template(inventory: Inventory) -> str:
    """A usage CSV listing every repository of INVENTORY with blank numbers, plus a `*` default row.

    What the `*` row gives applies to every repository whose own row leaves that field blank
    (Usage.match), so finance can fill in the defaults once and only the exceptions per row.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    blank = [""] * (len(COLUMNS) - 1)
    for repository in inventory.repositories:
        writer.writerow([repository.name, *blank])
    writer.writerow(["*", *blank])
    return out.getvalue()
