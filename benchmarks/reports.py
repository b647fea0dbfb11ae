"""`costcalc report` timed on synthetic inventories of growing size, and how its cost grows."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.measure import REPEATS, ROOT, child_env, costcalc, measure

PRICE_BOOKS = ("aws-ecr", "gcp-artifact-registry", "azure-acr-premium")


SCENARIOS = ("alpine", "retention:5")


def write_synthetic_inventory(tags: int, path: Path) -> int:
    """Write a synthetic inventory of TAGS tags to PATH in a child process; its manifest count.

    Not in this process: Linux hands a child the parent's peak RSS at exec (ru_maxrss), so a
    parent that had built a 100k-tag inventory would inflate every report's measured memory.
    """
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_inventory", "--write", str(tags), str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=child_env(),
    )
    return int(done.stdout.split()[-1])


def report_figures(workdir: Path, sizes: Sequence[int], profile: Path | None) -> dict[str, object]:
    """`costcalc report` on synthetic inventories: wall time, peak RSS, time per tag."""
    books = [b for b in PRICE_BOOKS if (ROOT / "pricing" / f"{b}.toml").exists()]
    usage = workdir / "usage.csv"
    usage.write_text("repository,pulls_per_month,source\n*,1000,internet\n")
    options = [f"--pricing={b}" for b in books] + [f"--scenario={s}" for s in SCENARIOS]
    rows = []
    notes: list[str] = []
    warmup = workdir / "inventory-warmup.json"
    write_synthetic_inventory(min(sizes), warmup)
    # One untimed run first (files in the page cache, lazy imports made once).
    # (-o into a file: -o refuses a device such as /dev/null, which it would otherwise replace)
    warm = costcalc("report", str(warmup), *options, "--format", "json", "-o", str(workdir / "report-warmup.json"))
    measure(warm, env=child_env(), cwd=ROOT)
    for tags in sizes:
        path = workdir / f"inventory-{tags}.json"
        manifests = write_synthetic_inventory(tags, path)
        args = [
            "report",
            str(path),
            "--usage",
            str(usage),
            *options,
            "--format",
            "json",
            "-o",
            str(workdir / f"report-{tags}.json"),
        ]
        runs = []
        for _ in range(REPEATS):  # the median of REPEATS runs: one run can be 0.3 s off on this VM
            run = measure(costcalc(*args), env=child_env(), cwd=ROOT)
            if run.returncode != 0 and "--usage" in args:
                notes.append(f"with --usage the report failed ({run.stderr.strip()[-300:]}); ran without it")
                args = [a for a in args if a not in ("--usage", str(usage))]
                run = measure(costcalc(*args), env=child_env(), cwd=ROOT)
            if run.returncode != 0:
                raise RuntimeError(f"costcalc report ({tags} tags) exited {run.returncode}: {run.stderr[-2000:]}")
            runs.append(run)
        run = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
        rows.append(
            {
                "tags": tags,
                "manifests": manifests,
                "file_bytes": path.stat().st_size,
                "seconds": round(run.seconds, 3),
                "seconds_of_runs": [round(r.seconds, 3) for r in runs],
                "max_rss_bytes": max(r.max_rss_bytes for r in runs),
                "cpu_seconds": round(run.cpu_seconds, 2),
                "microseconds_per_tag": round(run.seconds / tags * 1e6, 2),
                "refaulted_file_pages_of_runs": [r.refaulted_file_pages for r in runs],
            }
        )
        if profile is not None and tags == max(sizes):
            prof_argv = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "costcalc", *args]
            measure(prof_argv, env=child_env(), cwd=ROOT)
    startup = measure(costcalc("--version"), env=child_env(), cwd=ROOT)
    return {
        "pricing": books,
        "scenarios": list(SCENARIOS),
        "usage": "--usage" in args,
        "startup_seconds": round(startup.seconds, 3),
        "runs": rows,
        "notes": notes,
    }


def linearity(rows: list[dict[str, object]]) -> dict[str, object]:
    """Marginal seconds per 1,000 tags between successive sizes, and their largest ratio."""
    slopes = []
    for small, large in itertools.pairwise(rows):
        dt = float(large["seconds"]) - float(small["seconds"])  # type: ignore[arg-type]
        dn = int(large["tags"]) - int(small["tags"])  # type: ignore[call-overload]
        slopes.append(round(dt / dn * 1000, 4))
    ratio = round(slopes[-1] / slopes[0], 3) if len(slopes) >= 2 and slopes[0] > 0 else None
    return {"marginal_seconds_per_1000_tags": slopes, "last_to_first_slope_ratio": ratio}
