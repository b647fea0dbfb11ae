"""costcalc's scans through the latency proxy, their requests against the minimum,
and the same requests replayed: through costcalc's RegistryClient with nothing parsed or cached
(its HTTP stack), and on plain sockets (what the proxy and the registry alone allow on this
machine)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from benchmarks.fleet import FleetTruth
from benchmarks.measure import (
    REPEATS,
    ROOT,
    ProxyProcess,
    Run,
    child_env,
    costcalc,
    cpu_seconds,
    measure,
    requests_by_kind,
)
from costcalc.registry.challenge import RegistryAuth
from costcalc.registry.client import MAX_LIST_BODY_BYTES, RegistryClient


def scan_figures(
    proxy: ProxyProcess,
    registry_pid: int,
    target: str,
    workdir: Path,
    name: str,
    *,
    concurrency: int,
    cache_dir: Path | None,
    delay_ms: float,
    profile: Path | None = None,
) -> dict[str, object]:
    """One `costcalc scan` through the proxy: wall time, peak RSS, requests by kind."""
    output = workdir / f"{name}.inventory.json"
    args = [
        "scan",
        target,
        "--plain-http",
        "--quiet",
        "--format",
        "json",
        "-o",
        str(output),
        "--concurrency",
        str(concurrency),
    ]
    args += ["--cache-dir", str(cache_dir)] if cache_dir else ["--no-cache"]
    argv = costcalc(*args)
    if profile is not None:
        argv = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "costcalc", *args]
    env = child_env(XDG_CACHE_HOME=str(workdir / "xdg-cache"))
    run, figures = through_proxy(proxy, registry_pid, argv, f"costcalc scan ({name})", concurrency, delay_ms, env)
    document = json.loads(run.stdout)
    return _with_floor(
        {
            "name": name,
            "concurrency": concurrency,
            "cache": "none" if cache_dir is None else str(cache_dir.name),
            **figures,
            "tags_found": document["summary"]["tags"],
            "manifests_found": document["summary"]["manifests"],
            "errors": len(document["errors"]),
        }
    )


def through_proxy(
    proxy: ProxyProcess,
    registry_pid: int,
    argv: list[str],
    what: str,
    concurrency: int,
    delay_ms: float,
    env: dict[str, str],
) -> tuple[Run, dict[str, object]]:
    """Run ARGV (a client of the proxy) and measure it: time, RSS, CPU of all three, requests."""
    proxy.reset()
    before = cpu_seconds(proxy.process.pid), cpu_seconds(registry_pid)
    run = measure(argv, env=env, cwd=ROOT)
    stats = proxy.stats()
    after = cpu_seconds(proxy.process.pid), cpu_seconds(registry_pid)
    if run.returncode != 0:
        raise RuntimeError(f"{what} exited {run.returncode}: {run.stderr.strip()[-2000:]}")
    total = int(stats["total"])  # type: ignore[call-overload]
    bound = total * delay_ms / 1000 / concurrency
    return run, {
        "seconds": round(run.seconds, 3),
        "max_rss_bytes": run.max_rss_bytes,
        "cpu_seconds": round(run.cpu_seconds, 2),
        "proxy_cpu_seconds": round(after[0] - before[0], 2),
        "registry_cpu_seconds": round(after[1] - before[1], 2),
        "requests": total,
        "requests_by_kind": requests_by_kind(stats),
        "connections": stats["connections"],
        "lower_bound_seconds": round(bound, 3),
        "ratio_to_lower_bound": round(run.seconds / bound, 3) if bound else None,
        "refaulted_file_pages": run.refaulted_file_pages,
    }


def minimum_check(scan: dict[str, object], truth: FleetTruth) -> dict[str, object]:
    """Compare a cold scan's requests with the minimum: list pages + tags + manifests + configs."""
    counts = scan["requests_by_kind"]
    assert isinstance(counts, dict)
    list_pages = counts.get("GET catalog", 0) + counts.get("GET tags", 0)
    expected = {
        "HEAD manifest": truth.tags,
        "GET manifest": len(truth.manifests),
        "GET blob": len(truth.configs),
    }
    allowed = {"GET catalog", "GET tags", *expected}
    extra = {k: v for k, v in counts.items() if k not in allowed}
    minimum = truth.minimum_requests(list_pages)
    return {
        "list_pages": list_pages,
        "catalog_pages": counts.get("GET catalog", 0),
        "tag_list_pages": counts.get("GET tags", 0),
        "minimum_requests": minimum,
        "requests": scan["requests"],
        "expected_by_kind": expected,
        "unexpected_requests": extra,
        "equal": scan["requests"] == minimum and not extra and all(counts.get(k, 0) == v for k, v in expected.items()),
    }


ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def replay_plan(inventory_path: Path, catalog_pages: int, warm: bool = False) -> list[tuple[str, str]]:
    """The requests of a minimal cold scan of an inventory's content (WARM: of a rescan with
    every manifest and config cached, list pages and HEADs only), in a flat list."""
    document = json.loads(inventory_path.read_text())
    manifests = document["manifests"]
    plan = [("GET", "/v2/_catalog")] * catalog_pages
    seen: set[str] = set()
    for repo in document["repositories"]:
        name = repo["name"]
        plan.append(("GET", f"/v2/{name}/tags/list"))
        for tag in repo["tags"]:
            plan.append(("HEAD", f"/v2/{name}/manifests/{tag['tag']}"))
            stack = [] if warm else [tag["digest"]]
            while stack:
                digest = stack.pop()
                if digest in seen:
                    continue
                seen.add(digest)
                plan.append(("GET", f"/v2/{name}/manifests/{digest}"))
                record = manifests.get(digest) or {}
                config = record.get("config")  # schema 2: a digest (schema 1: a descriptor)
                config = config.get("digest") if isinstance(config, dict) else config
                if config and config not in seen:
                    seen.add(config)
                    plan.append(("GET", f"/v2/{name}/blobs/{config}"))
                stack.extend(child["digest"] for child in record.get("children", ()))
    return plan


