"""Hostile and careless local input: every limit tested on both sides, one sentence, never a traceback."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.errors import InputError
from costcalc.pricing.book_file import validate_book_file
from costcalc.pricing.validation import MAX_BOOK_BYTES, MAX_USAGE_BYTES, read_limited
from costcalc.report.diff_reports import load_report
from costcalc.toml_lines import MAX_NESTING
from costcalc.usage.file import load_usage, loads_csv, loads_toml

D = Decimal
runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BOOK = """\
id = "book"
name = "Test book"
provider = "test"
region = "r1"
currency = "USD"
unit = "GiB"
dedup_scope = "registry"
effective_date = 2026-11-01
sources = ["https://example.com/prices"]

[plan]
monthly_fee = 1

[storage]
tiers = [{ price = 0.10 }]

[egress.internet]
free = 10
tiers = [{ price = 0.09 }]
"""


def problems_of(load: object, *args: object) -> list[str]:
    with pytest.raises(InputError) as caught:
        load(*args)  # type: ignore[operator]
    return caught.value.problems


def book_problems(tmp_path: Path, old: str, new: str) -> list[str]:
    path = tmp_path / "book.toml"
    path.write_text(BOOK.replace(old, new, 1), encoding="utf-8")
    return [problem.removeprefix(f"{path}:") for problem in validate_book_file(path)]


# --- usage files -------------------------------------------------------------------------


def test_an_unterminated_quote_is_refused_at_its_row_not_swallowing_the_rest() -> None:
    text = 'repository,source,pulls_per_month\n*,internet,100\n"unterminated,internet,5\nacme/api,internet,5\n'
    assert problems_of(loads_csv, text, "u.csv") == ["u.csv:3: row: a quoted cell is never closed"]
    text = 'repository,pulls_per_month\n"acme/api"x,5\n'
    assert problems_of(loads_csv, text, "u.csv") == [
        "u.csv:2: row: not valid CSV (',' expected after '\"')",
    ]
    # a quoted cell may hold the delimiter and still close on its line
    assert loads_csv('repository,team\n"acme/api","a, b"\n').rows[0].team == "a, b"


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("1000000000000000", None),  # 10^15: the largest quantity
        ("1000000000000001", "must be at most 1,000,000,000,000,000, got 1000000000000001"),
        ("1E+24", "must be at most 1,000,000,000,000,000, got 1E+24"),
        ("9" * 5000, "must be at most 1,000,000,000,000,000, got 1.000000E+5000"),
        ("0." + "0" * 19 + "1", None),  # 20 places
        ("0." + "0" * 20 + "1", "must have at most 20 digits after the decimal point, got 1E-21"),
        ("1e-999999", "must have at most 20 digits after the decimal point, got 1E-999999"),
    ],
)
def test_usage_numbers_have_bounds(cell: str, problem: str | None) -> None:
    text = f"repository,pulls_per_month\n*,{cell}\n"
    if problem is None:
        assert loads_csv(text).rows[0].pulls_per_month == D(cell)
    else:
        assert problems_of(loads_csv, text, "u.csv") == [f"u.csv:2: pulls_per_month: {problem}"]


def test_toml_integers_past_what_python_converts_are_refused_with_their_line() -> None:
    longest = "9" * 4300  # converts, then is over the limit
    assert problems_of(
        loads_toml, f'[[usage]]\nrepository = "*"\nnodes = 1\ndeploys_per_month = {longest}\n', "u.toml"
    ) == ["u.toml:4: deploys_per_month: must be at most 1,000,000,000,000,000, got 1.000000E+4300"]
    assert problems_of(loads_toml, f'[[usage]]\nrepository = "*"\npulls_per_month = {longest}9\n', "u.toml") == [
        "u.toml:3: file: not valid TOML (An integer with more than 4300 digits)"
    ]


@pytest.mark.parametrize("depth", [MAX_NESTING, MAX_NESTING + 1, 200_000])
def test_deeply_nested_toml_is_refused_before_the_parser_recurses(depth: int) -> None:
    text = f'[[usage]]\nrepository = "*"\n\nteam = {"[" * depth}{"]" * depth}\n'
    problems = problems_of(loads_toml, text, "u.toml")
    if depth <= MAX_NESTING:  # parsed: the value is simply not a string
        assert problems == ["u.toml:4: team: must be a string"]
    else:
        assert problems == ["u.toml:4: file: not valid TOML (Arrays and tables nested deeper than 32 levels)"]


def test_brackets_in_strings_and_comments_do_not_count_as_nesting() -> None:
    deep = "[" * 100
    text = f"# {deep}\n[[usage]]\nrepository = \"*\"\nteam = \"{deep}\"\nsource = '''{deep}'''\n"
    assert loads_toml(text).rows[0].team == deep


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_a_file_is_refused_after_a_bounded_read(device: str) -> None:
    assert problems_of(load_usage, Path(device)) == [f"{device}: larger than 16 MiB, too large for a usage file."]
    assert validate_book_file(Path(device)) == [f"{device}: larger than 1 MiB, too large for a price book."]
    result = runner.invoke(app, ["quote", "--pricing", device, "--storage-gb", "1"])
    assert (result.exit_code, result.stderr) == (
        1,
        f"costcalc: error: {device}: larger than 1 MiB, too large for a price book.\n",
    )


def test_file_size_limits_on_both_sides(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_limited(path, 10, "a test") == b"x" * 10
    with pytest.raises(InputError, match="too large for a test"):
        read_limited(path, 9, "a test")
    # rows of 100,000 bytes (a CSV cell holds at most 128 KiB) up to exactly 16 MiB, then one byte more
    usage = tmp_path / "usage.csv"
    head = b"repository,team\n"
    rows = [f"r{index:05},".encode() + b"t" * (100_000 - 9) + b"\n" for index in range(MAX_USAGE_BYTES // 100_000)]
    body = head + b"".join(rows)
    body += b"last," + b"t" * (MAX_USAGE_BYTES - len(body) - 5)
    assert len(body) == MAX_USAGE_BYTES
    usage.write_bytes(body)
    assert len(load_usage(usage).rows) == len(rows) + 1
    usage.write_bytes(body + b"t")
    assert problems_of(load_usage, usage) == [f"{usage}: larger than 16 MiB, too large for a usage file."]
    book = tmp_path / "book.toml"
    book.write_bytes(BOOK.encode() + b"#" * (MAX_BOOK_BYTES - len(BOOK)))
    assert validate_book_file(book) == []
    book.write_bytes(BOOK.encode() + b"#" * (MAX_BOOK_BYTES - len(BOOK) + 1))
    assert validate_book_file(book) == [f"{book}: larger than 1 MiB, too large for a price book."]


@pytest.mark.parametrize(
    ("header", "cell", "expected"),
    [
        ("repository,pulls_per_month", '"1,200"', D(1200)),  # Excel's thousands, quoted
        ("repository,pulls_per_month", '"1,200.5"', D("1200.5")),
        ("repository,pulls_per_month", '"1.200,5"', D("1200.5")),  # both marks: unambiguous
        ("repository,pulls_per_month", '"1,5"', None),  # a decimal comma or a misplaced group?
        ("repository;pulls_per_month", "1,5", D("1.5")),  # a semicolon file: decimal comma
        ("repository;pulls_per_month", "1.200", D(1200)),
        ("repository;pulls_per_month", "1.200,5", D("1200.5")),
        ("repository;pulls_per_month", "1,200.5", D("1200.5")),
        ("repository;pulls_per_month", "2.5", None),  # a decimal point or a misplaced group?
        ("repository;pulls_per_month", "12", D(12)),
    ],
)
def test_spreadsheet_numbers(header: str, cell: str, expected: Decimal | None) -> None:
    delimiter = header[len("repository")]
    text = f"{header}\n*{delimiter}{cell}\n"
    if expected is None:
        (problem,) = problems_of(loads_csv, text, "u.csv")
        kind, mark, group, example = (
            ("semicolon", "comma", "point", "1.200,5") if delimiter == ";" else ("comma", "point", "comma", "1,200.5")
        )
        assert problem == (
            f"u.csv:2: pulls_per_month: '{cell.strip(chr(34))}' is ambiguous: in a {kind}-separated file a number "
            f"uses a decimal {mark}, and a {group} only between groups of three digits ({example})"
        )
    else:
        assert loads_csv(text).rows[0].pulls_per_month == expected


# --- price books ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "problems"),
    [
        ("{ price = 0.10 }", "{ price = 1e9 }", []),  # the largest price
        (
            "{ price = 0.10 }",
            "{ price = 1000000000.01 }",
            ["15: storage.tiers[0].price: must be at most 1,000,000,000, got 1000000000.01"],
        ),
        (
            "{ price = 0.10 }",
            "{ price = 1e30 }",
            ["15: storage.tiers[0].price: must be at most 1,000,000,000, got 1E+30"],
        ),
        (
            "monthly_fee = 1",
            "monthly_fee = 1e999999",
            ["12: plan.monthly_fee: must be at most 1,000,000,000, got 1E+999999"],
        ),
        ("free = 10", "free = 1e15", []),  # the largest quantity
        (
            "free = 10",
            "free = 1000000000000001",
            ["18: egress.internet.free: must be at most 1,000,000,000,000,000, got 1000000000000001"],
        ),
        ("free = 10", "free = " + "9" * 5000, ["18: toml: An integer with more than 4300 digits (column 8)"]),
        (
            "free = 10",
            "free = 0.000000000000000000001",
            ["18: egress.internet.free: must have at most 20 digits after the decimal point, got 1E-21"],
        ),
        (
            "free = 10",
            f"free = 10\nx = {'[' * 200_000}{']' * 200_000}",
            ["19: toml: Arrays and tables nested deeper than 32 levels (column 37)"],
        ),
        (
            "free = 10",
            "free = 10\ndiscount_pct = 250",
            ["19: egress.internet.discount_pct: unknown field (expected one of: free, tiers, limit)"],
        ),
    ],
)
def test_price_book_limits(tmp_path: Path, old: str, new: str, problems: list[str]) -> None:
    assert book_problems(tmp_path, old, new) == problems


def test_a_discount_over_100_says_what_it_got(tmp_path: Path) -> None:
    path = tmp_path / "deal.toml"
    path.write_text('id = "deal"\nextends = "aws-ecr"\ndiscount_pct = 250\n', encoding="utf-8")
    result = runner.invoke(app, ["pricing", "validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr == f"costcalc: error: {path}:3: discount_pct: must be between 0 and 100, got 250\n"


def test_pricing_validate_refuses_a_fee_of_1e999999(tmp_path: Path) -> None:
    path = tmp_path / "book.toml"
    path.write_text(BOOK.replace("monthly_fee = 1", "monthly_fee = 1e999999"), encoding="utf-8")
    result = runner.invoke(app, ["pricing", "validate", str(path)])
    assert result.exit_code == 1
    assert "plan.monthly_fee: must be at most 1,000,000,000, got 1E+999999" in result.stderr
    assert "Traceback" not in result.output


# --- quote ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "outcome"),
    [
        (["--storage-gb", "1e15"], "100000000000000.0000"),  # 10^15 GiB x 0.10
        (["--storage-gb", "1e60"], "--storage-gb: must be at most 1,000,000,000,000,000, got 1E+60."),
        (
            ["--egress-gb", "internet=1000000000000001"],
            "--egress-gb internet: must be at most 1,000,000,000,000,000, got 1000000000000001.",
        ),
        (["--storage-gb", "1", "--days", "36500"], "120.0000"),  # a hundred years: 1,200 months x 0.10
        (["--storage-gb", "1", "--days", "36501"], "--days 36501: the period must be at most 36,500 days (100 years)."),
        (["--storage-gb", "9" * 5000], "--storage-gb: must be at most 1,000,000,000,000,000, got 1.000000E+5000."),
    ],
)
def test_quote_limits(args: list[str], outcome: str) -> None:
    result = runner.invoke(app, ["quote", "--pricing", "aws-ecr", *args, "--format", "json"])
    if outcome[0].isdigit():
        assert result.exit_code == 0, result.output
        assert str(json.loads(result.stdout, parse_float=str)["total"]) == outcome
    else:
        assert (result.exit_code, result.stderr) == (1, f"costcalc: error: {outcome}\n")


def test_a_csv_cell_over_128_kib_is_refused_at_its_row() -> None:
    text = "repository,team\n*," + "t" * 131_073 + "\n"
    assert problems_of(loads_csv, text, "u.csv") == [
        "u.csv:2: row: not valid CSV (field larger than field limit (131072))"
    ]


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A named pipe nobody writes to; a read that waits on it is let go to an empty file.

    A writer opens and closes the pipe whenever a reader waits, so a loader that opens it
    without refusing it reads nothing and the test fails on its message instead of hanging.
    """
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)
    done = threading.Event()

    def release() -> None:
        while not done.wait(0.05):
            with contextlib.suppress(OSError):  # ENXIO: no reader waits
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    writer = threading.Thread(target=release, daemon=True)
    writer.start()
    yield path
    done.set()
    writer.join()


