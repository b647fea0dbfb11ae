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


def help_text(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        (["scan"], ["--format [table|json]"]),
        (
            ["report"],
            [
                "--format [table|json|csv|markdown|html|xlsx]",
                "--group-by <repository|team|namespace|registry>",
                "alpine, multistage, distroless, target:SIZE, ratio:R, measured:REPO:BEFORE=AFTER",
                "retention:N, retention:DAYSd, colocate:P, provider:ID",
            ],
        ),
        (["quote"], ["--format [table|json]", "internet, same-region, cross-region", "GiB or GB"]),
        (["diff"], ["--format [table|json|csv|markdown|html]", "costcalc pricing list"]),
    ],
)
def test_help_lists_each_options_choices(command: list[str], choices: list[str]) -> None:
    text = help_text(*command)
    for choice in choices:
        assert choice in text, choice


@pytest.mark.parametrize(
    ("command", "option"), [(["report"], "--fail-above AMOUNT"), (["diff"], "--fail-above-increase AMOUNT")]
)
def test_money_options_say_their_currency(command: list[str], option: str) -> None:
    text = help_text(*command)
    described = text.split(option, 1)[1].split(" --", 1)[0]
    assert "currency" in described, described
