"""The benchmark command runs end to end on a tiny fleet and writes every figure (not timed)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCAN_FIGURES = {
    "seconds",
    "max_rss_bytes",
    "requests",
    "requests_by_kind",
    "lower_bound_seconds",
    "ratio_to_lower_bound",
    "tags_found",
    "errors",
}


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "latest.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--tiny", "--quiet", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| target | measured | threshold | result |" in done.stdout
    return json.loads(out.read_text())


@pytest.mark.registry
def test_every_figure_is_written(figures: dict) -> None:
    assert {
        "machine",
        "parameters",
        "fleet",
        "cold",
        "warm",
        "concurrency",
        "skopeo",
        "dxf",
        "memory",
        "report",
        "targets",
    } <= figures.keys()
    assert figures["machine"]["nproc"] >= 1 and figures["machine"]["python"]
    for scan in [
        figures["cold"],
        figures["warm"],
        *figures["concurrency"],
        figures["memory"]["narrow"],
        figures["memory"]["wide"],
    ]:
        assert scan.keys() >= SCAN_FIGURES, scan["name"]
        assert scan["seconds"] > 0 and scan["max_rss_bytes"] > 0 and scan["errors"] == 0
    assert [s["concurrency"] for s in figures["concurrency"]] == [1, 4, 16, 64]
    assert figures["memory"]["wide"]["tags"] == 10 * figures["memory"]["narrow"]["tags"]
    report = figures["report"]
    assert [r["tags"] for r in report["runs"]] == [100, 300, 1_000]
    assert all(r["seconds"] > 0 and r["max_rss_bytes"] > 0 for r in report["runs"])
    assert len(report["linearity"]["marginal_seconds_per_1000_tags"]) == 2
    assert all(r["json_load_seconds"] > 0 and len(r["json_load_seconds_of_runs"]) == 3 for r in report["runs"])
    # the schema-2 file of the largest inventory is smaller than the schema-1 file of the same fleet
    assert 0 < report["runs"][-1]["file_bytes"] < report["schema_1_file_bytes"]
    assert report["phases"]["manifests"] == report["runs"][-1]["manifests"]
    assert {t["target"] for t in figures["targets"]} >= {
        "cold-scan requests = the minimum",
        "warm rescan: no manifest or config GET",
        "schema-2 inventory file vs schema 1, 1,000 tags",
        "report on 1,000 tags vs a plain json.load of its file",
        "report on 1,000 tags: peak RSS",
        "report cost linear in tags",
    }


@pytest.mark.registry
def test_the_cold_scan_sends_exactly_the_spec_minimum(figures: dict) -> None:
    fleet, cold = figures["fleet"], figures["cold"]
    assert cold["tags_found"] == fleet["tags"] == 15
    minimum = cold["minimum"]
    assert minimum["unexpected_requests"] == {}
    assert cold["requests_by_kind"]["HEAD manifest"] == fleet["tags"]
    assert cold["requests_by_kind"]["GET manifest"] == fleet["distinct_manifests"]
    assert cold["requests_by_kind"]["GET blob"] == fleet["distinct_configs"]
    assert cold["requests"] == minimum["minimum_requests"]
    assert minimum["equal"] is True


@pytest.mark.registry
def test_the_warm_rescan_fetches_no_manifest_or_config(figures: dict) -> None:
    counts = figures["warm"]["requests_by_kind"]
    assert counts.get("GET manifest", 0) == 0 and counts.get("GET blob", 0) == 0
    assert figures["warm"]["requests"] == figures["warm"]["minimum_warm_requests"]


@pytest.mark.registry
def test_the_replays_send_the_scans_requests(figures: dict) -> None:
    # The replays are the floor the scans are compared with: the same requests, kind by kind.
    for cold, warm in (
        (figures["bare_replay"], figures["bare_replay_warm"]),
        (figures["socket_replay"], figures["socket_replay_warm"]),
    ):
        assert cold["requests_by_kind"] == figures["cold"]["requests_by_kind"]
        assert warm["requests_by_kind"] == figures["warm"]["requests_by_kind"]
        assert len(cold["seconds_of_runs"]) == len(warm["seconds_of_runs"]) == 3
    named = {t["target"] for t in figures["targets"]}
    assert "(context) replayed on RegistryClient: cold requests vs warm requests" in named
    assert "(context) its requests on plain sockets vs lower bound (the machine's floor)" in named


@pytest.mark.registry
def test_page_cache_refaults_are_counted_for_each_repeated_run(figures: dict) -> None:
    vmstat = Path("/proc/vmstat")
    counted = vmstat.exists() and "workingset_refault_file " in vmstat.read_text()
    for entry in (figures["cold"], figures["warm"], figures["bare_replay"], figures["report"]["runs"][-1]):
        counts = entry["refaulted_file_pages_of_runs"]
        assert len(counts) == 3
        assert all(isinstance(c, int) and c >= 0 for c in counts) if counted else counts == [None] * 3


@pytest.mark.registry
def test_the_tools_of_today_ran_through_the_same_proxy(figures: dict) -> None:
    skopeo, dxf = figures["skopeo"], figures["dxf"]
    # .ci/run installs both; a machine without them fails here rather than skipping silently.
    assert shutil.which("skopeo") is not None, "the comparison needs skopeo (apt-get install skopeo)"
    assert importlib.util.find_spec("dxf") is not None, "the comparison needs python-dxf (pip)"
    assert skopeo["available"] and skopeo["failures"] == 0 and skopeo["tags_run"] == 15
    assert skopeo["requests"] >= 15
    assert dxf["available"] and dxf["manifests_fetched"] == 15
    # both tools are compared with the cold scan in the targets table, as measured speed-ups
    speedups = {t["target"]: t["measured"] for t in figures["targets"]}
    cold_seconds = figures["cold"]["seconds"]
    assert speedups["cold scan vs skopeo loop"] == f"{skopeo['seconds'] / cold_seconds:.1f}x faster"
    dxf_line = "(context) cold scan vs python-dxf manifest loop (which fetches no config)"
    assert speedups[dxf_line] == f"{dxf['seconds'] / cold_seconds:.1f}x faster"


@pytest.mark.registry
def test_the_fleet_report_is_measured_on_fleets_of_many_inventories(figures: dict) -> None:
    fleet = figures["fleet_report"]
    runs = [*fleet["linearity"]["runs"], *fleet["inventories"]["runs"], *fleet["manifests"]["runs"]]
    for run in runs:
        assert run["seconds"] > 0 and run["cpu_seconds"] > 0 and run["max_rss_bytes"] > 0, run["name"]
        # the report counted every tag and manifest the fleet's files hold
        assert (run["reported_tags"], run["reported_manifests"]) == (run["tags"], run["manifests"]), run["name"]
    linear = fleet["linearity"]["runs"]
    assert [run["tags"] for run in linear] == [1_000, 2_000, 4_000]
    assert {run["inventories"] for run in linear} == {5} and {run["registries"] for run in linear} == {5}
    assert len(fleet["linearity"]["marginal_seconds_per_1000_tags"]) == 2
    # one fleet written as 1 and as 5 files: the same tags, manifests and blobs
    split = fleet["inventories"]["runs"]
    assert [run["inventories"] for run in split] == [1, 5]
    assert len({(run["tags"], run["manifests"], run["blobs"]) for run in split}) == 1
    # the same tags with twice the distinct manifests
    fewer, more = fleet["manifests"]["runs"]
    assert fewer["tags"] == more["tags"] and more["manifests"] == 2 * fewer["manifests"]
    named = {t["target"] for t in figures["targets"]}
    assert any(name.startswith("fleet report CPU time linear in tags") for name in named)
    assert any(name.startswith("fleet report peak RSS, 1,000 tags as 5 vs 1 inventories") for name in named)