Queue = list[tuple[str, str]]  # (method, path), taken from the end


def _plan_queue(plan_path: str) -> Queue:
    """PLAN's requests as one queue that the workers of a replay share."""
    return [(method, path) for method, path in reversed(json.loads(Path(plan_path).read_text()))]


def replay(host: str, plan_path: str, concurrency: int) -> None:
    """Send PLAN's requests through costcalc's RegistryClient, CONCURRENCY at a time.

    RegistryClient is the layer the scan sends every request through: its client and
    connections, per-host limit, retries, deadlines, auth flow, and bodies read within their
    size limits. Nothing is parsed, cached or walked: what is left is costcalc's HTTP stack,
    the proxy and the registry on this machine, so the scan's time over this one is the cost
    of the scan's own work."""

    async def run(queue: Queue) -> None:
        # anonymous, as the benchmark's scans are: its auth still sees every request and answer
        async with RegistryClient(host, auth=RegistryAuth(host, None), concurrency=concurrency) as client:

            async def worker() -> None:
                while queue:
                    method, path = queue.pop()
                    # the largest limit RegistryClient applies (list pages): no answer is refused
                    await client.request(
                        method, client.url(path), purpose="replay", accept=ACCEPT, limit_bytes=MAX_LIST_BODY_BYTES
                    )

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    asyncio.run(run(_plan_queue(plan_path)))


def socket_replay(host: str, plan_path: str, concurrency: int) -> None:
    """Send PLAN's requests over plain asyncio sockets, CONCURRENCY keep-alive connections,
    bodies read by their Content-Length: no HTTP library at all. What is left is the proxy
    and the registry, so its time is the floor this machine sets under any client."""
    address, _, port = host.rpartition(":")

    async def worker(queue: Queue) -> None:
        reader, writer = await asyncio.open_connection(address, int(port))
        while queue:
            method, path = queue.pop()
            writer.write(f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: {ACCEPT}\r\n\r\n".encode())
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            if not head.startswith("http/1.1 200 "):
                raise RuntimeError(f"{method} {path}: {head.splitlines()[0]}")
            if method != "HEAD":
                declared = head.partition("\r\ncontent-length:")[2].partition("\r\n")[0]
                if not declared.strip().isdigit():  # chunked or unframed: not what this loop reads
                    raise RuntimeError(f"{method} {path}: no Content-Length in the answer")
                await reader.readexactly(int(declared))
        writer.close()

    async def run(queue: Queue) -> None:
        await asyncio.gather(*(worker(queue) for _ in range(concurrency)))

    asyncio.run(run(_plan_queue(plan_path)))


def replay_figures(
    proxy: ProxyProcess,
    registry_pid: int,
    workdir: Path,
    catalog_pages: int,
    delay_ms: float,
    warm: bool,
    sockets: bool = False,
) -> dict[str, object]:
    """The median of REPEATS bare replays of the cold scan's (or WARM: the rescan's) requests,
    on costcalc's HTTP stack (or SOCKETS: on plain sockets)."""
    name = "warm" if warm else "cold"
    plan = replay_plan(workdir / "cold.inventory.json", catalog_pages, warm=warm)
    plan_path = workdir / f"replay-{name}.json"
    plan_path.write_text(json.dumps(plan))
    function = "socket_replay" if sockets else "replay"
    code = f"from benchmarks.scans import {function}; {function}({proxy.host!r}, {str(plan_path)!r}, 16)"
    argv = [sys.executable, "-c", code]
    label = f"{'socket' if sockets else 'bare'} {name} replay"
    runs = [
        _with_floor(
            {
                "name": f"{'sockets' if sockets else 'replay'}-{name}",
                "concurrency": 16,
                **through_proxy(proxy, registry_pid, argv, f"the {label}", 16, delay_ms, env=child_env())[1],
            }
        )
        for _ in range(REPEATS)
    ]
    return median_run(runs)


def median_run(runs: list[dict[str, object]]) -> dict[str, object]:
    """The run of median wall time, with every run's wall time beside it (the machine is noisy)."""
    ordered = sorted(runs, key=lambda run: float(run["seconds"]))  # type: ignore[arg-type]
    return {
        **ordered[len(ordered) // 2],
        "seconds_of_runs": [run["seconds"] for run in runs],
        "requests_by_kind_of_runs": [run["requests_by_kind"] for run in runs],
        "refaulted_file_pages_of_runs": [run.get("refaulted_file_pages") for run in runs],
    }


def _with_floor(scan: dict[str, object]) -> dict[str, object]:
    """Add the CPU floor: CPU seconds of client, proxy and registry shared by this machine's cores."""
    spent = sum(float(scan[k]) for k in ("cpu_seconds", "proxy_cpu_seconds", "registry_cpu_seconds"))  # type: ignore[arg-type]
    scan["cpu_floor_seconds"] = round(spent / (os.cpu_count() or 1), 3)
    return scan
