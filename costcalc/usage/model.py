"""The usage model: rows of pulls per repository glob, and which row a repository gets (pure).

Reading and checking usage files is ``costcalc.usage.file``; the checks of one row are
``costcalc.usage.record``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from costcalc.errors import InputError

if TYPE_CHECKING:
    from costcalc.pricing.book import PriceBook

HOURS_PER_MONTH = Decimal(730)
HOURS_PER_DAY = Decimal(24)

_WILDCARDS = frozenset("*?[")
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
    measured_bytes_per_month: Decimal | None = None  # served, as the registry's logs measured them

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

        The `*` row gives defaults: what the winning row leaves blank comes from it,
        so a `usage init` template with every repository listed still uses the `*` row's team,
        source, tag, platform and pulls. Cold pulls (pulls_per_month or pulls_per_day) and warm
        pulls (deploys_per_month with nodes) are taken as a whole, never mixed.
        """
        index = self._index()
        best = index.best(repository)
        default = index.default
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

    def matches(self, repository: str) -> tuple[UsageRow, ...]:
        """The rows REPOSITORY's pulls come from: the most specific row (see `match`), then the
        rows of the same pattern for other source classes (a repository pulled both over the
        internet and in-region has one row per class), each completed from the `*` row alike."""
        best = self.match(repository)
        if best is None:
            return ()
        index = self._index()
        siblings = [row for row in index.by_pattern[best.pattern] if row.line != best.line]
        return (best, *(self._completed(row, index.default) for row in siblings))

    @staticmethod
    def _completed(row: UsageRow, default: UsageRow | None) -> UsageRow:
        if default is None or default is row:
            return row
        update: dict[str, Any] = {}
        if row.source is None and default.source is not None:
            update["source"] = default.source
        return row.model_copy(update=update) if update else row

    def unmatched(self, repositories: Iterable[str]) -> tuple[UsageRow, ...]:
        """Rows whose pattern matches none of REPOSITORIES (a `*` row never counts as unmatched)."""
        names = set(repositories)
        index = self._index()
        found = {pattern for pattern in index.exact if pattern in names}
        found |= {row.pattern for row in index.globs if any(fnmatchcase(name, row.pattern) for name in names)}
        return tuple(row for row in self.rows if row.pattern != "*" and row.pattern not in found)

    def sources(self) -> tuple[tuple[UsageRow, str], ...]:
        return tuple((row, row.source) for row in self.rows if row.source is not None)

    def _index(self) -> _RowIndex:
        """The rows arranged for matching, built on first use and kept with the model.

        A report matches every repository of an inventory (thousands, with a `usage init`
        file of as many rows): scanning every row per repository was quadratic."""
        index = self.__dict__.get("_row_index")
        if not isinstance(index, _RowIndex) or index.rows is not self.rows:
            index = _RowIndex.of(self.rows)
            # a cache beside the fields (as functools.cached_property keeps one): pydantic's
            # equality, hashing and dumps read only the fields
            self.__dict__["_row_index"] = index
        return index


@dataclass(frozen=True, slots=True)
class _RowIndex:
    rows: tuple[UsageRow, ...]
    exact: dict[str, UsageRow]  # the first row of each name without wildcards
    globs: tuple[UsageRow, ...]  # the rows with wildcards, most specific first, file order on ties
    by_pattern: dict[str, tuple[UsageRow, ...]]  # every row of each pattern, in file order
    default: UsageRow | None  # the first `*` row

    @classmethod
    def of(cls, rows: tuple[UsageRow, ...]) -> _RowIndex:
        exact: dict[str, UsageRow] = {}
        by_pattern: dict[str, list[UsageRow]] = {}
        globs: list[UsageRow] = []
        for row in rows:
            by_pattern.setdefault(row.pattern, []).append(row)
            if row.is_glob:
                globs.append(row)
            else:
                exact.setdefault(row.pattern, row)
        specificity = {id(row): row.specificity for row in globs}
        # sorted() is stable with reverse=True too: equally specific rows stay in file order
        globs.sort(key=lambda row: specificity[id(row)], reverse=True)
        default = by_pattern["*"][0] if "*" in by_pattern else None
        return cls(rows, exact, tuple(globs), {k: tuple(v) for k, v in by_pattern.items()}, default)

    def best(self, repository: str) -> UsageRow | None:
        """The most specific row matching REPOSITORY: an exact name beats every glob."""
        row = self.exact.get(repository)
        if row is not None:
            return row
        return next((row for row in self.globs if fnmatchcase(repository, row.pattern)), None)


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
