"""Time and peak RSS of loading an inventory file and of the figures `costcalc report` asks for.

    python -m benchmarks.bench_inventory INVENTORY.json [--repeat-books 3]
    python -m benchmarks.bench_inventory --write 100000 /tmp/inv100k.json [--schema-1]

Each measurement runs in a fresh interpreter (so peak RSS is that of one load, not of the
benchmark's own bookkeeping): the child prints wall seconds per phase and its ru_maxrss
after each phase. The figure calls mirror costs.quantities() for each price book.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _resident_mib() -> float:
    """Resident now (Linux): what the loaded inventory keeps, as opposed to the load's peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * resource.getpagesize() / 2**20


def _child(path: Path, books: int) -> None:
    start, start_cpu = time.perf_counter(), time.process_time()
    import costcalc.inventory.file as inv  # import cost counted apart from the load itself

    imported, imported_cpu = time.perf_counter(), time.process_time()
    inventory = inv.load(path)
    loaded, loaded_cpu = time.perf_counter(), time.process_time()
    load_peak = _peak_mib()
    load_resident = _resident_mib()
    figures = inventory.figures
    for _ in range(books):  # what each price book of a report asks for
        for scope in ("registry", "repository"):
            figures.attributed_bytes(scope)
        for repo in inventory.repositories:
            tags = {t.tag: t.digest for t in repo.tags}
            digest = tags.get("latest") or figures.image_versions(repo.name)[-1].digest
            platform = figures.default_platform(digest)
            if platform is not None:
                figures.platforms(digest)
                figures.pull_bytes(digest, platform)
            figures.reachable(digest)
            figures.version_delta_bytes(repo.name, platform)
            figures.image_versions(repo.name)
        figures.summary()
    done, done_cpu = time.perf_counter(), time.process_time()
    print(
        json.dumps(
            {
                "import_s": round(imported - start, 3),
                "load_s": round(loaded - imported, 3),
                "load_peak_mib": round(load_peak),
                "load_resident_mib": round(load_resident),
                "figures_s": round(done - loaded, 3),
                "total_s": round(done - imported, 3),
                # CPU seconds of each phase: on a shared machine, what wall times are not
                "import_cpu_s": round(imported_cpu - start_cpu, 3),
                "load_cpu_s": round(loaded_cpu - imported_cpu, 3),
                "figures_cpu_s": round(done_cpu - loaded_cpu, 3),
                "peak_mib": round(_peak_mib()),
                "manifests": len(inventory.manifests),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inventory", nargs="?", type=Path)
    parser.add_argument("--books", type=int, default=3, help="price books to mimic (default 3)")
    parser.add_argument("--write", nargs=2, metavar=("TAGS", "PATH"), help="write a synthetic inventory and exit")
    parser.add_argument("--schema-1", action="store_true", help="with --write: as a schema-1 file (for its size)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        from benchmarks.fleet import schema_1_text, synthetic_inventory
        from costcalc.inventory.file import dumps

        inventory = synthetic_inventory(int(args.write[0]))
        Path(args.write[1]).write_text(schema_1_text(inventory) if args.schema_1 else dumps(inventory))
        print(len(inventory.manifests))  # benchmarks.run reads the manifest count from here
        return
    if args.inventory is None:
        parser.error("INVENTORY is required")
    if args.child:
        _child(args.inventory, args.books)
        return
    command = [sys.executable, "-m", "benchmarks.bench_inventory", str(args.inventory), "--books", str(args.books)]
    run = subprocess.run(
        [*command, "--child"],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        sys.exit(run.stderr)
    print(run.stdout.strip())


if __name__ == "__main__":
    main()
