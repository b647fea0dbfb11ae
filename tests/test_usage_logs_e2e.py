"""`usage from-logs` against the real thing: images pulled from `docker-registry` by skopeo, counted from its logs."""

from __future__ import annotations

import gzip
import io
import json
import random
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.usage.file import load_usage
from tests.registryd import Pushed, Pusher, RunningRegistry

pytestmark = pytest.mark.registry


def layer(name: str, size: int) -> bytes:
    """A real gzip tar layer of SIZE random bytes (skopeo checks what it copies into an OCI layout)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = random.Random(name).randbytes(size)  # incompressible: the layer outweighs the config
        entry = tarfile.TarInfo(name)
        entry.size = len(data)
        archive.addfile(entry, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def copy(registry: RunningRegistry, reference: str, destination: str) -> None:
    assert shutil.which("skopeo"), "the end-to-end test needs skopeo (apt-get install skopeo)"
    subprocess.run(
        [
            "skopeo",
            "--override-os",
            "linux",
            "--override-arch",
            "amd64",
            "copy",
            "--src-tls-verify=false",
            f"docker://{registry.host}/{reference}",
            destination,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def full_bytes(image: Pushed) -> int:
    """What a pull with no layer already there downloads: manifest, config, every layer."""
    assert image.config is not None
    return image.size + int(image.config["size"]) + sum(int(blob["size"]) for blob in image.layers)


def warm_bytes(image: Pushed) -> int:
    """What a copy into an OCI layout that has every layer downloads: manifest and config."""
    assert image.config is not None
    return image.size + int(image.config["size"])


def from_logs(*args: str | Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["usage", "from-logs", *map(str, args)])
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout)) if "--format" in args else {"csv": result.stdout}


def test_pulls_and_bytes_read_from_the_registry_logs_equal_the_copies_made(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    api = pusher.image("acme/api", "v1", [layer("base", 40_000), layer("app", 9_000)])
    amd64 = pusher.image("acme/web", None, [layer("web-amd64", 20_000)])
    arm64 = pusher.image("acme/web", None, [layer("web-arm64", 25_000)], platform="linux/arm64")
    web = pusher.index("acme/web", "latest", [amd64, arm64])
    inventory = tmp_path / "inventory.json"
    scanned = CliRunner().invoke(app, ["scan", f"{registry.host}/acme", "--no-cache", "--quiet", "-o", str(inventory)])
    assert scanned.exit_code == 0, scanned.stderr
    # what the scan asked for is not part of the copies: count from here on
    access_start, logrus_start = registry.access_log_offset(), registry.log_path.stat().st_size
    for number in range(3):  # fresh destinations: every layer each time
        copy(registry, "acme/api:v1", f"dir:{tmp_path / f'fresh-api-{number}'}")
    for number in range(2):  # an index: the index, then the amd64 manifest, its config and layer
        copy(registry, "acme/web:latest", f"dir:{tmp_path / f'fresh-web-{number}'}")
    for _ in range(3):  # one OCI layout: the second and third copies find the layers there
        copy(registry, "acme/api:v1", f"oci:{tmp_path / 'layout'}:v1")
    registry.stop()  # every response logged and flushed
    access_log, logrus_log = tmp_path / "access.log", tmp_path / "registry.log"
    access_log.write_bytes(registry.access_log_path.read_bytes()[access_start:])
    logrus_log.write_bytes(registry.log_path.read_bytes()[logrus_start:])

    # the access log's times are to the second: --period 730h makes per-month figures the counts
    data = from_logs(access_log, "--format", "json", "--period", "730h")
    found = {usage["repository"]: usage for usage in data["repositories"]}
    assert (found["acme/api"]["cold_pulls"], found["acme/api"]["warm_pulls"]) == (4, 2)
    assert (found["acme/web"]["cold_pulls"], found["acme/web"]["warm_pulls"]) == (2, 0)
    assert found["acme/api"]["served_bytes"] == 4 * full_bytes(api) + 2 * warm_bytes(api)
    assert found["acme/web"]["served_bytes"] == 2 * (web.size + full_bytes(amd64))
    assert (found["acme/api"]["tags"], found["acme/web"]["tags"]) == ({"v1": 6}, {"latest": 2})
    assert {part["source"] for usage in found.values() for part in usage["classes"]} == {"same-region"}
    assert data["bad_lines"]["count"] == 0 and data["files"][0]["log_format"] == "combined"

    # the registry's logrus log holds the same responses, with times to the nanosecond
    logrus = from_logs(logrus_log, "--format", "json", "--period", "730h")
    assert logrus["files"][0]["log_format"] == "distribution"
    assert logrus["repositories"] == data["repositories"]

    # and the usage file says it in the columns a report reads
    usage_path = tmp_path / "usage.csv"
    csv_text = from_logs(access_log, "--period", "730h", "--inventory", inventory, "-o", usage_path)["csv"]
    assert csv_text == ""
    usage = load_usage(usage_path)
    api_row, web_row = usage.match("acme/api"), usage.match("acme/web")
    assert api_row is not None and web_row is not None
    assert (api_row.pulls_per_month, api_row.deploys_per_month, api_row.nodes, api_row.tag) == (4, 2, 1, "v1")
    # the index's amd64 manifest was fetched: the inventory says which platform that is
    assert (web_row.pulls_per_month, web_row.deploys_per_month, web_row.tag) == (2, None, "latest")
    assert (api_row.platform, web_row.platform) == ("linux/amd64", "linux/amd64")
