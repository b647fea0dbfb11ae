"""The scan command's terminal behaviour: --strict, and the progress bar only on a terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.registryd import Pusher, RunningRegistry


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "costcalc", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_strict_exits_1_when_something_was_skipped_and_0_otherwise(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    pusher.image("acme/api", "v1", layers=[b"api layer"])
    cache = ["--cache-dir", str(tmp_path / "cache")]
    ok = run(["scan", f"{registry.host}/acme", "--repo", "acme/api", "--strict", *cache], tmp_path)
    assert ok.returncode == 0, ok.stderr
    skipped = run(
        ["scan", f"{registry.host}/acme", "--repo", "acme/api", "--repo", "acme/missing", "--strict", *cache], tmp_path
    )
    assert skipped.returncode == 1
    lines = skipped.stderr.strip().splitlines()
    assert lines[0].startswith("costcalc: warning: skipped acme/missing: ")
    assert lines[-1] == "costcalc: error: 1 repositories or tags were skipped (--strict)."
    without = run(["scan", f"{registry.host}/acme", "--repo", "acme/api", "--repo", "acme/missing", *cache], tmp_path)
    assert without.returncode == 0


def read_all(fd: int, deadline: float) -> bytes:
    chunks = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks += data
    return chunks


def run_with_terminal_stderr(args: list[str]) -> tuple[int, bytes, bytes]:
    """Run ARGS with stdout a pipe (the result) and stderr a terminal (where progress belongs)."""
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=secondary, env=env)
    os.close(secondary)
    terminal = read_all(primary, time.monotonic() + 60)
    stdout, _ = child.communicate(timeout=60)
    os.close(primary)
    return child.returncode, stdout, terminal


def test_progress_bar_goes_to_a_terminal_and_never_to_a_pipe(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    for index in range(3):
        pusher.image(f"acme/svc{index}", "v1", layers=[b"layer %d" % index])
    args = [sys.executable, "-m", "costcalc", "scan", f"{registry.host}/acme", "--no-cache", "--format", "json"]
    piped = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert piped.returncode == 0 and piped.stderr == ""

    code, stdout, terminal = run_with_terminal_stderr(args)
    assert code == 0
    assert b"3/3 repositories" in terminal, terminal
    assert b'"summary"' in stdout and b"repositories," not in stdout

    code, stdout, terminal = run_with_terminal_stderr([*args, "--quiet"])
    assert code == 0 and terminal == b"" and b'"summary"' in stdout


def test_an_unreachable_registry_is_one_error_sentence_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from costcalc.cli.app import app
    from costcalc.registry import client as registry

    monkeypatch.setattr(registry.random, "uniform", lambda low, high: 0.0)  # no waits between retries
    out = tmp_path / "inventory.json"
    result = CliRunner().invoke(
        app, ["scan", "127.0.0.1:1/acme", "--repo", "acme/a", "--repo", "acme/b", "--no-cache", "-o", str(out)]
    )
    assert result.exit_code == 1, result.output
    [line] = result.output.splitlines()  # one sentence: no summary, no per-repository noise
    assert line.startswith("costcalc: error: 127.0.0.1:1 cannot be reached; GET https://127.0.0.1:1/v2/acme/")
    assert ": ConnectError: " in line and "Connection refused" in line
    assert line.endswith(" (gave up after 5 attempts).")
    assert not out.exists()


def test_scan_output_that_cannot_be_written_is_one_sentence(
    registry: RunningRegistry, pusher: Pusher, tmp_path: Path
) -> None:
    pusher.image("acme/api", "v1", layers=[b"api layer"])
    target = tmp_path / "missing" / "inventory.json"
    result = run(["scan", f"{registry.host}/acme", "--no-cache", "-o", str(target)], tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"costcalc: error: {target}: cannot write the file (No such file or directory)."


def test_without_a_terminal_progress_is_a_line_every_few_seconds(
    registry: RunningRegistry, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import re

    from typer.testing import CliRunner

    from costcalc.cli import scan as scan_command
    from costcalc.cli.app import app

    for index in range(3):
        pusher.image(f"acme/svc{index}", "v1", layers=[b"layer %d" % index])
    args = ["scan", f"{registry.host}/acme", "--no-cache", "--format", "json"]
    monkeypatch.setattr(scan_command, "PROGRESS_INTERVAL_SECONDS", 0.0)  # every event, not every 5 s
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["tags"] == 3
    lines = result.stderr.splitlines()
    line = re.compile(
        r"costcalc: progress: \d/\d repositories, [\d,]+/[\d,]+ tags, [\d,]+ bytes seen, [\d,.]+ tags/s"
        r"(, about [\d,]+ s left)?\."
    )
    assert lines and all(line.fullmatch(text) for text in lines), lines
    assert lines[-1].startswith("costcalc: progress: 3/3 repositories, 3/3 tags, ")
    quiet = CliRunner().invoke(app, [*args, "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
