"""Every command's --help renders (help texts hold brackets that must not be read as markup)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app

COMMANDS = [
    ([], "scan"),
    (["scan"], "--password-stdin"),
    (["report"], "--fail-above"),
    (["quote"], "--egress-gb"),
    (["pricing", "list"], "--format"),
    (["pricing", "show"], "ID|FILE"),
    (["pricing", "validate"], "FILE"),
    (["usage", "init"], "SOURCE"),
]


@pytest.mark.parametrize(("command", "mentions"), COMMANDS)
def test_help_renders_and_names_the_options(command: list[str], mentions: str) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert mentions in result.output
    assert "Traceback" not in result.output


def test_scan_help_shows_the_target_grammar_verbatim() -> None:
    result = CliRunner().invoke(app, ["scan", "--help"])
    assert "HOST[:PORT][/NAMESPACE]" in result.output
