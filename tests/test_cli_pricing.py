"""`costcalc pricing list|show|validate` and `costcalc quote`, in process and as an installed script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.pricing.book_file import bundled_book_ids

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()

GOOD = """\
id = "negotiated"
extends = "aws-ecr"
name = "Amazon ECR, negotiated"
discount_pct = 10
"""
BAD = """\
id = "bad"
extends = "aws-ecr"
unit = "TB"
[storage]
tiers = [{ price = "0.10" }]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_pricing_list_shows_every_bundled_book() -> None:
    result = runner.invoke(app, ["pricing", "list"])
    assert result.exit_code == 0, result.output
    for book_id in bundled_book_ids():
        assert book_id in result.stdout
    assert "2026-11-01" in result.stdout


def test_pricing_list_json() -> None:
    result = runner.invoke(app, ["pricing", "list", "--format", "json"])
    assert result.exit_code == 0
    books = json.loads(result.stdout)
    assert [book["id"] for book in books] == list(bundled_book_ids())
    assert books[0] == {
        "id": "aws-ecr",
        "name": "Amazon ECR (private repositories), us-east-1",
        "provider": "aws",
        "region": "us-east-1",
        "currency": "USD",
        "unit": "GiB",
        "dedup_scope": "repository",
        "effective_date": "2026-11-01",
        "egress_classes": ["internet", "same-region", "cross-region"],
    }


def test_pricing_show_prints_tiers_sources_and_notes() -> None:
    result = runner.invoke(app, ["pricing", "show", "aws-ecr"])
    assert result.exit_code == 0
    for expected in (
        "aws-ecr",
        "storage, USD per GiB-month",
        "egress internet, USD per GiB",
        "153,600",
        "0.085",
        "- https://aws.amazon.com/ecr/pricing/",
        "Notes:",
        "Cross-region pulls are priced at the AWS inter-Region rate",
    ):
        assert expected in result.stdout


