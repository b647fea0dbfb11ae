"""The command line: one module per command; the only package that prints, exits or imports typer."""

from costcalc.cli.app import main

__all__ = ["main"]
