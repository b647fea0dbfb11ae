"""`costcalc usage from-logs`: the usage file it writes, what it says, and what it refuses."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.inventory.file import dumps
from costcalc.inventory.model import build_inventory
from tests.inventory_builders import d, small_fleet

FIXTURES = Path(__file__).parent / "fixtures" / "logs"
TRAIL = FIXTURES / "cloudtrail-ecr.json"
runner = CliRunner()


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(arg) for arg in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.json"
    path.write_text(dumps(small_fleet()), encoding="utf-8")
    return path


def test_cloudtrail_events_and_an_inventory_make_a_usage_file_the_report_takes(tmp_path: Path, inventory: Path) -> None:
    usage = tmp_path / "usage.csv"
    code, stdout, stderr = run("usage", "from-logs", TRAIL, "--inventory", inventory, "-o", usage)
    assert code == 0, stderr
    assert stdout == ""
    # one day of events: 2 cold pulls and 1 warm pull of acme/api, 1 cold pull of acme/web
    assert usage.read_text(encoding="utf-8").splitlines() == [
        "repository,team,source,pulls_per_month,pulls_per_day,deploys_per_month,nodes,tag,platform,"
        "measured_bytes_per_month",
        # one row per source class: 2320 bytes (a cold and a warm pull) in-region, 1710 (a cold
        # pull) from the internet; x 730 / 24 = 70566.7 and 52012.5, made whole to add up to 122579
        "acme/api,,same-region,30.42,,30.42,1,v2,linux/amd64,70567",
        "acme/api,,internet,30.42,,,,v2,linux/amd64,52012",
        "acme/web,,same-region,30.42,,,,latest,linux/amd64,46233",  # pulled by digest: the tag from the inventory
    ]
    assert (
        "costcalc: 4 pulls of 2 repositories in 1 lines of 1 file(s), over 24.00 hours (scaled to a 730-hour "
        "month); 5550 bytes served, 168813 per month" in stderr  # 168812.5, half up
    )
    assert f"costcalc: warning: 1 unreadable lines skipped; the first:\ncostcalc:   {TRAIL}:1: Records[8]" in stderr
    assert "several source classes" not in stderr  # each class has its own row
    code, report, stderr = run("report", inventory, "--usage", usage, "--format", "json")
    assert code == 0, stderr
    data = json.loads(report)
    rows = {row["name"]: row for row in data["rows"]}
    assert rows["acme/api"]["pulls_per_month"] == pytest.approx(30.42 * 3)  # two cold, one warm on one node
    # the internet class is billed as internet egress, the in-region one as same-region
    assert data["totals"]["egress_units_by_class"].keys() == {"internet", "same-region"}
    assert rows["acme/web"]["pulls_per_month"] == pytest.approx(30.42)


def test_json_lists_counts_bytes_and_classes_over_the_period(inventory: Path) -> None:
    code, stdout, stderr = run("usage", "from-logs", TRAIL, "--inventory", inventory, "--format", "json")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["period"] == {
        "start": "2026-11-01T00:00:00Z",
        "end": "2026-11-02T00:00:00Z",
        "hours": 24.0,
        "span_hours": 24.0,
    }
    api, web = data["repositories"]
    assert (api["pulls"], api["cold_pulls"], api["warm_pulls"], api["tags"]) == (3, 2, 1, {"v2": 2, "v1": 1})
    by_class = {part["source"]: part for part in api["classes"]}
    # manifest 500 + config 10 + layers 900 and 300; manifest 500 + config 10 + 900 + 400, then 500 + 10
    assert by_class["internet"]["served_bytes"] == 1710 and by_class["same-region"]["served_bytes"] == 2320
    assert by_class["internet"]["served_bytes_per_month"] == 52013  # 1710 x 730 / 24 = 52012.5, half up
    assert (web["served_bytes"], web["unknown_size_requests"]) == (1520, 0)
    assert data["files"] == [
        {"path": str(TRAIL), "log_format": "cloudtrail", "lines": 1, "requests": 15, "bad_lines": 1}
    ]
    assert data["bad_lines"]["count"] == 1


def test_without_an_inventory_cloudtrail_bytes_are_unknown_and_it_says_so() -> None:
    code, stdout, stderr = run("usage", "from-logs", TRAIL, "--format", "json", "--network", "office=203.0.113.0/24")
    assert code == 0, stderr
    api = json.loads(stdout)["repositories"][0]
    assert (api["served_bytes"], api["unknown_size_requests"], api["cold_pulls"]) == (0, 10, 2)
    assert {part["source"] for part in api["classes"]} == {"office", "same-region"}
    assert "14 downloads have no size in the logs; give --inventory for their sizes" in stderr.replace("\n", " ")


def test_nothing_is_written_when_nothing_could_be_read(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("not a log\nat all\n", encoding="utf-8")
    out = tmp_path / "usage.csv"
    code, stdout, stderr = run("usage", "from-logs", log, "-o", out)
    assert code == 1 and not out.exists() and stdout == ""
    assert stderr.splitlines() == [
        "costcalc: error: nothing readable in 2 lines of 1 file(s) (1 unreadable); nothing written.",
        f"costcalc: error: unreadable: {log}:1: not a registry access log, logrus log or CloudTrail file",
    ]


def test_a_log_with_no_downloads_writes_nothing(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text('127.0.0.1 - - [07/Dec/2026:08:37:30 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl"\n', encoding="utf-8")
    code, _, stderr = run("usage", "from-logs", log, "-o", tmp_path / "usage.csv")
    assert code == 1 and "no manifest or blob downloads in 1 lines" in stderr
    assert not (tmp_path / "usage.csv").exists()


def test_a_short_log_is_scaled_with_a_warning_and_a_given_period_is_used_as_it_is(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        '10.0.0.1 - - [07/Dec/2026:08:00:00 +0000] "GET /v2/a/manifests/v1 HTTP/1.1" 200 5 "" "c"\n'
        '10.0.0.2 - - [07/Dec/2026:14:00:00 +0000] "GET /v2/a/manifests/v1 HTTP/1.1" 200 5 "" "c"\n',
        encoding="utf-8",
    )
    code, stdout, stderr = run("usage", "from-logs", log)
    assert (
        code == 0 and stdout.splitlines()[1] == "a,,same-region,0,,243.33,1,v1,,1217"
    )  # 2 pulls in 6 hours, no blobs: warm
    assert "warning: the logs span 6.00 hours, under a day" in stderr
    code, stdout, stderr = run("usage", "from-logs", log, "--period", "30d")
    assert code == 0 and stdout.splitlines()[1] == "a,,same-region,0,,2.03,1,v1,,10"
    assert "under a day" not in stderr
    code, stdout, stderr = run("usage", "from-logs", log, "--period", "soon")
    assert code == 1 and "--period: 'soon' is not a duration such as 36h or 7d." in stderr


def test_requests_all_at_one_instant_need_a_period(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text('10.0.0.1 - - [07/Dec/2026:08:00:00 +0000] "GET /v2/a/manifests/v1 HTTP/1.1" 200 5 "" "c"\n')
    code, _, stderr = run("usage", "from-logs", log)
    assert code == 1 and "give the time they cover with --period" in stderr
    code, stdout, _ = run("usage", "from-logs", log, "--period", "730h")
    assert code == 0 and stdout.splitlines()[1] == "a,,same-region,0,,1,1,v1,,5"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--network", "10.0.0.0/8"], "--network 10.0.0.0/8: network: '10.0.0.0/8' is not CLASS=CIDR"),
        (["--network-file", "missing.txt"], "missing.txt: no such networks file."),
        (["--inventory", "missing.json"], "missing.json"),
    ],
)
def test_bad_options_are_one_sentence_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr = run("usage", "from-logs", TRAIL, *extra, "-o", "usage.csv")
    assert code == 1 and stdout == "" and message in stderr and "Traceback" not in stderr
    assert not (tmp_path / "usage.csv").exists()


def test_the_output_never_replaces_an_input_and_no_file_is_counted_twice(tmp_path: Path) -> None:
    log = tmp_path / "trail.json"
    shutil.copy(TRAIL, log)
    code, _, stderr = run("usage", "from-logs", log, "-o", log)
    assert code == 1 and "is the FILE file this command reads" in stderr
    assert log.read_bytes() == TRAIL.read_bytes()
    code, _, stderr = run("usage", "from-logs", log, tmp_path / "." / "trail.json")
    assert code == 1 and "given twice (its pulls would be counted twice)" in stderr


def test_a_networks_file_classes_the_clients(tmp_path: Path, inventory: Path) -> None:
    networks = tmp_path / "networks.txt"
    networks.write_text("# the VPC's subnets\nvpc-a = 10.0.1.0/24\n\nvpc-b=10.0.2.0/24  # web\n", encoding="utf-8")
    code, stdout, stderr = run("usage", "from-logs", TRAIL, "--network-file", networks, "--format", "json")
    assert code == 0, stderr
    sources = {r["repository"]: sorted(p["source"] for p in r["classes"]) for r in json.loads(stdout)["repositories"]}
    assert sources == {"acme/api": ["internet", "vpc-a"], "acme/web": ["vpc-b"]}


def test_rotated_files_are_read_together_over_their_whole_span(tmp_path: Path) -> None:
    def line(day: int, uri: str, size: int) -> str:
        return f'10.0.0.1 - - [{day:02d}/Dec/2026:08:00:00 +0000] "GET {uri} HTTP/1.1" 200 {size} "" "c"\n'

    blob = "/v2/a/blobs/sha256:" + "ef" * 32
    older = tmp_path / "access.log.1.gz"
    older.write_bytes(gzip.compress((line(1, "/v2/a/manifests/v1", 5) + line(1, blob, 95)).encode()))
    newer = tmp_path / "access.log"
    newer.write_text(line(3, "/v2/a/manifests/v1", 5) + line(3, blob, 95), encoding="utf-8")
    code, stdout, stderr = run("usage", "from-logs", older, newer, "--format", "json", "--log-format", "combined")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["period"]["hours"] == 48.0
    assert (data["repositories"][0]["cold_pulls"], data["repositories"][0]["served_bytes"]) == (2, 200)
    assert [f["lines"] for f in data["files"]] == [2, 2]


def test_a_proxy_log_of_pulls_redirected_to_storage_is_sized_from_the_inventory(inventory: Path) -> None:
    # docker and containerd resolve the tag with HEAD, GET the manifest by digest, and are
    # sent to object storage for each blob (307): the inventory gives the bytes storage sent
    log = FIXTURES / "nginx-proxy.log"
    code, stdout, stderr = run("usage", "from-logs", log, "--inventory", inventory, "--format", "json")
    assert code == 0, stderr
    (api,) = json.loads(stdout)["repositories"]
    assert (api["cold_pulls"], api["warm_pulls"], api["tags"], api["platform"]) == (1, 1, {"v2": 2}, "linux/amd64")
    by_class = {part["source"]: (part["pulls"], part["served_bytes"]) for part in api["classes"]}
    assert by_class == {"internet": (1, 500 + 10 + 900 + 400), "same-region": (1, 500 + 10)}
    assert f"costcalc:   {log}:9: not a combined or common log line" in stderr


def test_help_names_the_formats_and_the_network_option() -> None:
    code, stdout, _ = run("usage", "from-logs", "--help")
    assert code == 0 and "Traceback" not in stdout
    assert "CLASS=CIDR" in stdout and "cloudtrail" in stdout and "--period" in stdout


def test_an_output_file_ending_in_json_gets_json(tmp_path: Path) -> None:
    out = tmp_path / "measured.json"
    code, stdout, stderr = run("usage", "from-logs", TRAIL, "-o", out)
    assert code == 0, stderr
    assert stdout == ""
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["bad_lines"]["count"] == 1
    assert [f["path"] for f in data["files"]] == [str(TRAIL)]


def test_a_format_that_conflicts_with_the_output_extension_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "usage.csv"
    code, stdout, stderr = run("usage", "from-logs", TRAIL, "--format", "json", "-o", out)
    assert code == 2 and not out.exists() and stdout == ""
    assert stderr == (
        f"costcalc: error: --format json conflicts with -o {out}, whose extension asks for csv; drop one.\n"
    )


def test_an_output_extension_naming_another_format_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "usage.md"
    code, _, stderr = run("usage", "from-logs", TRAIL, "-o", out)
    assert code == 2 and not out.exists()
    assert stderr == f"costcalc: error: -o {out}: its extension asks for markdown; this command writes csv or json.\n"


def test_a_line_with_odd_digits_is_one_bad_line_and_the_others_are_counted(tmp_path: Path) -> None:
    def line(hour: int, status: str = "200", size: str = "5") -> str:
        request = '"GET /v2/a/manifests/v1 HTTP/1.1"'
        return f'10.0.0.1 - - [07/Dec/2026:{hour:02d}:00:00 +0000] {request} {status} {size} "" "c"\n'

    log = tmp_path / "access.log"
    # the first line is also the one the format is told by
    log.write_text(line(0, size="5²") + line(1) + line(2, status="2²0") + line(3, status="٢٠٠") + line(6), "utf-8")
    code, stdout, stderr = run("usage", "from-logs", log, "--format", "json")
    assert code == 0, stderr
    assert "Traceback" not in stderr and "unexpected" not in stderr
    data = json.loads(stdout)
    assert data["files"][0]["log_format"] == "combined"
    assert (data["bad_lines"]["count"], data["repositories"][0]["pulls"]) == (3, 2)
    assert data["bad_lines"]["examples"][0] == f"{log}:1: size: '5²' is not a byte count"


def test_tags_that_begin_with_sha_are_tags_not_digests(tmp_path: Path) -> None:
    # docker/metadata-action tags images sha-<commit>; cosign's referrer tags are sha256-<hex>.sig
    fleet = small_fleet()
    tags = {repo.name: [(ref.tag, ref.digest) for ref in repo.tags] for repo in fleet.repositories}
    signature = "sha256-" + "ab" * 32 + ".sig"
    tags["acme/api"] += [("sha-1a2b3c4", d("api1")), (signature, d("api2"))]
    inventory = tmp_path / "inventory.json"
    inventory.write_text(dumps(build_inventory("r.example", "acme", fleet.scanned_at, tags, fleet.manifests)), "utf-8")

    def line(second: int, what: str, size: int = 500) -> str:
        request = f'"GET /v2/acme/api/{what} HTTP/1.1"'
        return f'10.0.0.1 - - [07/Dec/2026:08:00:{second:02d} +0000] {request} 200 {size} "" "c"\n'

    log = tmp_path / "access.log"
    log.write_text(
        line(0, "manifests/v1")
        + line(5, "manifests/sha-1a2b3c4")  # another pull right after, not the platform manifest of the first
        + line(6, f"blobs/{d('capi1')}", 10)
        + line(30, f"manifests/{signature}"),
        "utf-8",
    )
    code, stdout, stderr = run("usage", "from-logs", log, "--inventory", inventory, "--format", "json")
    assert code == 0, stderr
    (api,) = json.loads(stdout)["repositories"]
    assert (api["pulls"], api["tags"]) == (3, {"sha-1a2b3c4": 1, signature: 1, "v1": 1})
    # each tag resolved through the inventory to its image's platform
    assert (api["platforms"], api["served_bytes"]) == ({"linux/amd64": 3}, 1510)


def test_periods_far_beyond_any_log_give_figures_or_one_sentence(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        '10.0.0.1 - - [07/Dec/2026:08:00:00 +0000] "GET /v2/a/manifests/v1 HTTP/1.1" 200 5 "" "c"\n'
        '10.0.0.2 - - [07/Dec/2026:14:00:00 +0000] "GET /v2/a/manifests/v1 HTTP/1.1" 200 5 "" "c"\n',
        encoding="utf-8",
    )
    code, stdout, stderr = run("usage", "from-logs", log, "--format", "json", "--period", "9" * 23 + "h")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["period"]["hours"] == 1e23 and data["repositories"][0]["classes"][0]["deploys_per_month"] == 0
    code, stdout, stderr = run("usage", "from-logs", log, "--period", "0." + "0" * 26 + "1h")
    assert code == 0, stderr  # 2 warm pulls in 10^-27 hours: 1.46 x 10^30 a month
    assert stdout.splitlines()[1] == "a,,same-region,0,,146" + "0" * 28 + ",1,v1,,73" + "0" * 29
    for output_format in ("json", "csv"):
        for period in ("1" + "0" * 60 + "h", "0." + "0" * 60 + "1h"):
            code, stdout, stderr = run("usage", "from-logs", log, "--format", output_format, "--period", period)
            assert (code, stdout) == (1, "") or code == 0, stderr
            assert "unexpected" not in stderr and "Traceback" not in stderr
            if code == 1:
                assert stderr.count("costcalc: error:") == 1 and "too large to compute exactly" in stderr


@pytest.mark.parametrize(
    ("log_format", "first", "problem"),
    [
        ("combined", "01/Jan/0001:00:00:00 +0100", "time: '01/Jan/0001:00:00:00 +0100' is not a log time"),
        ("combined", "31/Dec/9999:23:59:59 -0100", "time: '31/Dec/9999:23:59:59 -0100' is not a log time"),
        # a float cannot tell this time from 10000-01-01T00:00:00Z
        ("logrus", "9999-12-31T23:59:59.99999Z", "time: '9999-12-31T23:59:59.99999Z' is out of range"),
    ],
)
def test_a_time_outside_the_calendar_in_utc_is_a_bad_line(
    tmp_path: Path, log_format: str, first: str, problem: str
) -> None:
    def line(when: str) -> str:
        if log_format == "combined":
            return f'10.0.0.1 - - [{when}] "GET /v2/a/manifests/v1 HTTP/1.1" 200 5 "" "c"\n'
        return (
            f'time="{when}" level=info msg="response completed" http.request.method=GET '
            "http.request.remoteaddr=10.0.0.1 http.request.uri=/v2/a/manifests/v1 http.response.status=200\n"
        )

    log = tmp_path / "access.log"
    text = line(first)
    if log_format == "combined":
        text += line("07/Dec/2026:08:00:00 +0000") + line("08/Dec/2026:08:00:00 +0000")
    else:
        text += line("2026-12-07T08:00:00Z") + line("2026-12-08T08:00:00Z")
    log.write_text(text, encoding="utf-8")
    code, stdout, stderr = run("usage", "from-logs", log, "--format", "json")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert (data["period"]["start"], data["period"]["hours"]) == ("2026-12-07T08:00:00Z", 24.0)
    assert data["bad_lines"]["examples"] == [f"{log}:1: {problem}"]


def test_the_period_keeps_the_fractions_of_a_second_the_log_has(tmp_path: Path) -> None:
    def line(when: str) -> str:
        return (
            f'time="{when}" level=info msg="response completed" http.request.method=GET '
            "http.request.remoteaddr=10.0.0.1 http.request.uri=/v2/a/manifests/v1 http.response.status=200\n"
        )

    log = tmp_path / "registry.log"
    log.write_text(line("2026-12-07T08:37:30.094308804Z") + line("2026-12-08T08:37:31Z"), encoding="utf-8")
    code, stdout, stderr = run("usage", "from-logs", log, "--format", "json")
    assert code == 0, stderr
    period = json.loads(stdout)["period"]
    assert (period["start"], period["end"]) == ("2026-12-07T08:37:30.094308Z", "2026-12-08T08:37:31Z")
    assert period["span_hours"] == 24.000252  # 86400.905692 seconds
