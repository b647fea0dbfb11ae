"""`costcalc quote`: explicit storage and egress quantities priced on one price book."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costcalc.cli.console import usage_error
from costcalc.cli.options import choose_format, format_option, output_option
from costcalc.cli.output import destination, table_width
from costcalc.cli.pricing import PRICING_FORMATS


def quote_command(
    pricing: Annotated[
        str,
        typer.Option("--pricing", metavar="ID|FILE", help="Price book id (see `costcalc pricing list`) or .toml file."),
    ] = "aws-ecr",
    storage_gb: Annotated[
        str | None,
        typer.Option(
            "--storage-gb",
            metavar="N",
            help="Storage held through the period, in the book's unit (GiB or GB: see `costcalc pricing show ID`).",
        ),
    ] = None,
    egress_gb: Annotated[
        list[str] | None,
        typer.Option(
            "--egress-gb",
            metavar="CLASS=N",
            help=(
                "Volume of an egress class in the period, in the book's unit (repeatable); CLASS is one the "
                "book prices: internet, same-region, cross-region, ..."
            ),
        ),
    ] = None,
    days: Annotated[
        str | None,
        typer.Option("--days", metavar="N", help="Period in days (default: a 730-hour month)."),
    ] = None,
    output_format: Annotated[str | None, format_option(PRICING_FORMATS)] = None,
    output: Annotated[Path | None, output_option("the quote")] = None,
) -> None:
    """Price explicit storage and egress quantities on one price book (finance what-ifs)."""
    from costcalc.pricing.book_file import load_book
    from costcalc.pricing.quote import build_quote, parse_egress, parse_quantity
    from costcalc.render import pricing_json, pricing_table

    if storage_gb is None and not egress_gb:
        usage_error("nothing to quote: give --storage-gb N and/or --egress-gb CLASS=N.")
    chosen = choose_format(output_format, output, PRICING_FORMATS)
    with destination(output, inputs=[("--pricing", pricing)]) as result:
        storage = None if storage_gb is None else parse_quantity(storage_gb, "--storage-gb")
        egress = [parse_egress(spec) for spec in egress_gb or []]
        period = None if days is None else parse_quantity(days, "--days")
        quote = build_quote(load_book(pricing), storage=storage, egress=egress, days=period)
        if chosen == "json":
            result.write(pricing_json.quote_json(quote))
        else:
            result.write(pricing_table.quote_text(quote, width=table_width(output)))
