"""Today's tools on the same fleet through the same proxy: a `skopeo inspect` loop and python-dxf."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from benchmarks.measure import ROOT, ProxyProcess, child_env, measure, requests_by_kind


def sample_tags(inventory_path: Path, count: int) -> tuple[list[tuple[str, str]], int]:
    """COUNT (repository, tag) pairs spread evenly over the scanned inventory, and the total."""
    document = json.loads(inventory_path.read_text())
    pairs = [(r["name"], t["tag"]) for r in document["repositories"] for t in r["tags"]]
    if count >= len(pairs):
        return pairs, len(pairs)
    step = len(pairs) / count
    return [pairs[int(i * step)] for i in range(count)], len(pairs)


def skopeo_loop(proxy: ProxyProcess, pairs: list[tuple[str, str]], total_tags: int) -> dict[str, object]:
    """`skopeo inspect` per tag, sequentially, as a shell loop over tags does."""
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        return {"available": False}
    proxy.reset()
    seconds = 0.0
    max_rss = 0
    failures = 0
    for repo, tag in pairs:
        run = measure([skopeo, "inspect", "--tls-verify=false", f"docker://{proxy.host}/{repo}:{tag}"])
        seconds += run.seconds
        max_rss = max(max_rss, run.max_rss_bytes)
        failures += run.returncode != 0
    stats = proxy.stats()
    scale = total_tags / len(pairs)
    return {
        "available": True,
        "command": "skopeo inspect --tls-verify=false docker://HOST/REPO:TAG",
        "tags_run": len(pairs),
        "tags_total": total_tags,
        "extrapolated": len(pairs) < total_tags,
        "seconds_sample": round(seconds, 3),
        "seconds": round(seconds * scale, 3),
        "requests_sample": stats["total"],
        "requests": round(int(stats["total"]) * scale),  # type: ignore[arg-type]
        "requests_by_kind_sample": requests_by_kind(stats),
        "max_rss_bytes": max_rss,
        "failures": failures,
    }


def dxf_loop(host: str, namespace: str) -> None:
    """python-dxf: list repositories and tags, then get every tag's manifest, sequentially."""
    import dxf

    base = dxf.DXFBase(host, insecure=True)
    fetched = 0
    for repo in base.list_repos():
        if not repo.startswith(namespace + "/"):
            continue
        client = dxf.DXF(host, repo, insecure=True)
        for tag in client.list_aliases():
            client.get_manifest(tag)
            fetched += 1
    print(fetched)


def dxf_figures(proxy: ProxyProcess, namespace: str) -> dict[str, object]:
    """dxf_loop in a process of its own through the proxy: time, requests, peak RSS."""
    try:
        import dxf  # noqa: F401
    except ImportError:
        return {"available": False}
    proxy.reset()
    code = f"from benchmarks.tools import dxf_loop; dxf_loop({proxy.host!r}, {namespace!r})"
    run = measure([sys.executable, "-c", code], env=child_env(), cwd=ROOT)
    stats = proxy.stats()
    return {
        "available": run.returncode == 0,
        "command": "DXF(host, repo).get_manifest(tag) for every tag, sequentially",
        "seconds": round(run.seconds, 3),
        "requests": stats["total"],
        "requests_by_kind": requests_by_kind(stats),
        "max_rss_bytes": run.max_rss_bytes,
        "manifests_fetched": int(run.stdout.strip() or 0) if run.returncode == 0 else 0,
        "error": run.stderr.strip()[-500:] if run.returncode else None,
    }
