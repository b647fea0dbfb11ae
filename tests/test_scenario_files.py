"""Scenario files and specs under hostile input: every problem with its line, one sentence, exit 1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.errors import InputError
from costcalc.scenarios.file import MAX_FILE_BYTES, from_option, load_scenario_file
from costcalc.scenarios.spec import parse_spec
from costcalc.toml_lines import MAX_NESTING

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_scenario_file(path)
    return caught.value.problems


def test_every_field_problem_at_once_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        "[[scenarios]]\n"  # 1
        "spec = 5\n"  # 2
        'id = ""\n'  # 3
        "\n"  # 4
        "[[scenarios]]\n"  # 5
        'spec = "retention:5"\n'  # 6
        "description = []\n"  # 7
        'keep = ["v*", 3]\n'  # 8
        "repositories = []\n"  # 9
        "\n"  # 10
        "[[scenarios]]\n"  # 11
        'spec = "ratio:0.5"\n'  # 12
        "[scenarios.nested]\n"  # 13
        "a = 1\n",  # 14
        encoding="utf-8",
    )
    assert problems_of(path) == [
        f'{path}:2: spec: must be a string, e.g. spec = "alpine", not a number (5).',
        f'{path}:3: id: must be a non-empty string, not a string ("").',
        f"{path}:7: description: must be a non-empty string, not an array.",
        f'{path}:8: keep: must be a list of one or more non-empty globs, e.g. ["v*"].',
        f'{path}:9: repositories: must be a list of one or more non-empty globs, e.g. ["acme/api*"].',
        f"{path}:13: nested: unknown field (expected one of: spec, id, description, repositories, keep).",
    ]


def test_a_valid_field_of_a_bad_entry_is_still_checked(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[scenarios]]\nspec = "target:150"\nid = 7\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_scenario_file(path)
    assert caught.value.problems == [
        f"{path}:2: spec: '150' has no unit; write one of B, kB, MB, GB, TB (powers of 1000) or KiB, MiB, "
        "GiB, TiB (powers of 1024), e.g. 150MB.",
        f"{path}:3: id: must be a non-empty string, not a number (7).",
    ]
    assert str(caught.value).endswith("e.g. 150MB (and 1 more problem).")


def test_a_scenario_that_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('scenarios = ["alpine", {spec = "distroless"}]\n', encoding="utf-8")
    assert problems_of(path) == [f'{path}:1: scenarios: must be a table with a spec, not a string ("alpine").']


@pytest.mark.parametrize(("depth", "refused"), [(MAX_NESTING, False), (MAX_NESTING + 1, True), (100_000, True)])
def test_nesting_limit_on_both_sides(tmp_path: Path, depth: int, refused: bool) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("[[scenarios]]\nspec = " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    problems = problems_of(path)
    if refused:
        assert problems == [f"{path}:2: not valid TOML: Arrays and tables nested deeper than {MAX_NESTING} levels."]
    else:
        assert problems == [f'{path}:2: spec: must be a string, e.g. spec = "alpine", not an array.']


def test_deeply_nested_inline_tables(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text('[[scenarios]]\nspec = "alpine"\nx = ' + "{a=" * 50_000 + "1" + "}" * 50_000 + "\n")
    assert problems_of(path) == [
        f"{path}:3: not valid TOML: Arrays and tables nested deeper than {MAX_NESTING} levels."
    ]


def test_a_5000_digit_integer(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text('[[scenarios]]\nspec = "alpine"\nid = ' + "9" * 5000 + "\n", encoding="utf-8")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:3: not valid TOML: An integer with more than ")


def test_file_size_limit_on_both_sides(tmp_path: Path) -> None:
    body = '[[scenarios]]\nspec = "alpine"\n'
    path = tmp_path / "big.toml"
    path.write_text(body + "#" * (MAX_FILE_BYTES - len(body) - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert [s.id for s in load_scenario_file(path)] == ["alpine"]
    path.write_text(body + "#" * (MAX_FILE_BYTES - len(body)) + "\n", encoding="utf-8")
    assert problems_of(path) == [f"{path}: a scenario file is at most 1024 KiB; this one is larger."]


def test_endless_device_or_fifo_as_scenario_file(tmp_path: Path) -> None:
    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    assert problems_of(link) == [f"{link}: a scenario file is at most 1024 KiB; this one is larger."]
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    assert problems_of(fifo) == [f"{fifo}: a scenario file must be a regular file."]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(b'[[scenarios]]\nspec = "\xff"\n')
    assert problems_of(path) == [f"{path}: the scenario file is not UTF-8 text."]


def test_a_spec_that_names_a_file_kind_is_a_spec(tmp_path: Path) -> None:
    # provider:FILE.toml is a spec, not a scenario file, even though it ends with .toml
    (scenario,) = from_option("provider:gcp-artifact-registry.toml")
    assert scenario.id == "provider:gcp-artifact-registry.toml"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "retention:740000d",
            "--scenario 'retention:740000d': retention keeps at most 36,500 days (100 years), not 740000.",
        ),
        (
            "retention:36501d",
            "--scenario 'retention:36501d': retention keeps at most 36,500 days (100 years), not 36501.",
        ),
        (
            "retention:1000001",
            "--scenario 'retention:1000001': retention keeps at most 1,000,000 versions, not 1000001.",
        ),
        (
            "retention:" + "9" * 5000,
            "--scenario 'retention:"
            + "9" * 50
            + "...': retention keeps at most 1,000,000 versions, not "
            + "9" * 20
            + "....",
        ),
        ("ratio:1e-999999", "--scenario 'ratio:1e-999999': ratio has more than 6 decimals: 1e-999999."),
        ("ratio:0.0000001", "--scenario 'ratio:0.0000001': ratio has more than 6 decimals: 0.0000001."),
        ("ratio:1E+999999", "--scenario 'ratio:1E+999999': ratio must be > 0 and <= 1."),
        ("ratio:NaN", "--scenario 'ratio:NaN': ratio must be a finite number."),
        ("colocate:1e-30", "--scenario 'colocate:1e-30': colocate percentage has more than 6 decimals: 1e-30."),
        ("target:1e30GB", "--scenario 'target:1e30GB': '1e30GB' is not a size; write a number and a unit"),
        ("target:1001TB", "--scenario 'target:1001TB': 1001TB is larger than the largest size costcalc accepts"),
    ],
)
def test_huge_and_odd_numbers_in_specs(spec: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_spec(spec)
    assert str(caught.value).startswith(message)
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize(("spec", "accepted"), [("retention:36500d", True), ("retention:1000000", True)])
def test_the_largest_retention_is_accepted(spec: str, accepted: bool) -> None:
    assert (parse_spec(spec).id == spec) is accepted


@pytest.mark.parametrize(
    ("spec", "sentence"),
    [
        ("retention:740000d", "retention keeps at most 36,500 days (100 years), not 740000."),
        (
            "target:150",
            "'150' has no unit; write one of B, kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB "
            "(powers of 1024), e.g. 150MB.",
        ),
    ],
)
def test_cli_bad_spec_is_one_sentence_and_exit_1(spec: str, sentence: str) -> None:
    result = CliRunner().invoke(app, ["report", str(EXAMPLES / "fleet.json"), "--scenario", spec])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"costcalc: error: --scenario '{spec}': {sentence}"]


def test_cli_longest_retention_window_runs() -> None:
    result = CliRunner().invoke(
        app, ["report", str(EXAMPLES / "fleet.json"), "--format", "json", "--scenario", "retention:36500d"]
    )
    assert result.exit_code == 0, result.output
    assert '"id": "retention:36500d"' in result.output


def test_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[scenarios]]\nspec = "alpine"\n"\\u001b[2J" = 1\n', encoding="utf-8")
    (problem,) = problems_of(path)
    assert "\x1b" not in problem
    assert problem == (
        f"{path}:3: '\\x1b[2J': unknown field (expected one of: spec, id, description, repositories, keep)."
    )
    with pytest.raises(InputError) as caught:
        parse_spec("slim\x1b[2J")
    assert "\x1b" not in str(caught.value)
    assert str(caught.value).startswith("--scenario 'slim\\x1b[2J': unknown scenario")


@pytest.mark.parametrize(
    ("book", "sentence"),
    [
        ("/dev/zero", "/dev/zero: larger than 1 MiB, too large for a price book."),
        ("a" * 5000, "cannot read the price book (File name too long)."),
    ],
)
def test_provider_book_that_cannot_be_read_is_one_sentence(book: str, sentence: str) -> None:
    result = CliRunner().invoke(app, ["report", str(EXAMPLES / "fleet.json"), "--scenario", f"provider:{book}"])
    assert result.exit_code == 1
    (line,) = [line for line in result.output.splitlines() if line.strip()]
    assert line.startswith(f"costcalc: error: --scenario 'provider:{book[:51]}")
    assert line.endswith(sentence)
    assert len(line) < 300


def test_a_bundled_provider_id_is_the_bundled_book_beside_a_directory_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "aws-ecr").mkdir()
    result = CliRunner().invoke(app, ["report", str(EXAMPLES / "fleet.json"), "--scenario", "provider:aws-ecr"])
    assert result.exit_code == 0, result.output
    assert "provider:aws-ecr" in result.stdout
    assert "regular file" not in result.output


@pytest.mark.parametrize(("value", "kind"), [("3", "a number (3)"), ('"alpine"', 'a string ("alpine")')])
def test_scenarios_that_are_not_tables_is_a_located_sentence(tmp_path: Path, value: str, kind: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f"# no tables\nscenarios = {value}\n", encoding="utf-8")
    assert problems_of(path) == [f"{path}:2: scenarios: must be [[scenarios]] tables, not {kind}."]
    result = CliRunner().invoke(app, ["report", str(EXAMPLES / "fleet.json"), "--scenario", str(path)])
    assert (result.exit_code, result.stderr) == (
        1,
        f"costcalc: error: {path}:2: scenarios: must be [[scenarios]] tables, not {kind}.\n",
    )


def test_the_id_of_the_combined_projection_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[[scenarios]]\nspec = "alpine"\nid = " combined "\n\n[[scenarios]]\nspec = "retention:5"\n', encoding="utf-8"
    )
    sentence = (
        f"{path}:3: id: 'combined' is the id the report gives all its scenarios applied together; "
        "give this scenario another id."
    )
    assert problems_of(path) == [sentence]
    fleet = str(EXAMPLES / "fleet.json")
    result = CliRunner().invoke(app, ["report", fleet, fleet, "--scenario", str(path)])
    assert (result.exit_code, result.stderr) == (1, f"costcalc: error: {sentence}\n")
    path.write_text('[[scenarios]]\nspec = "alpine"\nid = "Combined alpine"\n', encoding="utf-8")
    assert [s.id for s in load_scenario_file(path)] == ["Combined alpine"]


def test_the_tags_a_scenario_file_keeps_are_said_once(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[scenarios]]\nspec = "retention:1"\nkeep = ["v1*"]\n', encoding="utf-8")
    for keep, said in [([], "v1*"), (["--keep", "v1*"], "v1*"), (["--keep", "v2*"], "v2*, v1*")]:
        result = CliRunner().invoke(
            app, ["report", str(EXAMPLES / "fleet.json"), "--scenario", str(path), "--format", "json", *keep]
        )
        assert result.exit_code == 0, result.output
        (scenario,) = json.loads(result.stdout)["scenarios"]
        kept = [line for line in scenario["assumptions"] if "always kept" in line]
        assert kept == [f"retention:1: tags matching {said} are always kept."]
