"""The usage file (SPEC §4): pull-frequency rows per repository glob, loaded from CSV or TOML (pure)."""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation, localcontext
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from costcalc import toml_lines
from costcalc.errors import InputError
from costcalc.reference import TAG_RE

if TYPE_CHECKING:
    from costcalc.inventory.model import Inventory
    from costcalc.pricing.book import PriceBook

HOURS_PER_MONTH = Decimal(730)
HOURS_PER_DAY = Decimal(24)

COLUMNS = (
    "repository",
    "team",
    "source",
    "pulls_per_month",
    "pulls_per_day",
    "deploys_per_month",
    "nodes",
    "tag",
    "platform",
)
_NUMBERS = ("pulls_per_month", "pulls_per_day", "deploys_per_month", "nodes")
_WILDCARDS = frozenset("*?[")
_PLATFORM_RE = re.compile(r"[a-z0-9_.-]+/[a-z0-9_.-]+(?:/[a-z0-9_.-]+)?")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# fnmatch's tokens: a character class (`[!...]`, a `]` first is literal), `*`, `?`, one character
_GLOB_TOKEN_RE = re.compile(r"\[!?\]?[^\]]*\]|[*?]|.", re.DOTALL)


class UsageRow(BaseModel):
    """One row of a usage file: a repository glob and the pulls of the repositories it matches."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pattern: str
    line: int
    team: str | None = None
    source: str | None = None
    pulls_per_month: Decimal | None = None  # cold pulls, converted from pulls_per_day if given so
    pulls_per_day: Decimal | None = None  # as written, for the record
    deploys_per_month: Decimal | None = None
    nodes: Decimal | None = None
    tag: str | None = None
    platform: str | None = None

    @property
    def has_pull_data(self) -> bool:
        """True if the row says how often its repositories are pulled (cold or warm)."""
        return self.pulls_per_month is not None or self.deploys_per_month is not None

    @property
    def is_glob(self) -> bool:
        return any(char in _WILDCARDS for char in self.pattern)

    @property
    def specificity(self) -> tuple[int, int, int, int, int]:
        """Sort key, larger = more specific: exact name, literal characters, character classes,
        fewer `*`/`?`, literal prefix. A `[...]` class stands for one character: its contents
        are not literal characters (`acme/[a-z]*` is less specific than `acme/a*`)."""
        literal = classes = wildcards = 0
        for token in _GLOB_TOKEN_RE.findall(self.pattern):
            if token.startswith("["):
                classes += 1
            elif token in ("*", "?"):
                wildcards += 1
            else:
                literal += 1
        prefix = len(re.split(r"[*?\[]", self.pattern, maxsplit=1)[0])
        return (0 if self.is_glob else 1, literal, classes, -wildcards, prefix)

    def matches(self, repository: str) -> bool:
        return fnmatchcase(repository, self.pattern) if self.is_glob else repository == self.pattern


class Usage(BaseModel):
    """The rows of one usage file, in file order; `match` picks the most specific row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    rows: tuple[UsageRow, ...]

    def match(self, repository: str) -> UsageRow | None:
        """The most specific row whose pattern matches REPOSITORY (file order breaks ties).

        The `*` row gives defaults (SPEC §4): what the winning row leaves blank comes from it,
        so a `usage init` template with every repository listed still uses the `*` row's team,
        source, tag, platform and pulls. Cold pulls (pulls_per_month or pulls_per_day) and warm
        pulls (deploys_per_month with nodes) are taken as a whole, never mixed.
        """
        best: UsageRow | None = None
        for row in self.rows:
            if row.matches(repository) and (best is None or row.specificity > best.specificity):
                best = row
        default = next((row for row in self.rows if row.pattern == "*"), None)
        if best is None or default is None or best is default:
            return best
        update: dict[str, Any] = {
            field: getattr(default, field)
            for field in ("team", "source", "tag", "platform")
            if getattr(best, field) is None and getattr(default, field) is not None
        }
        if best.pulls_per_month is None and default.pulls_per_month is not None:
            update |= {"pulls_per_month": default.pulls_per_month, "pulls_per_day": default.pulls_per_day}
        if best.deploys_per_month is None and default.deploys_per_month is not None:
            update |= {"deploys_per_month": default.deploys_per_month, "nodes": default.nodes}
        return best.model_copy(update=update) if update else best

    def unmatched(self, repositories: Iterable[str]) -> tuple[UsageRow, ...]:
        """Rows whose pattern matches none of REPOSITORIES (a `*` row never counts as unmatched)."""
        names = list(repositories)
        return tuple(row for row in self.rows if row.pattern != "*" and not any(row.matches(name) for name in names))

    def sources(self) -> tuple[tuple[UsageRow, str], ...]:
        return tuple((row, row.source) for row in self.rows if row.source is not None)


