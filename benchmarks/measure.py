"""Measuring one command: wall time, CPU seconds and its own peak RSS; the latency proxy as a
process of its own; the machine the figures come from."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


# Cold scans (a fresh cache each), warm rescans, the bare replays and each report are run this
# many times and the median run is reported with every run's wall time: single wall times on
# a shared 2-core machine move by tens of percent between runs (docs/performance.md, Caveats).
REPEATS = 3


@dataclass
class Run:
    """One finished subprocess: exit status, wall seconds, peak RSS in bytes, its output."""

    returncode: int
    seconds: float
    max_rss_bytes: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0
    # Page-cache pages read back from disk, machine-wide, while it ran (None: not on this kernel).
    refaulted_file_pages: int | None = None


# Linux gives a child the RSS high-water mark of the address space it replaced at exec, and a
# vfork()ed child replaces its parent's: wait4() from this (large) process would report this
# process's peak as the child's. A small launcher in between starts the measured command and
# reports its figures, so they are the command's own.
_LAUNCHER = """
import json, os, subprocess, sys, time
argv, report = json.loads(sys.argv[1]), sys.argv[2]
started = time.perf_counter()
process = subprocess.Popen(argv)
_, status, usage = os.wait4(process.pid, 0)
seconds = time.perf_counter() - started
with open(report, "w") as handle:
    json.dump({"status": status, "seconds": seconds, "maxrss_kib": usage.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime}, handle)
"""


def measure(argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run ARGV to completion: its wall time, CPU seconds and peak RSS (its own, see _LAUNCHER)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "run.json"
        refaults = refaulted_file_pages()
        subprocess.run(
            [sys.executable, "-c", _LAUNCHER, json.dumps(list(argv)), str(report)],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            check=False,
        )
        figures = json.loads(report.read_text())
        refaults_after = refaulted_file_pages()
        out.seek(0)
        err.seek(0)
        return Run(
            returncode=os.waitstatus_to_exitcode(figures["status"]),
            seconds=figures["seconds"],
            max_rss_bytes=figures["maxrss_kib"] * 1024,  # Linux reports KiB
            cpu_seconds=figures["cpu"],
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            refaulted_file_pages=None if refaults is None or refaults_after is None else refaults_after - refaults,
        )


def refaulted_file_pages() -> int | None:
    """Page-cache pages the kernel has read back from disk after evicting them, since boot.

    The machine of docs/performance.md evicts page cache idle for about a minute (DAMON), so a
    command may read its files from disk or from memory depending on what ran before; this
    count (machine-wide: the registry's and the proxy's reads too) says which it was."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/vmstat").read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == "workingset_refault_file":
                return int(value)
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def costcalc(*args: str) -> list[str]:
    """The argv that runs costcalc with ARGS in this interpreter."""
    return [sys.executable, "-m", "costcalc", *args]


def child_env(**extra: str) -> dict[str, str]:
    """This environment, with this checkout on PYTHONPATH (children import benchmarks.*) and EXTRA."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


class ProxyProcess:
    """benchmarks.proxy as a process of its own, so that it shares no GIL with what it measures."""

    def __init__(self, upstream: str, delay_ms: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.proxy", "--upstream", upstream, "--delay-ms", str(delay_ms)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=child_env(),
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the latency proxy did not start: {line!r}")
        self.host = line.split()[-1]
        self.control = httpx.Client(base_url=f"http://{self.host}/__proxy", timeout=10)

    def reset(self) -> None:
        self.control.post("/reset").raise_for_status()

    def set_delay(self, delay_ms: float, connect_ms: float = 0) -> None:
        self.control.post("/delay", params={"ms": delay_ms, "connect_ms": connect_ms}).raise_for_status()

    def stats(self) -> dict[str, object]:
        response = self.control.get("/stats")
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.control.close()
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def requests_by_kind(stats: dict[str, object]) -> dict[str, int]:
    """The proxy's request counts ("METHOD kind": n) from its stats."""
    counts = stats["requests"]
    assert isinstance(counts, dict)
    return {str(k): int(v) for k, v in counts.items()}


def machine() -> dict[str, object]:
    """What the figures were measured on: cores, CPU model, Python, memory, tool versions."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for tool, argv in (("skopeo", ["skopeo", "--version"]), ("registry", ["docker-registry", "--version"])):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            versions[tool] = subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
    with contextlib.suppress(ImportError):
        from importlib.metadata import version

        versions["python-dxf"] = version("python-dxf")
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "tools": versions,
    }


def profile_text(path: Path, top: int = 25) -> str:
    """The TOP functions of a cProfile file by internal time, as pstats prints them."""
    import io

    buffer = io.StringIO()
    stats = pstats.Stats(str(path), stream=buffer)
    stats.strip_dirs().sort_stats(pstats.SortKey.TIME).print_stats(top)
    buffer.write("\n--- by cumulative time ---\n")
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    return buffer.getvalue()
