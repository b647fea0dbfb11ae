"""`costcalc report` and `costcalc usage init` end to end: formats, exit codes, nothing written on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.inventory.file import dumps
from tests.registryd import Pusher, RunningRegistry
from tests.test_costs import fleet_inventory

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FLEET = str(EXAMPLES / "fleet.json")
USAGE = str(EXAMPLES / "usage.csv")
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def inventory_file(tmp_path: Path) -> Path:
    path = tmp_path / "inv.json"
    path.write_text(dumps(fleet_inventory()), encoding="utf-8")
    return path


def test_readme_main_command_runs_from_any_directory_with_the_installed_script(tmp_path: Path) -> None:
    script = shutil.which("costcalc") or str(Path(sys.executable).parent / "costcalc")
    assert Path(script).exists(), "the costcalc console script is not installed: pip install -e ."
    done = subprocess.run(
        [script, "report", FLEET, "--usage", USAGE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "costcalc report: registry.example.com/acme" in done.stdout
    assert "Total per month" in done.stdout and "acme/ml/recommender" in done.stdout
    assert "acme/data/legacy-batch: no pull data" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown", "html"])
def test_every_format_writes_to_a_file_atomically(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    code, stdout, stderr = run("report", FLEET, "--usage", USAGE, "--format", fmt, "-o", str(out))
    assert code == 0, stderr
    assert stdout == "" and out.read_text(encoding="utf-8")
    assert "costcalc: warning: acme/data/legacy-batch: no pull data" in stderr
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_json_report_shape() -> None:
    code, stdout, _ = run("report", FLEET, "--usage", USAGE, "--format", "json", "--months", "24")
    assert code == 0
    data = json.loads(stdout, parse_float=Decimal)
    assert list(data)[:3] == ["schema_version", "generated_at", "tool_version"]
    assert {"id", "name", "effective_date", "sources", "currency", "unit"} <= set(data["pricing"])
    assert set(data["totals"]) >= {
        "storage_bytes",
        "unit",
        "billable_storage_units",
        "storage_cost",
        "egress_bytes",
        "egress_units_by_class",
        "egress_cost_by_class",
        "egress_cost",
        "monthly_cost",
        "horizon_cost",
    }
    # the horizon is the sum of the 24 months, month 1 starting from today's inventory
    assert len(data["monthly"]) == 24 and data["monthly"][0]["monthly_cost"] >= data["totals"]["monthly_cost"]
    assert data["totals"]["horizon_cost"] == sum(m["monthly_cost"] for m in data["monthly"])
    assert set(data["rows"][0]) >= {
        "name",
        "tags",
        "unique_bytes",
        "attributed_bytes",
        "image_bytes",
        "pulls_per_month",
        "egress_bytes",
        "storage_cost",
        "egress_cost",
        "monthly_cost",
        "team",
    }
    assert data["source"] == FLEET and data["inventory"]["repositories"] == 29


def test_json_quantities_are_in_the_unit_they_name() -> None:
    """Billed quantities sit beside their unit, per book: GiB for aws-ecr, GB for cloudflare-r2."""
    code, stdout, _ = run(
        "report", FLEET, "--usage", USAGE, "--format", "json", "--pricing", "aws-ecr", "--pricing", "cloudflare-r2"
    )
    assert code == 0
    data = json.loads(stdout, parse_float=Decimal)
    assert data["schema_version"] == 2
    assert not [key for key in data["totals"] if key.endswith("_gb") or "_gb_" in key]
    bytes_per_unit = {"GiB": 2**30, "GB": 10**9}
    seen = []
    books = [(data["pricing"], data["totals"])] + [(c["pricing"], c["totals"]) for c in data["comparison"]]
    for pricing, totals in books:
        unit = totals["unit"]
        seen.append(unit)
        assert unit == pricing["unit"]
        expected = Decimal(totals["storage_bytes"]) / bytes_per_unit[unit]
        assert abs(totals["billable_storage_units"] - expected) <= Decimal("0.00005")
        egress_units = sum(totals["egress_units_by_class"].values())
        assert abs(egress_units - Decimal(totals["egress_bytes"]) / bytes_per_unit[unit]) <= Decimal("0.0002")
    assert seen == ["GiB", "GB"]
    assert data["comparison"][0]["pricing"]["notes"], "cloudflare-r2's caveats are in the JSON"


def test_json_rows_flag_unknown_egress() -> None:
    code, stdout, _ = run("report", FLEET, "--usage", USAGE, "--format", "json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(stdout)["rows"]}
    unknown, known = rows["acme/data/legacy-batch"], rows["acme/api/gateway"]
    assert (unknown["egress_known"], unknown["egress_partial"], unknown["egress_cost"]) == (False, True, None)
    assert (known["egress_known"], known["egress_partial"]) == (True, False)


def test_group_by_team_and_top(inventory_file: Path, tmp_path: Path) -> None:
    usage = tmp_path / "u.csv"
    usage.write_text("repository,team,pulls_per_month\nacme/api,red,10\nacme/web,red,5\n*,blue,1\n")
    code, stdout, _ = run(
        "report",
        str(inventory_file),
        "--usage",
        str(usage),
        "--group-by",
        "team",
        "--format",
        "json",
        "--pricing",
        "aws-ecr",
    )
    assert code == 0
    assert sorted(r["name"] for r in json.loads(stdout)["rows"]) == ["blue", "red"]
    code, stdout, _ = run("report", str(inventory_file), "--usage", str(usage), "--top", "1", "--width", "100")
    assert code == 0 and "Top 1 of 3 by monthly cost" in stdout


def test_several_price_books_are_compared(inventory_file: Path) -> None:
    code, stdout, _ = run(
        "report", str(inventory_file), "--pricing", "aws-ecr", "--pricing", "azure-acr-basic", "--format", "json"
    )
    assert code == 0
    data = json.loads(stdout)
    assert data["pricing"]["id"] == "aws-ecr"
    assert [c["pricing"]["id"] for c in data["comparison"]] == ["azure-acr-basic"]


@pytest.mark.parametrize("classes", [("cross-region", "internet"), ("internet", "cross-region")])
def test_a_compared_book_prices_every_egress_class_of_a_repository(
    inventory_file: Path, tmp_path: Path, classes: tuple[str, str]
) -> None:
    """azure-acr-basic has no cross-region class: those bytes join internet's, none are dropped."""
    usage = tmp_path / "u.csv"
    usage.write_text("repository,source,pulls_per_month\n" + "".join(f"acme/api,{c},1\n" for c in classes))
    code, stdout, stderr = run(
        "report",
        str(inventory_file),
        "--usage",
        str(usage),
        "--pricing",
        "aws-ecr",
        "--pricing",
        "azure-acr-basic",
        "--format",
        "json",
    )
    assert code == 0, stderr
    data = json.loads(stdout)
    (compared,) = data["comparison"]
    assert set(data["totals"]["egress_units_by_class"]) == {"cross-region", "internet"}
    assert list(compared["totals"]["egress_units_by_class"]) == ["internet"]
    assert compared["totals"]["egress_bytes"] == data["totals"]["egress_bytes"] > 0
    assert (
        "azure-acr-basic has no cross-region egress class: those pulls are billed as internet egress."
        in (compared["assumptions"])
    )


