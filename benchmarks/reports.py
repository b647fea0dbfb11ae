"""`costcalc report` timed on synthetic inventories of growing size, and how its cost grows."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.measure import REPEATS, ROOT, child_env, costcalc, measure

PRICE_BOOKS = ("aws-ecr", "gcp-artifact-registry", "azure-acr-premium")


SCENARIOS = ("alpine", "retention:5")


# What the report's time is compared with: the same file read by the standard library's parser,
# in a fresh interpreter of its own, as the report runs in one.
JSON_LOAD = "import json, sys\nwith open(sys.argv[1], 'rb') as file:\n    json.load(file)\n"

# The floor under any load that validates the whole file with pydantic: the file's bytes
# parsed by pydantic-core into the tree it validates from, with nothing built from it (every
# key but one ignored). Its peak RSS is the bytes and that tree.
PYDANTIC_PARSE = (
    "import sys\n"
    "from pydantic import ConfigDict, TypeAdapter, with_config\n"
    "from typing_extensions import TypedDict\n"
    "@with_config(ConfigDict(extra='ignore'))\n"
    "class Head(TypedDict):\n"
    "    schema_version: int\n"
    "with open(sys.argv[1], 'rb') as file:\n"
    "    TypeAdapter(Head).validate_json(file.read())\n"
)


def write_synthetic_inventory(tags: int, path: Path, *, schema_1: bool = False) -> int:
    """Write a synthetic inventory of TAGS tags to PATH in a child process; its manifest count.

    Not in this process: Linux hands a child the parent's peak RSS at exec (ru_maxrss), so a
    parent that had built a 100k-tag inventory would inflate every report's measured memory.
    """
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_inventory", "--write", str(tags), str(path)]
        + (["--schema-1"] if schema_1 else []),
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
        loads = [measure([sys.executable, "-c", JSON_LOAD, str(path)], env=child_env(), cwd=ROOT) for _ in runs]
        json_load = sorted(loads, key=lambda r: r.seconds)[len(loads) // 2]
        parses = [measure([sys.executable, "-c", PYDANTIC_PARSE, str(path)], env=child_env(), cwd=ROOT) for _ in runs]
        parse = sorted(parses, key=lambda r: r.seconds)[len(parses) // 2]
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
                "json_load_seconds": round(json_load.seconds, 3),
                "json_load_seconds_of_runs": [round(r.seconds, 3) for r in loads],
                "json_load_max_rss_bytes": max(r.max_rss_bytes for r in loads),
                "json_load_cpu_seconds": round(json_load.cpu_seconds, 2),
                "pydantic_parse_seconds": round(parse.seconds, 3),
                "pydantic_parse_cpu_seconds": round(parse.cpu_seconds, 2),
                "pydantic_parse_max_rss_bytes": max(r.max_rss_bytes for r in parses),
            }
        )
        if profile is not None and tags == max(sizes):
            prof_argv = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "costcalc", *args]
            measure(prof_argv, env=child_env(), cwd=ROOT)
    largest = max(sizes)
    schema_1 = workdir / f"inventory-{largest}-schema-1.json"
    write_synthetic_inventory(largest, schema_1, schema_1=True)
    schema_1_bytes = schema_1.stat().st_size
    schema_1.unlink()
    startup = measure(costcalc("--version"), env=child_env(), cwd=ROOT)
    return {
        "schema_1_file_bytes": schema_1_bytes,
        "phases": phases(workdir / f"inventory-{largest}.json"),
        "pricing": books,
        "scenarios": list(SCENARIOS),
        "usage": "--usage" in args,
        "startup_seconds": round(startup.seconds, 3),
        "runs": rows,
        "notes": notes,
    }


def phases(path: Path) -> dict[str, object]:
    """Where a report's time goes, up to the report itself: import, load, figures (bench_inventory)."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_inventory", str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=child_env(),
    )
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def linearity(rows: list[dict[str, object]]) -> dict[str, object]:
    """Marginal seconds per 1,000 tags between successive sizes, and their largest ratio; the
    same in CPU seconds, which a shared machine's waits do not move."""
    result: dict[str, object] = {}
    for key, name in (
        ("seconds", "marginal_seconds_per_1000_tags"),
        ("cpu_seconds", "marginal_cpu_seconds_per_1000_tags"),
    ):
        slopes = []
        for small, large in itertools.pairwise(rows):
            dt = float(large[key]) - float(small[key])  # type: ignore[arg-type]
            dn = int(large["tags"]) - int(small["tags"])  # type: ignore[call-overload]
            slopes.append(round(dt / dn * 1000, 4))
        result[name] = slopes
        ratio = round(slopes[-1] / slopes[0], 3) if len(slopes) >= 2 and slopes[0] > 0 else None
        result["last_to_first_slope_ratio" if key == "seconds" else "last_to_first_cpu_slope_ratio"] = ratio
    return result
