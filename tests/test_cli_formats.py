"""What the command line picks for the user: the format from -o's extension, a file from a near name,
the choices in --help, whole price-book ids, and a warning when a scan finds nothing."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.pricing.book_file import bundled_book_ids, load_book
from costcalc.render import RENDERERS
from costcalc.render.pricing_table import book_list_text
from costcalc.scenarios.spec import PRESETS
from tests.registryd import Pusher, RunningRegistry

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FLEET = str(EXAMPLES / "fleet.json")
USAGE = str(EXAMPLES / "usage.csv")
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def looks_like(fmt: str, text: str) -> bool:
    match fmt:
        case "json":
            return "rows" in json.loads(text)
        case "csv":
            return "attributed_bytes" in next(csv.reader(io.StringIO(text)))
        case "markdown":
            return text.startswith("# ") and "\n| " in text
        case "html":
            return text.lstrip().lower().startswith("<!doctype html>")
    return "Total per month" in text


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("costs.json", "json"),
        ("costs.csv", "csv"),
        ("costs.md", "markdown"),
        ("costs.html", "html"),
        ("COSTS.CSV", "csv"),
        ("costs.txt", "table"),
    ],
)
def test_the_output_files_extension_picks_the_format(tmp_path: Path, name: str, fmt: str) -> None:
    out = tmp_path / name
    code, _, stderr = run("report", FLEET, "--usage", USAGE, "-o", str(out), "--quiet")
    assert code == 0, stderr
    text = out.read_text(encoding="utf-8")
    assert looks_like(fmt, text), text[:200]
    assert all(not looks_like(other, text) for other in ("csv", "html") if other != fmt)


def test_a_format_agreeing_with_the_extension_is_fine_and_a_conflicting_one_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "costs.csv"
    code, _, stderr = run("report", FLEET, "--format", "csv", "-o", str(out), "--quiet")
    assert code == 0, stderr
    assert looks_like("csv", out.read_text(encoding="utf-8"))
    out.unlink()
    code, stdout, stderr = run("report", FLEET, "--format", "json", "-o", str(out))
    assert (code, stdout) == (2, "")
    assert stderr == (
        f"costcalc: error: --format json conflicts with -o {out}, whose extension asks for csv; drop one.\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_pricing_commands_take_the_format_from_the_extension_too(tmp_path: Path) -> None:
    code, _, stderr = run("pricing", "list", "-o", str(tmp_path / "books.json"))
    assert code == 0, stderr
    assert [b["id"] for b in json.loads((tmp_path / "books.json").read_text())] == list(bundled_book_ids())
    code, _, stderr = run("quote", "--storage-gb", "10", "-o", str(tmp_path / "quote.csv"))
    assert code == 2
    quote = tmp_path / "quote.csv"
    assert stderr == f"costcalc: error: -o {quote}: its extension asks for csv; this command writes table or json.\n"
    assert not (tmp_path / "quote.csv").exists()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("examples/fleet.jsn", "examples/fleet.jsn: no such inventory file; did you mean examples/fleet.json?"),
        ("examples/flet.json", "examples/flet.json: no such inventory file; did you mean examples/fleet.json?"),
        ("fleet.jsn", "fleet.jsn: no such inventory file; did you mean fleet.json?"),
        ("./fleet.jsn", "./fleet.jsn: no such inventory file; did you mean fleet.json?"),
        (
            "examples/zzz",
            "examples/zzz: no such inventory file, and not a registry target (HOST[:PORT][/NAMESPACE]).",
        ),
    ],
)
def test_a_missing_file_is_said_so_with_the_near_name(source: str, message: str) -> None:
    cwd = EXAMPLES.parent if source.startswith("examples/") else EXAMPLES
    # a subprocess: a registry called `examples` would be tried over the network, which would show
    done = subprocess.run(
        [sys.executable, "-m", "costcalc", "report", source, "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"costcalc: error: {message}\n"


def test_help_lists_each_options_choices_and_the_currency_of_money_options() -> None:
    code, stdout, _ = run("report", "--help")
    assert code == 0
    assert "[" + "|".join(RENDERERS) + "]" in stdout
    assert "repository|team|namespace" in stdout
    flat = " ".join(stdout.split())
    for preset in PRESETS:
        assert f"{preset}," in flat
    assert "AMOUNT, in the price book's currency" in flat
    for command in (["pricing", "list"], ["pricing", "show"], ["quote"]):
        assert "[table|json]" in run(*command, "--help")[1]


@pytest.mark.parametrize("command", [["scan"], ["report"], ["usage", "init"]])
def test_the_scan_options_are_the_same_for_every_command_that_scans(command: list[str]) -> None:
    flags = (
        "--repo NAME",
        "--repos-file FILE",
        "--include GLOB",
        "--exclude GLOB",
        "--concurrency N",
        "--plain-http",
        "--http1",
        "--ca-file PEM",
        "--username USER",
        "--password-stdin",
        "--no-cache",
        "--cache-dir DIR",
    )
    code, stdout, _ = run(*command, "--help")
    assert code == 0
    assert [flag for flag in flags if flag not in stdout] == []
    assert "beside the system's" in " ".join(stdout.split())


def test_a_missing_ca_file_is_a_bad_command_line(tmp_path: Path) -> None:
    code, _, stderr = run("scan", "127.0.0.1:1/acme", "--ca-file", str(tmp_path / "nope.pem"))
    assert code == 2 and "nope.pem" in stderr


@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_pricing_list_shows_whole_ids_at_any_width(width: int) -> None:
    text = book_list_text([load_book(book_id) for book_id in bundled_book_ids()], width=width)
    assert "\N{HORIZONTAL ELLIPSIS}" not in text
    first_cells = [line.split()[0] for line in text.splitlines()[4:] if line.strip() and line.startswith("  ")]
    assert [cell for cell in first_cells if cell in bundled_book_ids()] == list(bundled_book_ids())
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width


def test_a_scan_that_finds_no_repository_warns_and_strict_exits_1(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    pusher.image("other/api", "v1", layers=[b"a layer"])
    args = ["scan", f"{registry.host}/acme", "--no-cache", "--format", "json"]
    code, stdout, stderr = run(*args)
    assert code == 0
    assert json.loads(stdout)["summary"]["repositories"] == 0
    assert stderr == (
        f"costcalc: warning: {registry.host}/acme: no repository found; "
        "check the namespace, or name repositories with --repo.\n"
    )
    code, _, stderr = run(*args, "--strict")
    assert code == 1
    assert stderr.splitlines()[-1] == f"costcalc: error: no repository was found under {registry.host}/acme (--strict)."
    code, _, stderr = run(*args, "--strict", "--quiet")
    assert code == 1 and "warning" not in stderr


def test_usage_init_scans_a_target_with_the_scan_options(registry: RunningRegistry, pusher: Pusher) -> None:
    pusher.image("acme/api", "v1", layers=[b"api layer"])
    pusher.image("acme/web", "v1", layers=[b"web layer"])
    code, stdout, stderr = run("usage", "init", f"{registry.host}/acme", "--repo", "acme/web", "--no-cache")
    assert code == 0, stderr
    assert [line.split(",")[0] for line in stdout.splitlines()[1:]] == ["acme/web", "*"]


@pytest.mark.parametrize("command", [["scan"], ["report"], ["usage", "init"]])
def test_the_scan_options_reach_the_scan_as_one_value(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from costcalc.registry import scan as registry_scan
    from costcalc.registry.options import ScanOptions
    from tests.test_costs import fleet_inventory

    seen: list[tuple[str, ScanOptions]] = []

    def scanned(target: str, options: ScanOptions, **kwargs: object) -> object:
        seen.append((target, options))
        return fleet_inventory()

    monkeypatch.setattr(registry_scan, "run_scan", scanned)
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    options = ["--repo", "acme/api", "--include", "acme/*", "--concurrency", "3", "--http1", "--ca-file", str(pem)]
    result = runner.invoke(
        app,
        [*command, "registry.example.com/acme", *options, "--username", "ci", "--password-stdin", "--no-cache"],
        input="s3cret\n",
    )
    assert result.exit_code == 0, result.stderr
    [(target, got)] = seen
    assert target == "registry.example.com/acme"
    assert (got.repos, got.include, got.concurrency) == (("acme/api",), ("acme/*",), 3)
    assert (got.http1, got.ca_file) == (True, pem)
    assert (got.username, got.password, got.use_cache, got.plain_http) == ("ci", "s3cret", False, False)
    assert "s3cret" not in result.stdout + result.stderr


def test_pricing_list_keeps_the_name_of_a_book_whose_name_has_an_ellipsis(tmp_path: Path) -> None:
    path = tmp_path / "trimmed.toml"
    path.write_text('id = "trimmed"\nextends = "aws-ecr"\nname = "ECR\N{HORIZONTAL ELLIPSIS} negotiated"\n')
    books = [load_book("aws-ecr"), load_book(str(path))]
    text = book_list_text(books, width=120)
    assert "name" in text.splitlines()[2].split()
    assert "ECR\N{HORIZONTAL ELLIPSIS} negotiated" in text
    assert "Amazon ECR (private repositories), us-east-1" in text