def test_scenarios_are_projected(inventory_file: Path, tmp_path: Path) -> None:
    usage = tmp_path / "u.csv"
    usage.write_text("repository,source,pulls_per_month\n*,internet,1000\n")
    code, stdout, stderr = run(
        "report",
        str(inventory_file),
        "--usage",
        str(usage),
        "--format",
        "json",
        "--scenario",
        "ratio:0.5",
        "--scenario",
        "colocate:50",
    )
    assert code == 0, stderr
    ids = [s["id"] for s in json.loads(stdout)["scenarios"]]
    assert ids[-1] == "combined" and len(ids) == 3


def test_fail_above_writes_then_exits_3(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code, _, stderr = run("report", FLEET, "--usage", USAGE, "--format", "json", "-o", str(out), "--fail-above", "1")
    assert code == 3 and out.exists()
    assert "is above --fail-above 1 USD" in stderr
    code, _, _ = run("report", FLEET, "--usage", USAGE, "--format", "json", "-o", str(out), "--fail-above", "1000000")
    assert code == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--fail-above", "lots"],
        ["--fail-above", "-5"],
        ["--months", "0"],
        ["--top", "0"],
        ["--format", "pdf"],
        ["--group-by", "colour"],
        ["--username", "u"],
    ],
)
def test_bad_command_lines_exit_2(args: list[str]) -> None:
    code, _, _ = run("report", FLEET, *args)
    assert code == 2