def check_sources(usage: Usage, book: PriceBook) -> None:
    """Raise InputError naming every row whose `source` is not an egress class of BOOK."""
    known = tuple(book.egress_classes)
    problems = [
        f"{usage.source}:{row.line}: source: unknown egress class {source!r} for price book "
        f"{book.id} (known: {', '.join(known) or 'none'})"
        for row, source in usage.sources()
        if source not in known
    ]
    if problems:
        raise InputError(problems[0], problems)


def load_usage(path: Path) -> Usage:
    """Read a usage file: TOML if PATH ends in .toml, CSV otherwise."""
    try:
        data = path.read_bytes()
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
    """Parse usage CSV TEXT; every problem is reported at once as `SOURCE:LINE: field: problem`."""
    if not text.strip():
        raise InputError(f"{source}:1: file: empty usage file (expected a header row: {','.join(COLUMNS)}).")
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[str] = []
    try:
        header = [cell.strip() for cell in next(reader)]
    except csv.Error as exc:
        raise InputError(f"{source}:1: file: not valid CSV ({exc}).") from None
    for name in header:
        if name not in COLUMNS:
            problems.append(f"{source}:1: {_show(name) or '(blank)'}: unknown column (known: {', '.join(COLUMNS)})")
    seen = {name for name in header if name}
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    problems += [f"{source}:1: {name}: column given twice" for name in duplicated]
    if "repository" not in seen:  # every row would repeat it: the header problems are the news
        problems.append(f"{source}:1: repository: missing column")
        raise InputError(problems[0], problems)
    records: list[tuple[int, dict[str, Any]]] = []
    line = reader.line_num
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                problems.append(f"{source}:{start}: row: {len(cells)} cells but the header has {len(header)}")
                continue
            records.append(
                (
                    start,
                    {
                        name: cell.strip()
                        for name, cell in zip(header, cells, strict=False)
                        if name in COLUMNS and cell.strip() != ""
                    },
                )
            )
    except csv.Error as exc:
        problems.append(f"{source}:{reader.line_num}: row: not valid CSV ({exc})")
    if not records and not problems:
        problems.append(f"{source}:1: file: no rows after the header (add one row per repository glob, or `*`)")
    return _build(source, records, problems, {})