def test_pricing_show_json_of_a_custom_file(tmp_path: Path) -> None:
    path = write(tmp_path, "negotiated.toml", GOOD)
    result = runner.invoke(app, ["pricing", "show", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    book = json.loads(result.stdout, parse_float=Decimal)
    assert (book["id"], book["extends"], book["path"]) == ("negotiated", "aws-ecr", str(path))
    assert book["discount_pct"] == 10
    assert book["egress"]["internet"] == {
        "free": 0,
        "tiers": [
            {"up_to": 10240, "price": Decimal("0.09")},
            {"up_to": 51200, "price": Decimal("0.085")},
            {"up_to": 153600, "price": Decimal("0.07")},
            {"up_to": None, "price": Decimal("0.05")},
        ],
    }
    assert book["plan"] is None
    assert book["sources"][0] == "https://aws.amazon.com/ecr/pricing/"


def test_pricing_show_json_of_a_day_priced_plan() -> None:
    result = runner.invoke(app, ["pricing", "show", "azure-acr-basic", "--format", "json"])
    book = json.loads(result.stdout, parse_float=str)
    assert book["plan"] == {"monthly_fee": "5.0796", "daily_fee": "0.167", "included_storage": 10}
    assert book["storage"]["tiers"] == [{"up_to": None, "price": "0.09125", "daily_price": "0.003"}]


def test_pricing_show_unknown_id_is_one_sentence() -> None:
    result = runner.invoke(app, ["pricing", "show", "nope"])
    assert result.exit_code == 1
    assert result.stderr == (
        f'costcalc: error: "nope" is neither a bundled price book ({", ".join(bundled_book_ids())}) nor a file.\n'
    )


def test_pricing_validate_a_good_file(tmp_path: Path) -> None:
    path = write(tmp_path, "negotiated.toml", GOOD)
    result = runner.invoke(app, ["pricing", "validate", str(path)])
    assert result.exit_code == 0
    assert result.stdout == f"{path}: valid (id negotiated)\n"


def test_pricing_validate_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", BAD)
    result = runner.invoke(app, ["pricing", "validate", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f'costcalc: error: {path}:3: unit: must be "GiB" or "GB", not a string ("TB")',
        f"costcalc: error: {path}:5: storage.tiers[0].price: "
        'must be a number, not a string ("0.10"): remove the quotes',
    ]
    assert "Traceback" not in result.output


def test_pricing_validate_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["pricing", "validate", str(tmp_path / "none.toml")])
    assert result.exit_code == 1
    assert result.stderr == f"costcalc: error: {tmp_path / 'none.toml'}: no such file.\n"


def test_quote_table() -> None:
    result = runner.invoke(
        app, ["quote", "--pricing", "aws-ecr", "--storage-gb", "500", "--egress-gb", "internet=20000"]
    )
    assert result.exit_code == 0, result.output
    assert "1,801.2000" in result.stdout  # 50.00 + 1751.20 (no share of AWS's free transfer)
    assert "Assumptions:" in result.stdout


def test_quote_aws_ecr_a_worked_case() -> None:
    # 1,000 GiB x 0.10 = 100.00. 60,000 GiB out (none of AWS's shared free 100 GiB assumed):
    # 10,240 x 0.09 = 921.60, 40,960 x 0.085 = 3,481.60, the remaining 8,800 x 0.07 = 616.00: 5,019.20.
    args = ["quote", "--pricing", "aws-ecr", "--storage-gb", "1000", "--egress-gb", "internet=60000"]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    quote = json.loads(result.stdout, parse_float=str, parse_int=str)
    storage, egress = quote["components"]
    assert storage["cost"] == "100.0000"
    assert [(line["quantity"], line["price"], line["cost"]) for line in egress["tiers"]] == [
        ("10240", "0.09", "921.6000"),
        ("40960", "0.085", "3481.6000"),
        ("8800", "0.07", "616.0000"),
    ]
    assert (egress["cost"], quote["total"]) == ("5019.2000", "5119.2000")


def test_quote_azure_premium_for_ten_days() -> None:
    # Fee 1.667 x 10 days = 16.67; 100 GiB beyond the 500 included x 0.003 x 10 = 3.00.
    args = ["quote", "--pricing", "azure-acr-premium", "--storage-gb", "600", "--days", "10", "--format", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    quote = json.loads(result.stdout, parse_float=str, parse_int=str)
    assert (quote["period_hours"], quote["total"]) == ("240", "19.6700")
    labels = [line["label"] for line in quote["components"][0]["tiers"]]
    assert labels == ["plan fee", "included 500", "beyond included"]


def test_pricing_show_titles_and_plan_fee_read_in_one_line() -> None:
    result = runner.invoke(app, ["pricing", "show", "azure-acr-premium"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for title in ("egress same-region, USD per GiB", "up to counts the volume after the free allowance"):
        assert title in lines  # a line of its own, not wrapped at the narrow table's width
    assert any("50.7046 USD per 730-hour month (1.667 per day x 730/24)" in line for line in lines)


def test_quote_json_to_a_file(tmp_path: Path) -> None:
    book = write(tmp_path, "negotiated.toml", GOOD)
    out = tmp_path / "quote.json"
    args = ["quote", "--pricing", str(book), "--storage-gb", "500", "--days", "15", "--format", "json"]
    result = runner.invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    quote = json.loads(out.read_text(encoding="utf-8"), parse_float=str)
    # 500 GiB x 0.10 = 50.00, less 10 % = 45.00 a month; x 360/730 months = 22.1918 (22.19178...)
    assert quote["total"] == "22.1918"
    assert quote["period_hours"] == 360
    assert [line["label"] for line in quote["components"][0]["tiers"]] == ["all", "discount 10%"]
    assert "A 10% discount applies to every charge." in quote["assumptions"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--storage-gb", "ten"], 'costcalc: error: --storage-gb "ten": not a number.\n'),
        (["--storage-gb", "-5"], "costcalc: error: --storage-gb -5: must be a number >= 0.\n"),
        (
            ["--egress-gb", "internet"],
            'costcalc: error: --egress-gb "internet": expected CLASS=N, for example internet=100.\n',
        ),
        (
            ["--egress-gb", "moon=1"],
            'costcalc: error: price book aws-ecr has no egress class "moon"; '
            "its classes are: internet, same-region, cross-region.\n",
        ),
        (["--storage-gb", "1", "--days", "0"], "costcalc: error: --days 0: the period must be more than 0 days.\n"),
        (["--storage-gb", "1", "--pricing", "nope.toml"], "costcalc: error: nope.toml: no such file.\n"),
    ],
)
def test_quote_bad_input_is_one_sentence_and_exit_1(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["quote", *args])
    assert result.exit_code == 1
    assert result.stderr == message
    assert result.stdout == ""


@pytest.mark.parametrize("args", [[], ["--storage-gb", "1", "--format", "xml"]])
def test_quote_bad_command_line_exits_2(args: list[str]) -> None:
    result = runner.invoke(app, ["quote", *args])
    assert result.exit_code == 2


# The installed console script, from a pip install of a copy of the checkout into a fresh
# virtual environment. The venv sees the running interpreter's site-packages (typer, pydantic,
# the build backend) through a .pth file, so nothing is downloaded; this works whether pytest
# runs from a venv (as in .ci/run) or from the system Python. The build needs setuptools>=70.1,
# or setuptools and wheel, in that environment.


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin directory of a fresh venv with costcalc installed by pip from this checkout."""
    root = tmp_path_factory.mktemp("install")
    source = root / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("costcalc", "pricing"):
        shutil.copytree(REPO / name, source / name, ignore=ignore)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Only site-packages directories: never the checkout itself, which must not be importable.
    ours = [entry for entry in sys.path if entry.endswith(("site-packages", "dist-packages")) and Path(entry).is_dir()]
    (Path(purelib) / "running_interpreter_site.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    pip = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet", str(source)],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert pip.returncode == 0, (
        "pip install of the checkout failed (the build needs setuptools>=70.1, or setuptools "
        f"and wheel, in the test environment):\n{pip.stdout}\n{pip.stderr}"
    )
    yield venv / "bin"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "COLUMNS")}
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_installed_pricing_list_works_from_any_directory(installed: Path, tmp_path: Path) -> None:
    resources = run(
        tmp_path,
        str(installed / "python"),
        "-c",
        "import importlib.resources as r; print(r.files('costcalc.pricing_books').joinpath('aws-ecr.toml'))",
    )
    assert resources.returncode == 0, resources.stderr
    assert Path(resources.stdout.strip()).is_relative_to(installed.parent)  # the books are in the wheel

    result = run(tmp_path, str(installed / "costcalc"), "pricing", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert [book["id"] for book in json.loads(result.stdout)] == list(bundled_book_ids())
    table = run(tmp_path, str(installed / "costcalc"), "pricing", "list")
    assert table.returncode == 0
    assert all(book_id in table.stdout for book_id in bundled_book_ids())


def test_installed_console_script_reports_a_bad_book_without_a_traceback(installed: Path, tmp_path: Path) -> None:
    write(tmp_path, "bad.toml", BAD)
    result = run(tmp_path, str(installed / "costcalc"), "pricing", "validate", "bad.toml")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        'costcalc: error: bad.toml:3: unit: must be "GiB" or "GB", not a string ("TB")',
        'costcalc: error: bad.toml:5: storage.tiers[0].price: must be a number, not a string ("0.10"): '
        "remove the quotes",
    ]
    quote = run(
        tmp_path,
        str(installed / "costcalc"),
        "quote",
        "--pricing",
        "azure-acr-premium",
        "--storage-gb",
        "600",
        "--format",
        "json",
    )
    assert quote.returncode == 0, quote.stderr
    assert json.loads(quote.stdout, parse_float=str)["total"] == "59.8296"  # 50.7046 fee + 100 x 0.09125


HOSTILE_BOOK = """\
id = "evil"
extends = "aws-ecr"
name = "Evil \\u001b[2J\\u001b[31mRED"
notes = ["note \\u001b[31mred\\u202eflipped"]
sources = ["https://example.com/\\u001b]0;pwned\\u0007"]
"""


@pytest.mark.parametrize(
    "args",
    [["pricing", "show", "{book}"], ["quote", "--pricing", "{book}", "--storage-gb", "10"]],
    ids=["pricing-show", "quote"],
)
def test_a_book_files_text_never_reaches_the_terminal_raw(tmp_path: Path, args: list[str]) -> None:
    path = write(tmp_path, "evil.toml", HOSTILE_BOOK)
    result = runner.invoke(app, [arg.format(book=path) for arg in args])
    assert result.exit_code == 0, result.output
    assert not any(char in result.stdout for char in "\x1b\x07\u202e"), repr(result.stdout)
    assert "Evil \\x1b[2J\\x1b[31mRED" in result.stdout
    assert "https://example.com/\\x1b]0;pwned\\x07" in result.stdout
