"""`costcalc scan` and `costcalc report` on Amazon ECR targets, end to end against moto's server.

The command runs as a user runs it (a subprocess), with boto3 pointed at the moto server by
the standard `AWS_ENDPOINT_URL` variable and fake static credentials.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.motoserver import ACCOUNT, REGION, EcrPusher, RunningMoto, aws_environment

PROXY_SCRIPT = Path(__file__).with_name("forward_proxy.py")
ECR_HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def costcalc(moto: RunningMoto, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(aws_environment(home), AWS_ENDPOINT_URL=moto.url, XDG_CACHE_HOME=str(home / "cache"))
    return subprocess.run(
        [sys.executable, "-m", "costcalc", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=120,
        check=False,
    )


def test_scan_of_an_ecr_target_lists_every_repository_and_keeps_untagged_images(
    moto: RunningMoto, tmp_path: Path
) -> None:
    push = EcrPusher(moto.url)
    push.repository("team/api")
    push.repository("team/web")
    v1 = push.image("team/api", "v1", [b"base" * 500, b"one" * 100])
    orphan = push.image("team/api", None, [b"base" * 500, b"zero" * 100])
    web = push.image("team/web", "latest", [b"web" * 300])

    done = costcalc(moto, tmp_path, "scan", f"ecr://{REGION}/team", "-o", "inventory.json", "--quiet")

    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "inventory.json").read_text(encoding="utf-8"))
    assert data["registry"] == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    repositories = {r["name"]: r for r in data["repositories"]}
    assert set(repositories) == {"team/api", "team/web"}  # listed by the API: no --repo needed
    assert [t["digest"] for t in repositories["team/api"]["tags"]] == [v1.digest]
    assert repositories["team/api"]["untagged"] == [orphan.digest]
    assert [t["digest"] for t in repositories["team/web"]["tags"]] == [web.digest]
    assert "testing" not in (tmp_path / "inventory.json").read_text(encoding="utf-8")


def test_report_on_an_ecr_target_counts_untagged_images_in_storage(moto: RunningMoto, tmp_path: Path) -> None:
    push = EcrPusher(moto.url)
    push.repository("solo")
    tagged = push.image("solo", "v2", [b"shared" * 400, b"new" * 200])
    orphan = push.image("solo", None, [b"shared" * 400, b"old" * 250])

    done = costcalc(moto, tmp_path, "report", f"ecr://{REGION}", "--format", "json", "--quiet")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    stored = {**tagged.stored, **orphan.stored}
    assert report["totals"]["storage_bytes"] == sum(stored.values())


def test_a_bad_ecr_region_is_one_sentence(moto: RunningMoto, tmp_path: Path) -> None:
    done = costcalc(moto, tmp_path, "scan", "ecr://not_a_region")
    assert done.returncode == 1
    assert "not an AWS region" in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def proxy_log(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """tests/forward_proxy.py mapping the ECR host name to 127.0.0.1 (whose port 443 is closed):
    its URL and its log of requests. The scan goes no further than this machine."""
    log = tmp_path / "proxy.log"
    process = subprocess.Popen(
        [sys.executable, str(PROXY_SCRIPT), "--log", str(log), "--map", f"{ECR_HOST}=127.0.0.1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on "), line
        yield f"http://127.0.0.1:{line.split()[-1]}", log
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_without_boto3_an_ecr_host_is_scanned_as_any_registry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, proxy_log: tuple[str, Path]
) -> None:
    from typer.testing import CliRunner

    from costcalc.cli import app

    monkeypatch.setitem(sys.modules, "boto3", None)  # what `import boto3` meets without the extra
    # No docker config (and so no ECR credential helper) of the user running the tests, and no
    # DNS: the host is reached through the proxy, which sends it to a closed local port.
    empty = tmp_path / "home"
    empty.mkdir()
    monkeypatch.setenv("HOME", str(empty))
    monkeypatch.setenv("DOCKER_CONFIG", str(empty / ".docker"))
    for variable in ("https_proxy", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    proxy_url, log = proxy_log
    monkeypatch.setenv("HTTPS_PROXY", proxy_url)
    result = CliRunner().invoke(app.app, ["scan", f"{ECR_HOST}/team", "--repo", "team/a", "--no-cache"])
    assert result.exit_code == 1
    # the distribution API's path: the registry host itself is asked, over HTTPS, through the proxy
    assert f"GET https://{ECR_HOST}/v2/team/a/tags/list" in result.output
    seen = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert seen and {(entry["method"], entry["target"]) for entry in seen} == {("CONNECT", f"{ECR_HOST}:443")}
    assert "boto3" not in result.output and "Traceback" not in result.output
