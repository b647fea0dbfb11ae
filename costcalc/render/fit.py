"""The group table fitted to a terminal's width: which columns stay, and names shortened in the middle."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.cells import cell_len
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from costcalc.render.display import count, money, monthly, safe, size
from costcalc.render.fleet import Section
from costcalc.report import ReportRow

ELLIPSIS = "…"
NAME_MIN = 16  # a name column narrower than this says too little, even shortened in the middle
TEAM_MAX = 16
# Left out in this order while the name column would be narrower than NAME_MIN: the money
# (storage, egress, monthly) always stays, it is what the table is for.
OPTIONAL = ("Pulls/mo", "Egress vol/mo", "Attributed", "Tags")
_GAP = 3  # between two columns of a SIMPLE_HEAD table without edges: padding, divider, padding


def shorten(name: str, width: int) -> str:
    """NAME in at most WIDTH characters, shortened in the middle: `acme/paym…/ledger`.

    The last path component (the most specific) and the first stay whole, and the beginning keeps
    what fits between them; a name where they do not fit loses characters in its middle.
    """
    if len(name) <= width:
        return name
    head, separator, last = name.rpartition("/")
    kept = width - len(ELLIPSIS) - len(separator) - len(last)
    if separator and kept > len(head.split("/", 1)[0]):  # the first component (`acme/`) stays whole
        return f"{head[:kept]}{ELLIPSIS}{separator}{last}"
    return _cut_middle(name, width)


def _cut_middle(name: str, width: int) -> str:
    if width <= len(ELLIPSIS):
        return ELLIPSIS[:width]
    tail = (width - len(ELLIPSIS)) // 2
    head = width - len(ELLIPSIS) - tail
    return name[:head] + ELLIPSIS + (name[-tail:] if tail else "")


def shortened(names: Sequence[str], width: int) -> list[str]:
    """NAMES shortened (see shorten) so that no two of them read alike; a name that would read
    like another's is cut in its middle instead, or, failing that, left whole for the table to fold."""
    short = [shorten(n, width) for n in names]
    for attempt in (lambda n: _cut_middle(n, width), lambda n: n):
        seen: dict[str, set[str]] = {}
        for name, text in zip(names, short, strict=True):
            seen.setdefault(text, set()).add(name)
        clashing = {text for text, originals in seen.items() if len(originals) > 1}
        if not clashing:
            break
        short = [attempt(n) if t in clashing and len(n) > width else t for n, t in zip(names, short, strict=True)]
    return short


def group_table(
    rows: Sequence[ReportRow], *, title: str, with_team: bool, unit: str, width: int
) -> tuple[Table, tuple[str, ...]]:
    """ROWS as a table of at most WIDTH columns; returns it and the headers of columns left out."""
    cells: dict[str, list[str]] = {
        "Tags": [count(r.tags) for r in rows],
        "Attributed": [size(r.attributed_bytes, unit) for r in rows],
        "Pulls/mo": [count(r.pulls_per_month) for r in rows],
        "Egress vol/mo": [size(r.egress_bytes, unit) for r in rows],
        "Storage": [money(r.storage_cost) for r in rows],
        "Egress": [money(r.egress_cost) + (" +" if r.egress_partial else "") for r in rows],
        "Monthly": [monthly(r.monthly_cost, r.egress_cost, r.egress_partial) for r in rows],
    }
    names = [safe(r.name) for r in rows]
    teams = [safe(r.team or "") for r in rows] if with_team else []

    def widest(header: str, values: Sequence[str], cap: int | None = None) -> int:
        found = max((cell_len(v) for v in (header, *values)), default=0)
        return found if cap is None else min(found, cap)

    widths = {header: widest(header, values) for header, values in cells.items()}
    if with_team:
        widths = {"Team": widest("Team", teams, TEAM_MAX), **widths}
    wanted = min(max((cell_len(n) for n in names), default=0), NAME_MIN)
    wanted = max(wanted, cell_len(title))

    def room(kept: Sequence[str]) -> int:
        return width - sum(widths[h] + _GAP for h in kept)

    kept = list(widths)
    left_out: list[str] = []
    for header in OPTIONAL:
        if room(kept) >= wanted:
            break
        kept.remove(header)
        left_out.append(header)
    name_width = max(room(kept), cell_len(title), 1)

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column(title, overflow="fold", max_width=name_width)
    for header in kept:
        if header == "Team":
            table.add_column(header, overflow="fold", max_width=TEAM_MAX)
        else:
            table.add_column(header, justify="right", no_wrap=True)
    for index, name in enumerate(shortened(names, name_width)):
        row = [Text(name)]
        row += [Text(teams[index] if header == "Team" else cells[header][index]) for header in kept]
        table.add_row(*row)
    return table, tuple(left_out)


def left_out_note(left_out: Sequence[str], width: int) -> RenderableType:
    """One line naming the columns a WIDTH-column table left out, and how to see them."""
    return Text(f"Not shown at {width} columns: {', '.join(left_out)} (a wider --width, or --format csv, shows them).")


def section_table(section: Section, width: int) -> tuple[Table, tuple[str, ...]]:
    """SECTION as a table of at most WIDTH columns, leaving out its optional columns (in their
    order) while it would not fit; returns it and the headers of the columns left out."""
    lines = [section.header, *section.rows, *([section.total] if section.total else [])]
    widths = [max(cell_len(line[col]) for line in lines) for col in range(len(section.header))]
    # a text column may fold down to NAME_MIN; numbers never fold
    needed = [min(w, NAME_MIN) if col < section.numeric_from else w for col, w in enumerate(widths)]
    kept = list(range(len(section.header)))
    left_out: list[str] = []
    for header in section.optional:
        if sum(needed[col] for col in kept) + _GAP * (len(kept) - 1) <= width:
            break
        col = section.header.index(header)
        kept.remove(col)
        left_out.append(header)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in kept:
        numeric = col >= section.numeric_from
        table.add_column(
            section.header[col],
            justify="right" if numeric else "left",
            no_wrap=numeric,
            overflow="fold",
            min_width=None if numeric else min(widths[col], NAME_MIN),
        )
    for row in section.rows:
        table.add_row(*(Text(row[col]) for col in kept))
    if section.total is not None:
        table.add_section()
        table.add_row(*(Text(section.total[col], style="bold") for col in kept))
    return table, tuple(left_out)