def loads_toml(text: str, source: str = "<usage>") -> Usage:
    """Parse usage TOML TEXT: one `[[usage]]` table per row, with the CSV's columns as keys."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        problem = toml_lines.syntax_problem(exc, text)
        raise InputError(f"{source}:{problem.line}: file: not valid TOML ({problem.reason.strip()})") from None
    lines = toml_lines.key_lines(text)
    problems = [
        f"{source}:{lines.get((key,), 1)}: {_show(key)}: unknown top-level key (expected [[usage]] tables)"
        for key in data
        if key != "usage"
    ]
    tables = data.get("usage", [])
    if not isinstance(tables, list):
        problems.append(f"{source}:{lines.get(('usage',), 1)}: usage: must be an array of tables ([[usage]])")
        tables = []
    if not tables and not problems:
        problems.append(f"{source}:1: file: no [[usage]] tables (add one per repository glob, or `*`)")
    records: list[tuple[int, dict[str, Any]]] = []
    key_lines: dict[tuple[int, str], int] = {}
    for index, table in enumerate(tables):
        start = lines.get(("usage", index), 1)
        if not isinstance(table, dict):
            problems.append(f"{source}:{start}: usage: each entry must be a table")
            continue
        record: dict[str, Any] = {}
        for key, value in table.items():
            key_line = lines.get(("usage", index, key), start)
            key_lines[(start, key)] = key_line
            if key not in COLUMNS:
                problems.append(f"{source}:{key_line}: {_show(key)}: unknown field (known: {', '.join(COLUMNS)})")
                continue
            if isinstance(value, str) and key in _NUMBERS:
                problems.append(f"{source}:{key_line}: {key}: must be a number >= 0, not a string")
                continue
            if isinstance(value, bool | dict | list):
                problems.append(f"{source}:{key_line}: {key}: must be a {'number' if key in _NUMBERS else 'string'}")
                continue
            if key not in _NUMBERS and not isinstance(value, str):
                problems.append(f"{source}:{key_line}: {key}: must be a string")
                continue
            record[key] = str(value).strip() if isinstance(value, str) else value
        records.append((start, record))
    return _build(source, records, problems, key_lines)


def _build(
    source: str,
    records: Sequence[tuple[int, Mapping[str, Any]]],
    problems: list[str],
    key_lines: Mapping[tuple[int, str], int],
) -> Usage:
    rows: list[UsageRow] = []
    first_line: dict[str, int] = {}
    for start, record in records:

        def at(field: str, start: int = start) -> str:
            return f"{source}:{key_lines.get((start, field), start)}: {field}"

        values: dict[str, Any] = {}
        row_problems: list[str] = []
        for field in _NUMBERS:
            if field in record:
                number = _number(record[field])
                if number is None:
                    row_problems.append(f"{at(field)}: must be a number >= 0, got {_show(str(record[field]))!r}")
                else:
                    values[field] = number
        pattern = str(record.get("repository", ""))
        glob_problem = _glob_problem(pattern)
        if glob_problem:
            row_problems.append(f"{at('repository')}: {glob_problem}")
        elif pattern in first_line:
            row_problems.append(
                f"{at('repository')}: duplicate pattern {pattern!r} (first on line {first_line[pattern]})"
            )
        else:
            first_line[pattern] = start
        if "pulls_per_month" in record and "pulls_per_day" in record:
            row_problems.append(f"{at('pulls_per_day')}: give pulls_per_month or pulls_per_day, not both")
        if "nodes" in record and "deploys_per_month" not in record:
            row_problems.append(f"{at('nodes')}: nodes without deploys_per_month (each deploy is pulled by each node)")
        if "deploys_per_month" in record and "nodes" not in record:
            row_problems.append(
                f"{at('deploys_per_month')}: deploys_per_month without nodes (how many nodes pull each deploy)"
            )
        for field in ("team", "source", "tag", "platform"):
            if field in record:
                text = str(record[field])
                if _CONTROL_RE.search(text):
                    row_problems.append(f"{at(field)}: contains a control character")
                values[field] = text
        if "tag" in values and not TAG_RE.fullmatch(values["tag"]):
            row_problems.append(f"{at('tag')}: {_show(values['tag'])!r} is not a valid tag")
        if "platform" in values and not _PLATFORM_RE.fullmatch(values["platform"]):
            row_problems.append(f"{at('platform')}: {_show(values['platform'])!r} is not os/architecture[/variant]")
        if row_problems:
            problems += row_problems
            continue
        per_day = values.get("pulls_per_day")
        if per_day is not None:
            with localcontext() as ctx:
                ctx.prec = 50  # as the price books compute: no rounding a bill could see
                values["pulls_per_month"] = per_day * HOURS_PER_MONTH / HOURS_PER_DAY
        rows.append(UsageRow(pattern=pattern, line=start, **values))
    if problems:
        raise InputError(problems[0], problems)
    return Usage(source=source, rows=tuple(rows))


def _number(value: object) -> Decimal | None:
    """A finite number >= 0 from a CSV cell or TOML value, else None."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0:
        return None
    return number + 0  # drops a negative zero's sign


def _glob_problem(pattern: str) -> str | None:
    if not pattern:
        return "required (a repository name or glob, `*` for the default row)"
    if _CONTROL_RE.search(pattern) or any(char.isspace() for char in pattern):
        return f"{_show(pattern)!r} is not a valid glob (whitespace or control character)"
    if pattern.startswith("/") or pattern.endswith("/") or "//" in pattern:
        return f"{pattern!r} is not a valid glob (empty path component)"
    depth = 0
    for char in pattern:
        if char == "[":
            if depth:
                return f"{pattern!r} is not a valid glob (nested '[')"
            depth = 1
        elif char == "]" and depth:
            depth = 0
    if depth:
        return f"{pattern!r} is not a valid glob (unclosed '[')"
    return None


def _show(text: str) -> str:
    """TEXT with control characters escaped, safe to print in a one-line message."""
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


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