BAD_USAGE = [
    ("repository,pulls_per_month\nacme/api,-1\n", "u.csv:2: pulls_per_month: must be a number >= 0, got '-1'"),
    (
        "repository,pulls_per_month,pulls_per_day\nacme/api,1,1\n",
        "u.csv:2: pulls_per_day: give pulls_per_month or pulls_per_day, not both",
    ),
    (
        "repository,nodes\nacme/api,3\n",
        "u.csv:2: nodes: nodes without deploys_per_month (each deploy is pulled by each node)",
    ),
    (
        "repository,source,pulls_per_month\nacme/api,moon,1\n",
        "u.csv:2: source: unknown egress class 'moon' for price book aws-ecr "
        "(known: internet, same-region, cross-region)",
    ),
    (
        "repository,colour\nacme/api,red\n",
        "u.csv:1: colour: unknown column (known: repository, team, source, pulls_per_month, pulls_per_day, "
        "deploys_per_month, nodes, tag, platform, measured_bytes_per_month)",
    ),
    ("repository,pulls_per_month\nacme/[x,1\n", "u.csv:2: repository: 'acme/[x' is not a valid glob (unclosed '[')"),
    ("repository,pulls_per_month\na/*,1\na/*,2\n", "u.csv:3: repository: duplicate pattern 'a/*' (first on line 2)"),
    (
        "",
        "u.csv:1: file: empty usage file (expected a header row: repository,team,source,pulls_per_month,"
        "pulls_per_day,deploys_per_month,nodes,tag,platform).",
    ),
]


