"""Rich tables for price books and quotes, rendered to plain text without colour."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

from rich import box
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from costcalc.pricing.book import PriceBook, TieredRate
from costcalc.pricing.quote import Quote
from costcalc.render.display import safe
from costcalc.units import ARITHMETIC, money, round_half_up

# The list's columns, and the narrower sets tried in turn until the table fits its width: ids
# are typed back into --pricing, so they are never cut; other columns go before they would be.
_LIST_COLUMNS = (
    ("id", "provider", "region", "currency", "unit", "effective", "name"),
    ("id", "provider", "region", "currency", "unit", "effective"),
    ("id", "region", "currency", "unit", "effective"),
    ("id", "currency", "unit", "effective"),
    ("id",),
)
_UNBOUNDED = 1_000_000


def book_list_text(books: Sequence[PriceBook], width: int = 120) -> str:
    """One row per book: id, provider, region, currency, unit, effective date, name (as many as fit)."""
    console = _console(io.StringIO(), width)
    unbounded = console.options.update_width(_UNBOUNDED)  # measured at the width's limit, it reads as fitting
    for columns in _LIST_COLUMNS:
        table = _book_list(books, columns)
        # the narrowest the table can be without cutting a cell: each column's longest unbreakable text
        if Measurement.get(console, unbounded, table).minimum <= width:
            break
    return _render([table], width)


def _book_list(books: Sequence[PriceBook], columns: Sequence[str]) -> Table:
    table = Table(title="Bundled price books", title_justify="left", box=box.SIMPLE_HEAD)
    for column in columns:
        table.add_column(column, no_wrap=column != "name")
    for book in books:
        cells = {
            "id": book.id,
            "provider": book.provider,
            "region": book.region,
            "currency": book.currency,
            "unit": book.unit,
            "effective": str(book.effective_date),
            "name": book.name,
        }
        table.add_row(*(_text(cells[column]) for column in columns))
    return table


def book_text(book: PriceBook, width: int = 120) -> str:
    """Everything in BOOK: facts, storage and egress tiers, plan, sources and notes."""
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    rows = [
        ("id", book.id),
        ("name", book.name),
        ("provider", book.provider),
        ("region", book.region),
        ("currency", book.currency),
        ("unit", f"{book.unit} ({'2^30' if book.unit == 'GiB' else '10^9'} bytes)"),
        ("dedup scope", book.dedup_scope),
        ("effective", str(book.effective_date)),
        ("loaded from", book.path or ""),
    ]
    if book.extends:
        rows.append(("extends", book.extends))
    if book.discount_pct:
        rows.append(("discount", f"{_number(book.discount_pct)}% on every charge"))
    if book.plan is not None:
        fee = f"{_money(book.plan.monthly_fee)} {book.currency} per 730-hour month"
        if book.plan.daily_fee is not None:
            fee += f" ({_number(book.plan.daily_fee)} per day x 730/24)"
        rows.append(("plan fee", fee))
        rows.append(("included storage", f"{_number(book.plan.included_storage)} {book.unit}"))
    for label, value in rows:
        facts.add_row(_text(label), _text(value))
    parts: list[RenderableType] = [
        facts,
        _rate_table(f"storage, {book.currency} per {book.unit}-month", book.storage),
    ]
    for name, rate in book.egress.items():
        parts.append(_rate_table(f"egress {name}, {book.currency} per {book.unit}", rate))
    parts.append(_bullets("Sources", book.sources, wrap=False))
    if book.notes:
        parts.append(_bullets("Notes", book.notes))
    return _render(parts, width)


def quote_text(quote: Quote, width: int = 120) -> str:
    """The quote: one block of tier lines per component, the total, assumptions and sources."""
    book = quote.book
    header = Text(
        f"Quote on {safe(book.name)} ({safe(book.id)}, prices as of {book.effective_date}, {book.currency})\n"
        f"Period: {_number(quote.period_hours)} hours "
        f"({_number(money(quote.period_days))} days)"
    )
    table = Table()
    table.add_column("component")
    table.add_column("tier")
    table.add_column("quantity", justify="right")
    table.add_column("price", justify="right")
    table.add_column(f"cost ({book.currency})", justify="right")
    for component in quote.components:
        quantity = f"{_quantity(component.quantity)} {component.unit}"
        table.add_row(_text(component.name), _text(""), _text(quantity), _text(""), _text(""))
        for line in component.tiers:
            table.add_row(
                _text(""),
                _text(line.label),
                _text(_quantity(line.quantity)),
                _text(_price(line.price)),
                _text(_money(line.cost)),
            )
        table.add_row(
            _text(""),
            _text("subtotal"),
            _text(""),
            _text(""),
            _text(_money(component.cost)),
            end_section=True,
        )
    table.add_row(
        _text("total", style="bold"),
        _text(""),
        _text(""),
        _text(""),
        _text(_money(quote.total), style="bold"),
    )
    return _render(
        [
            header,
            table,
            _bullets("Assumptions", quote.assumptions),
            _bullets("Sources", book.sources, wrap=False),
        ],
        width,
    )


def _rate_table(title: str, rate: TieredRate) -> RenderableType:
    # The title and caption are lines of their own: as a table's title or caption they would
    # wrap at the narrow table's width ("egress same-region, USD per" / "GiB").
    table = Table()
    table.add_column("tier")
    table.add_column("up to", justify="right")
    table.add_column("price", justify="right")
    if rate.free:
        table.add_row(_text("free allowance"), _text(_number(rate.free)), _text(_price(Decimal(0))))
    for index, tier in enumerate(rate.tiers):
        price = _price(tier.price)
        if tier.daily_price is not None:
            price += f" ({_number(tier.daily_price)}/day)"
        bound = "and above" if tier.up_to is None else _number(tier.up_to)
        table.add_row(_text(str(index + 1)), _text(bound), _text(price))
    parts: list[RenderableType] = [_text(title), table]
    if rate.free:
        parts.append(_text("up to counts the volume after the free allowance"))
    return Group(*parts)


def _bullets(title: str, items: Sequence[str], *, wrap: bool = True) -> RenderableType:
    lines = "\n".join([f"{title}:", *(f"- {safe(item)}" for item in items)])
    # Unwrapped lines are written as they are, so that a URL copies from a terminal in one piece.
    return Text(lines) if wrap else lines


def _text(value: str, style: str = "") -> Text:
    # A custom book's names, notes and labels are whatever its file says: shown, never obeyed.
    return Text(safe(value), style=style)


def _console(buffer: io.StringIO, width: int) -> Console:
    return Console(file=buffer, width=width, color_system=None, highlight=False, emoji=False, force_terminal=False)


def _render(parts: Sequence[RenderableType], width: int) -> str:
    buffer = io.StringIO()
    console = _console(buffer, width)
    for index, part in enumerate(parts):
        if index:
            console.print()
        if isinstance(part, str):
            buffer.write(part + "\n")
        else:
            console.print(part)
    return buffer.getvalue()


def _money(amount: Decimal) -> str:
    return f"{money(amount):,}"


def _quantity(value: Decimal) -> str:
    return _number(money(value))


def _price(value: Decimal) -> str:
    text = _number(round_half_up(value, 6))
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def _number(value: Decimal) -> str:
    text = f"{value.normalize(ARITHMETIC):,f}"
    return "0" if text == "-0" else text