def test_a_named_pipe_is_refused_as_any_input_file_without_waiting_for_a_writer(fifo: Path, tmp_path: Path) -> None:
    assert validate_book_file(fifo) == [f"{fifo}: a price book must be a regular file."]
    assert problems_of(load_usage, fifo) == [f"{fifo}: a usage file must be a regular file."]
    assert problems_of(load_report, fifo) == [f"{fifo}: a report JSON must be a regular file."]
    result = runner.invoke(app, ["quote", "--pricing", str(fifo), "--storage-gb", "1"])
    assert (result.exit_code, result.stderr) == (1, f"costcalc: error: {fifo}: a price book must be a regular file.\n")
    child = tmp_path / "child.toml"
    child.write_text('extends = "pipe.toml"\n', encoding="utf-8")
    result = runner.invoke(app, ["quote", "--pricing", str(child), "--storage-gb", "1"])
    assert (result.exit_code, result.stderr) == (
        1,
        f'costcalc: error: {child}:1: extends: unknown parent "pipe.toml": '
        f"{fifo}: a price book must be a regular file.\n",
    )
    for spec, what in [(f"provider:{fifo}", "a price book"), (f"ecr-lifecycle:{fifo}", "a lifecycle policy file")]:
        result = runner.invoke(app, ["report", str(EXAMPLES / "fleet.json"), "--scenario", spec])
        assert result.exit_code == 1
        assert result.stderr.startswith(f"costcalc: error: --scenario '{spec[:20]}")
        assert result.stderr.endswith(f"': {fifo}: {what} must be a regular file.\n")
        assert result.stderr.count("\n") == 1


def test_a_device_as_a_lifecycle_policy_is_refused_after_a_bounded_read() -> None:
    result = runner.invoke(app, ["report", str(EXAMPLES / "fleet.json"), "--scenario", "ecr-lifecycle:/dev/zero"])
    assert (result.exit_code, result.stderr) == (
        1,
        "costcalc: error: --scenario 'ecr-lifecycle:/dev/zero': /dev/zero: larger than 1 MiB, "
        "too large for a lifecycle policy file.\n",
    )
