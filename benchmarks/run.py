"""The benchmark: costcalc against the latency floor and against today's tools, one table out.

``python -m benchmarks.run [--repos 200 --tags 10 --delay-ms 20 --out FILE --tiny --profile]``
``python -m benchmarks.run --report-only | --fleet-only`` (a part of it, written to its own file)

Starts a real distribution registry, pushes a synthetic fleet into it, puts the
latency-injecting proxy in front, and measures every client as a subprocess through that
proxy (wall time, requests counted by the proxy, peak RSS from wait4). Then times
``costcalc report`` on synthetic inventories of growing size. Nothing here is pass/fail
for CI: the targets are printed as measured ratios, and the figures go to a JSON file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.fleet import FleetTruth, push_aliases, push_fleet
from benchmarks.fleet_reports import fleet_report_figures
from benchmarks.measure import REPEATS, ROOT, ProxyProcess, child_env, costcalc, machine, measure, profile_text
from benchmarks.reports import linearity, report_figures
from benchmarks.scans import median_run, minimum_check, replay_figures, scan_figures
from benchmarks.summary import table, targets
from benchmarks.tools import dxf_figures, sample_tags, skopeo_loop
from tests.registryd import RunningRegistry, start_registry

CONCURRENCIES = (1, 4, 16, 64)
RESULTS = ROOT / "benchmarks" / "results"
# Where each run writes its figures unless --out says otherwise: a partial run has its own
# file, so it never replaces the figures of a full run.
DEFAULT_OUT = {
    "full": RESULTS / "latest.json",
    "report_only": RESULTS / "report-only.json",
    "fleet_only": RESULTS / "fleet-only.json",
}


@dataclass(frozen=True)
class Sizes:
    """How big the fleet, the memory fleets, the skopeo sample and the report inventories are."""

    repos: int
    tags: int
    report_tags: tuple[int, ...]
    memory_repos: int
    skopeo_sample: int

    @classmethod
    def pick(cls, args: argparse.Namespace) -> Sizes:
        if args.tiny:
            return cls(repos=5, tags=3, report_tags=(100, 300, 1_000), memory_repos=2, skopeo_sample=15)
        return cls(
            repos=args.repos,
            tags=args.tags,
            report_tags=(10_000, 30_000, 100_000),
            memory_repos=20,
            skopeo_sample=args.skopeo_sample,
        )


# The registry stands in for a remote server, yet here it shares the client's two cores, so
# every CPU-second it spends is taken from the client it serves (measured 2026-11-27):
# - Go's scheduler spins idle threads looking for work between requests: with both cores it
#   burned ~25 % more CPU on the same requests (10.2-11.0 against 7.9-8.7 CPU-s on single cold
#   scans) and was slower, so it gets one core.
# - Over 40 % of its CPU went to garbage collection: Go's default (GOGC=100) collects each
#   time the heap has doubled since the last collection, and its heap is small (36 MiB RSS).
#   With collection left until the heap nears 512 MiB, the cold scan's requests sent on plain
#   sockets cost it 5.5-6.0 CPU-s instead of 9.8-10.5 (6.95-7.2 with GOGC=400).
REGISTRY_ENV = {"GOMAXPROCS": "1", "GOGC": "off", "GOMEMLIMIT": "512MiB"}


@contextlib.contextmanager
def registry(workdir: Path) -> Iterator[RunningRegistry]:
    """A quiet registry (errors only, no access log) on one core, storing under WORKDIR."""
    # Debian's default configuration keeps blob descriptors in memory; so does this one.
    quiet = {
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"cache": {"blobdescriptor": "inmemory"}},
    }
    running = start_registry(workdir, extra_config=quiet, env=REGISTRY_ENV)
    try:
        yield running
    finally:
        running.stop()


def benchmark(args: argparse.Namespace) -> dict[str, object]:
    """Every measurement, in order: fleet pushed, scans and tools through the proxy, reports."""
    sizes = Sizes.pick(args)
    delay = args.delay_ms
    workdir = Path(tempfile.mkdtemp(prefix="costcalc-bench-"))
    results_dir = args.out.parent
    results_dir.mkdir(parents=True, exist_ok=True)

    def say(text: str) -> None:
        if not args.quiet:
            print(f"[bench] {text}", file=sys.stderr)

    # A --report-only run scans nothing: it records that, and none of the scan's parameters.
    scanned = {
        "repos": sizes.repos,
        "tags_per_repo": sizes.tags,
        "delay_ms": delay,
        "concurrencies": list(CONCURRENCIES),
        "registry_env": REGISTRY_ENV,
    }
    figures: dict[str, object] = {
        "schema": 1,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "parameters": {"tiny": args.tiny, "report_only": True} if args.report_only else {**scanned, "tiny": args.tiny},
    }
    # Byte-compiled first, as `pip install` does: with PYTHONDONTWRITEBYTECODE set (as on the
    # machine of docs/performance.md) no run would write .pyc files, and every measured run
    # would compile costcalc's modules from source (~0.05 s each).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "costcalc")], check=True)
    try:
        if not args.report_only:
            scan_part(args, sizes, workdir, figures, say)
        say("costcalc report on synthetic inventories")
        report_profile = workdir / "report.prof" if args.profile else None
        report = report_figures(workdir, sizes.report_tags, report_profile)
        report["linearity"] = linearity(report["runs"])  # type: ignore[arg-type]
        figures["report"] = report
        if report_profile is not None and report_profile.exists():
            (results_dir / "report.profile.txt").write_text(profile_text(report_profile))
        if not args.report_only:
            say("costcalc report on synthetic fleets of many inventories")
            figures["fleet_report"] = fleet_report_figures(workdir / "fleets", args.tiny, say)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures["targets"] = targets(figures)
    return figures


def fleet_only(args: argparse.Namespace) -> dict[str, object]:
    """Only `costcalc report` on synthetic fleets of many inventories (--fleet-only): no registry."""
    workdir = Path(tempfile.mkdtemp(prefix="costcalc-bench-"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "costcalc")], check=True)
    figures: dict[str, object] = {
        "schema": 1,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "parameters": {"tiny": args.tiny, "fleet_only": True},
    }
    try:
        say = (lambda _: None) if args.quiet else (lambda text: print(f"[bench] {text}", file=sys.stderr))
        figures["fleet_report"] = fleet_report_figures(workdir, args.tiny, say)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures["targets"] = targets(figures)
    return figures


def scan_part(
    args: argparse.Namespace,
    sizes: Sizes,
    workdir: Path,
    figures: dict[str, object],
    say: Callable[[str], None],
) -> None:
    """The fleet pushed to a real registry, then every scan and tool through the proxy."""
    delay = args.delay_ms
    with registry(workdir / "registry") as running:
        base_url = running.url
        say(f"pushing {sizes.repos} x {sizes.tags} tags to {base_url}")
        started = time.perf_counter()
        truth = asyncio.run(push_fleet(base_url, "bench", sizes.repos, sizes.tags))
        narrow = asyncio.run(push_aliases(base_url, "narrow", sizes.memory_repos, 10, 1))
        wide = asyncio.run(push_aliases(base_url, "wide", sizes.memory_repos, 10, 10))
        figures["fleet"] = {**truth.as_dict(), "push_seconds": round(time.perf_counter() - started, 3)}
        proxy = ProxyProcess(running.host, delay)
        try:
            pid = running.process.pid
            figures.update(scans(proxy, pid, workdir, truth, narrow, wide, sizes, delay, args, say))
        finally:
            proxy.stop()


def scans(
    proxy: ProxyProcess,
    registry_pid: int,
    workdir: Path,
    truth: FleetTruth,
    narrow: FleetTruth,
    wide: FleetTruth,
    sizes: Sizes,
    delay: float,
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> dict[str, object]:
    """Everything measured through the proxy: cold and warm scans, the concurrency sweep, the
    tools of today, scan memory, the handshake row, the bare replays (and with --profile, the
    profiled and the no-latency cold scans)."""
    target = f"{proxy.host}/bench"
    colds, warms = [], []
    for attempt in range(1, REPEATS + 1):
        cache = workdir / f"cache-{attempt}"
        say(f"cold scan (empty cache), concurrency 16 ({attempt} of {REPEATS})")
        colds.append(
            scan_figures(proxy, registry_pid, target, workdir, "cold", concurrency=16, cache_dir=cache, delay_ms=delay)
        )
        say(f"warm rescan (same cache) ({attempt} of {REPEATS})")
        warms.append(
            scan_figures(proxy, registry_pid, target, workdir, "warm", concurrency=16, cache_dir=cache, delay_ms=delay)
        )
    cold, warm = median_run(colds), median_run(warms)
    sweep = []
    for concurrency in CONCURRENCIES:
        say(f"cold scan without cache, concurrency {concurrency}")
        sweep.append(
            scan_figures(
                proxy,
                registry_pid,
                target,
                workdir,
                f"c{concurrency}",
                concurrency=concurrency,
                cache_dir=None,
                delay_ms=delay,
            )
        )
    pairs, total = sample_tags(workdir / "cold.inventory.json", sizes.skopeo_sample)
    say(f"skopeo inspect loop over {len(pairs)} of {total} tags")
    skopeo = skopeo_loop(proxy, pairs, total)
    say("python-dxf manifest loop over every tag")
    dxf_result = dxf_figures(proxy, "bench")
    say("scan memory: same manifests, 10x the tags")
    memory = {
        "narrow": {
            **narrow.as_dict(),
            **scan_figures(
                proxy,
                registry_pid,
                f"{proxy.host}/narrow",
                workdir,
                "narrow",
                concurrency=16,
                cache_dir=None,
                delay_ms=delay,
            ),
        },
        "wide": {
            **wide.as_dict(),
            **scan_figures(
                proxy,
                registry_pid,
                f"{proxy.host}/wide",
                workdir,
                "wide",
                concurrency=16,
                cache_dir=None,
                delay_ms=delay,
            ),
        },
        "fleet": {
            "distinct_manifests": len(truth.manifests),
            "tags": truth.tags,
            "max_rss_bytes": cold["max_rss_bytes"],
        },
    }
    say("cold scan, c=16, no cache, one round trip added per new TCP connection")
    proxy.set_delay(delay, connect_ms=delay)
    handshake = scan_figures(
        proxy, registry_pid, target, workdir, "handshake", concurrency=16, cache_dir=None, delay_ms=delay
    )
    proxy.set_delay(delay)
    catalog_pages = cold["requests_by_kind"].get("GET catalog", 0)  # type: ignore[union-attr]
    say("the cold scan's requests replayed on costcalc's RegistryClient, c=16")
    replayed = replay_figures(proxy, registry_pid, workdir, catalog_pages, delay, warm=False)
    say("the warm rescan's requests replayed on costcalc's RegistryClient, c=16")
    replayed_warm = replay_figures(proxy, registry_pid, workdir, catalog_pages, delay, warm=True)
    say("the cold scan's and the warm rescan's requests on plain sockets, c=16 (the machine's floor)")
    floor = replay_figures(proxy, registry_pid, workdir, catalog_pages, delay, warm=False, sockets=True)
    floor_warm = replay_figures(proxy, registry_pid, workdir, catalog_pages, delay, warm=True, sockets=True)
    startup = measure(costcalc("--version"), env=child_env(), cwd=ROOT)
    result: dict[str, object] = {
        # named when the replays were bare httpx loops; kept, so runs compare key by key
        "bare_replay": replayed,
        "bare_replay_warm": replayed_warm,
        "socket_replay": floor,
        "socket_replay_warm": floor_warm,
        "cold_with_handshake": handshake,
        "cold": {**cold, "minimum": minimum_check(cold, truth)},
        "warm": {**warm, "minimum_warm_requests": int(minimum_check(cold, truth)["list_pages"]) + truth.tags},  # type: ignore[call-overload]
        "concurrency": sweep,
        "skopeo": skopeo,
        "dxf": dxf_result,
        "memory": memory,
        "costcalc_startup_seconds": round(startup.seconds, 3),
    }
    if args.profile:
        say("profiling a cold scan (cProfile, no cache, concurrency 16)")
        path = workdir / "scan.prof"
        scan_figures(
            proxy,
            registry_pid,
            target,
            workdir,
            "profiled",
            concurrency=16,
            cache_dir=None,
            delay_ms=delay,
            profile=path,
        )
        (args.out.parent / "scan.profile.txt").write_text(profile_text(path))
        say("profiling a cold scan with no added latency (CPU cost of the whole stack)")
        proxy.set_delay(0)
        result["cold_no_latency"] = scan_figures(
            proxy,
            registry_pid,
            target,
            workdir,
            "nolatency",
            concurrency=16,
            cache_dir=workdir / "cache-nl",
            delay_ms=0,
        )
        proxy.set_delay(delay)
    return result


def main(argv: list[str] | None = None) -> int:
    """The command: run the benchmark, write the figures, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=200, help="repositories in the fleet")
    parser.add_argument("--tags", type=int, default=10, help="tags per repository (versions + latest)")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="latency the proxy adds per request")
    parser.add_argument(
        "--out",
        type=Path,
        help="where the figures go (default: benchmarks/results/latest.json; report-only.json or "
        "fleet-only.json for a partial run)",
    )
    parser.add_argument("--tiny", action="store_true", help="5 x 3 tags, report on 100..1,000 tags (CI)")
    parser.add_argument("--skopeo-sample", type=int, default=200, help="tags skopeo inspects (the rest extrapolated)")
    parser.add_argument(
        "--profile", action="store_true", help="also write cProfile stats of a cold scan and of the largest report"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--fleet-only", action="store_true", help="only the report on fleets of many inventories (no registry)"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="only the report on single inventories of 10k..100k tags (no registry, no fleets)",
    )
    args = parser.parse_args(argv)
    if args.fleet_only and args.report_only:
        parser.error("--fleet-only and --report-only measure different parts; give one.")
    if args.out is None:
        args.out = DEFAULT_OUT["fleet_only" if args.fleet_only else "report_only" if args.report_only else "full"]
    figures = fleet_only(args) if args.fleet_only else benchmark(args)
    args.out.write_text(json.dumps(figures, indent=1) + "\n")
    print(table(figures))
    print(f"\nfigures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
