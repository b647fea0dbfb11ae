"""Ctrl-C and the unexpected: one sentence and an exit code, never a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from costcalc.cli import app as cli_app
from costcalc.cli import report as report_command
from costcalc.errors import InputError

REPO_ROOT = Path(__file__).resolve().parent.parent
FLEET = str(REPO_ROOT / "examples" / "fleet.json")


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers a byte."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.connected = threading.Event()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.socket.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:  # closed
                return
            self.held.append(connection)
            self.connected.set()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.socket.close()
        for connection in server.held:
            connection.close()


def interrupt_scan(server: SilentServer, tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """Start a scan of SERVER, press Ctrl-C once the scan waits on it, and return how it ended."""
    out = tmp_path / "inventory.json"
    args = [sys.executable, "-m", "costcalc", "scan", f"{server.host}/acme", "--repo", "acme/api", "-o", str(out)]
    # A shell that starts the test run in the background ignores SIGINT, and an ignored signal
    # stays ignored across exec: the scan starts as a terminal starts it, with SIGINT handled
    # here for the moment (a handled signal is back at its default in the child).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        child = subprocess.Popen(
            [*args, "--cache-dir", str(tmp_path / "cache"), *options],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        assert server.connected.wait(60), "the scan never reached the server"
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != "cache"] == []  # no temporary file left
    return subprocess.CompletedProcess(args, child.returncode, stdout, stderr)


def test_ctrl_c_during_a_scan_is_one_sentence_and_exit_130(silent_server: SilentServer, tmp_path: Path) -> None:
    done = interrupt_scan(silent_server, tmp_path)
    assert (done.returncode, done.stdout) == (130, "")
    assert done.stderr == "costcalc: interrupted; the cache keeps what was fetched.\n"


def test_ctrl_c_during_a_scan_without_cache_says_nothing_was_written(
    silent_server: SilentServer, tmp_path: Path
) -> None:
    done = interrupt_scan(silent_server, tmp_path, "--no-cache")
    assert (done.returncode, done.stdout) == (130, "")
    assert done.stderr == "costcalc: interrupted; nothing was written.\n"


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["costcalc", *args])
    with pytest.raises(SystemExit) as ended:
        cli_app.main()
    return int(ended.value.code or 0)


def test_ctrl_c_while_a_report_is_built_is_one_sentence_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def pressed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(report_command, "build_report", pressed)
    out = tmp_path / "report.json"
    assert run_main(monkeypatch, "report", FLEET, "-o", str(out)) == 130
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "costcalc: interrupted; nothing was written.\n")
    assert list(tmp_path.iterdir()) == []


def test_an_unexpected_error_is_one_sentence_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(report_command, "build_report", broken)
    monkeypatch.delenv(cli_app.DEBUG_VARIABLE, raising=False)
    assert run_main(monkeypatch, "report", FLEET) == 1
    err = capsys.readouterr().err
    assert err == (
        "costcalc: error: unexpected ZeroDivisionError: division by zero. This is a bug in costcalc; "
        "run again with COSTCALC_DEBUG=1 to see where it happened, and report it.\n"
    )
    monkeypatch.setenv(cli_app.DEBUG_VARIABLE, "1")
    monkeypatch.setattr(sys, "argv", ["costcalc", "report", FLEET])
    with pytest.raises(ZeroDivisionError):
        cli_app.main()


def test_every_costcalc_error_is_one_sentence_per_problem_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise InputError("a.csv:2: x: first", ["a.csv:2: x: first", "a.csv:3: y: second"])

    monkeypatch.setattr(report_command, "build_report", refused)
    assert run_main(monkeypatch, "report", FLEET) == 1
    assert capsys.readouterr().err == "costcalc: error: a.csv:2: x: first\ncostcalc: error: a.csv:3: y: second\n"


def test_a_closed_pipe_on_stdout_ends_quietly(tmp_path: Path) -> None:
    reader, writer = os.pipe()
    os.close(reader)
    done = subprocess.run(
        [sys.executable, "-m", "costcalc", "report", FLEET, "--format", "json", "--quiet"],
        stdout=writer,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )
    os.close(writer)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
