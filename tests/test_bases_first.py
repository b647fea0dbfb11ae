"""`report --bases FILE` is read before any SOURCE is scanned: a mistake in it is said at once."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

# Long enough for the command to start and fail on its inputs; far shorter than a scan of a
# registry that never answers, which waits on the network.
TIMEOUT_SECONDS = 30


def report_against_silent_registry(tmp_path: Path, bases: Path) -> subprocess.CompletedProcess[str]:
    """`report SOURCE --bases BASES` where SOURCE takes connections and never answers a byte;
    fails the test if the command connected to SOURCE."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connections wait in the backlog
        port = silent.getsockname()[1]
        args = [sys.executable, "-m", "costcalc", "report", f"127.0.0.1:{port}/acme", "--plain-http"]
        args += ["--no-cache", "--bases", str(bases), "--quiet"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, cwd=tmp_path)
        silent.setblocking(False)
        try:
            connection, _ = silent.accept()
        except BlockingIOError:
            return done  # nobody knocked: the SOURCE was never scanned
        connection.close()
        raise AssertionError("the SOURCE was scanned before --bases was read")


def test_a_missing_bases_file_is_said_before_a_source_is_scanned(tmp_path: Path) -> None:
    missing = tmp_path / "bases.json"
    done = report_against_silent_registry(tmp_path, missing)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"costcalc: error: {missing}: no such inventory file.\n"


def test_a_bases_file_that_is_no_inventory_is_said_before_a_source_is_scanned(tmp_path: Path) -> None:
    bases = tmp_path / "bases.json"
    bases.write_text("{not json", encoding="utf-8")
    done = report_against_silent_registry(tmp_path, bases)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"costcalc: error: {bases}")
    assert "Traceback" not in done.stderr
