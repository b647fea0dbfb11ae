"""-o into a place that cannot be written: one sentence naming the file, exit 1, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    "command",
    [
        ["report", str(EXAMPLES / "fleet.json")],
        ["quote", "--storage-gb", "10"],
        ["pricing", "list"],
        ["pricing", "show", "aws-ecr"],
        ["usage", "init", str(EXAMPLES / "fleet.json")],
    ],
)
def test_unwritable_output_is_one_sentence_and_exit_1(command: list[str], tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "out.txt"
    result = CliRunner().invoke(app, [*command, "-o", str(target)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"costcalc: error: {target}: cannot write the file (No such file or directory)."
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not target.parent.exists()