@pytest.mark.parametrize(("text", "problem"), BAD_USAGE)
def test_bad_usage_exits_1_with_the_location_and_writes_nothing(
    tmp_path: Path, inventory_file: Path, text: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("u.csv").write_text(text, encoding="utf-8")
    code, stdout, stderr = run("report", str(inventory_file), "--usage", "u.csv", "-o", "out.json", "--format", "json")
    assert code == 1
    assert stderr.splitlines() == [f"costcalc: error: {problem}"]
    assert stdout == "" and not Path("out.json").exists()


def test_bad_toml_usage_exits_1(tmp_path: Path, inventory_file: Path) -> None:
    usage = tmp_path / "u.toml"
    usage.write_text('[[usage]]\nrepository = "a"\npulls_per_month = [\n', encoding="utf-8")
    code, _, stderr = run("report", str(inventory_file), "--usage", str(usage))
    assert code == 1 and stderr.startswith(f"costcalc: error: {usage}:")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing.json", "missing.json: no such inventory file."),
        ("not a target", "not a target: no such inventory file, and not a registry target (HOST[:PORT][/NAMESPACE])."),
    ],
)
def test_bad_source_exits_1(tmp_path: Path, source: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr = run("report", source)
    assert (code, stdout) == (1, "")
    assert stderr.strip() == f"costcalc: error: {message}"


def test_unknown_price_book_exits_1(inventory_file: Path) -> None:
    code, _, stderr = run("report", str(inventory_file), "--pricing", "no-such-book")
    assert code == 1 and "no-such-book" in stderr and "Traceback" not in stderr


def test_usage_init_writes_a_template_and_never_overwrites(inventory_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "usage.csv"
    code, _, stderr = run("usage", "init", str(inventory_file), "-o", str(out))
    assert code == 0, stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("repository,team,source,pulls_per_month")
    assert [line.split(",")[0] for line in lines[1:]] == ["acme/api", "acme/job", "acme/web", "*"]
    out.write_text("filled in by finance\n")
    code, _, stderr = run("usage", "init", str(inventory_file), "-o", str(out))
    assert code == 1 and "already exists" in stderr
    assert out.read_text() == "filled in by finance\n"
    # the template is accepted as it is: every repository then has unknown egress
    code, stdout, _ = run("usage", "init", str(inventory_file))
    template = tmp_path / "t.csv"
    template.write_text(stdout)
    code, stdout, _ = run("report", str(inventory_file), "--usage", str(template), "--format", "json")
    assert code == 0 and all(r["egress_cost"] is None for r in json.loads(stdout)["rows"])


def test_report_scans_a_target_on_the_fly(registry: RunningRegistry, pusher: Pusher, tmp_path: Path) -> None:
    base = b"shared base layer " * 4000
    pusher.image("acme/api", "latest", [base, b"api v1" * 100])
    pusher.image("acme/web", "latest", [base, b"web" * 300])
    usage = tmp_path / "u.csv"
    usage.write_text("repository,source,pulls_per_month\nacme/api,internet,1000\n", encoding="utf-8")
    code, stdout, stderr = run(
        "report",
        f"{registry.host}/acme",
        "--usage",
        str(usage),
        "--format",
        "json",
        "--pricing",
        "azure-acr-basic",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--quiet",
    )
    assert code == 0, stderr
    data = json.loads(stdout, parse_float=Decimal)
    assert data["registry"] == registry.host and data["namespace"] == "acme"
    rows = {r["name"]: r for r in data["rows"]}
    assert set(rows) == {"acme/api", "acme/web"}
    # the base layer is stored once (registry dedup) and split between the two repositories
    assert data["totals"]["storage_bytes"] == data["inventory"]["unique_bytes"]
    assert rows["acme/web"]["egress_cost"] is None and rows["acme/api"]["pulls_per_month"] == 1000


def _readme_commands() -> list[str]:
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("costcalc ")]


@pytest.mark.parametrize("command", _readme_commands())
def test_examples_readme_commands_work(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = [
        EXAMPLES.joinpath(a.removeprefix("examples/")).as_posix() if a.startswith("examples/") else a
        for a in command.split()[1:]
    ]
    monkeypatch.chdir(tmp_path)  # -o files land here
    code, stdout, stderr = run(*args)
    assert code == 0, stderr
    assert stdout or list(tmp_path.iterdir())


def test_example_toml_usage_is_valid() -> None:
    code, stdout, stderr = run("report", FLEET, "--usage", str(EXAMPLES / "usage.toml"), "--format", "json")
    assert code == 0, stderr
    rows = {r["name"]: r for r in json.loads(stdout)["rows"]}
    assert rows["acme/api/gateway"]["team"] == "api"


def test_a_report_on_an_inventory_file_does_not_import_the_http_stack(tmp_path: Path) -> None:
    # httpx and asyncio take ~0.1 s to import, a fifth of a small report's run.
    code = (
        "import sys\n"
        "from costcalc.cli.app import main\n"
        f"sys.argv = ['costcalc', 'report', {FLEET!r}, '--usage', {USAGE!r}, '--format', 'json', "
        f"'-o', {str(tmp_path / 'r.json')!r}, '--quiet']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in ('httpx', 'asyncio') or m == 'costcalc.registry.scan'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
    assert json.loads((tmp_path / "r.json").read_text())["rows"]
