"""`costcalc pricing list | show ID | validate FILE`: the price books, bundled or the user's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costcalc.cli.console import fail
from costcalc.cli.options import choose_format, format_option, output_option
from costcalc.cli.output import destination, table_width
from costcalc.errors import InputError

PRICING_FORMATS = ("table", "json")


def list_command(
    output_format: Annotated[str | None, format_option(PRICING_FORMATS)] = None,
    output: Annotated[Path | None, output_option("the list")] = None,
) -> None:
    """List the bundled price books: id, provider, region, currency, unit, effective date."""
    from costcalc.pricing.book_file import bundled_book_ids, load_book
    from costcalc.render import pricing_json, pricing_table

    chosen = choose_format(output_format, output, PRICING_FORMATS)
    with destination(output) as result:
        books = [load_book(book_id) for book_id in bundled_book_ids()]
        if chosen == "json":
            result.write(pricing_json.book_list_json(books))
        else:
            result.write(pricing_table.book_list_text(books, width=table_width(output)))


def show_command(
    book_ref: Annotated[str, typer.Argument(metavar="ID|FILE", help="Bundled book id or a .toml file.")],
    output_format: Annotated[str | None, format_option(PRICING_FORMATS)] = None,
    output: Annotated[Path | None, output_option("the book")] = None,
) -> None:
    """Show one price book: every price and tier, the plan, sources and notes."""
    from costcalc.pricing.book_file import load_book
    from costcalc.render import pricing_json, pricing_table

    chosen = choose_format(output_format, output, PRICING_FORMATS)
    with destination(output, inputs=[("ID|FILE", book_ref)]) as result:
        book = load_book(book_ref)
        if chosen == "json":
            result.write(pricing_json.book_json(book))
        else:
            result.write(pricing_table.book_text(book, width=table_width(output)))


def validate_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A price book .toml file.")],
) -> None:
    """Check a price book file; print every problem as FILE:LINE: field: problem (exit 1)."""
    from costcalc.pricing.book_file import validate_book_file

    problems = validate_book_file(file)
    if problems:
        fail(InputError(problems[0], problems))
    print(f"{file}: valid (id {file.stem})")  # a valid book's id is its file name
