"""`costcalc report` on a synthetic fleet of many inventories: time per tag, and what memory follows.

    python -m benchmarks.fleet_reports --write SHAPE_JSON DIR   # one fleet's files (a child process)

Three comparisons, each a fleet of schema-2 inventories reported by one command,
`costcalc report DIR/*.json --pricing GLOB=BOOK ... --format json` in a fresh process:
- linearity: the same shape at growing total tags, split into the same number of inventories;
- inventories: one fleet (same tags, manifests and blobs) written as 1, 10 and 50 files;
- manifests: the same tags with each image tagged once or twice (twice the distinct manifests).
Each fleet is written by a child process, so the benchmark process never holds one.
"""

from __future__ import annotations

import argparse
import fnmatch
import itertools
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic_core import to_json

from benchmarks.fleet import ARCHES, EPOCH, MULTI_ARCH_EVERY, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, digest_of
from benchmarks.measure import REPEATS, ROOT, Run, child_env, costcalc, measure

# Five registries as a company might have them, each with the book of its kind.
REGISTRIES = (
    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "ghcr.io",
    "docker.io",
    "europe-docker.pkg.dev",
)
BOOKS = (
    ("*.dkr.ecr.*.amazonaws.com", "aws-ecr"),
    ("ghcr.io", "github-packages"),
    ("docker.io", "docker-hub-team"),
    ("*.pkg.dev", "gcp-artifact-registry"),
)
BASE_IMAGES = 20  # per registry, shared by every namespace of it
BASE_LAYERS = 6  # each image: 6 base layers, the previous version's own layer and a new one


@dataclass(frozen=True)
class Shape:
    """A fleet: TAGS in all over NAMESPACES (spread evenly over REGISTRIES), written as INVENTORIES files."""

    tags: int
    inventories: int
    registries: int
    namespaces: int
    tags_per_repo: int = 100
    tags_per_image: int = 1  # 2: each image under two tags, half the distinct manifests and blobs


@dataclass(frozen=True)
class Plan:
    """The sizes of one run's fleets."""

    linear_tags: tuple[int, ...]
    inventory_counts: tuple[int, ...]
    memory_tags: int
    namespaces: int
    tags_per_repo: int
    repeats: int

    @classmethod
    def pick(cls, tiny: bool) -> Plan:
        if tiny:  # seconds in all: what CI checks is that every figure is written
            return cls((1_000, 2_000, 4_000), (1, 5), 1_000, 5, 20, 1)
        return cls((250_000, 500_000, 1_000_000), (1, 10, 50), 250_000, 50, 100, REPEATS)


def _blob(*key: object, media_type: str = OCI_LAYER, size: int) -> dict[str, Any]:
    return {"digest": digest_of("/".join(map(str, key)).encode()), "media_type": media_type, "size_bytes": size}


def _namespace(registry: str, namespace: str, repos: int, shape: Shape) -> tuple[list[dict], dict, dict]:
    """One namespace's repositories, manifests and blobs in the schema-2 file's own terms."""
    bases = [
        [_blob(registry, "base", b, n, size=20_000_000 + 1_000_003 * n) for n in range(BASE_LAYERS)]
        for b in range(BASE_IMAGES)
    ]
    repositories, manifests, blobs = [], {}, {}
    images = max(shape.tags_per_repo // shape.tags_per_image, 1)
    for r in range(repos):
        name = f"{namespace}/svc-{r:04d}"
        key = (registry, name)
        previous = _blob(*key, "app", 0, size=5_000_000 + r)
        tags = []
        for image in range(1, images + 1):
            own = _blob(*key, "app", image, size=3_000_000 + 7 * image + r)
            layers = [*bases[r % BASE_IMAGES], previous, own]
            previous = own
            created = (EPOCH + timedelta(days=r % 300, minutes=image)).strftime("%Y-%m-%dT%H:%M:%SZ")
            platforms = ARCHES if r % MULTI_ARCH_EVERY == 0 else ARCHES[:1]
            children = []
            for arch in platforms:
                config = _blob(*key, image, arch, "config", media_type=OCI_CONFIG, size=1_500 + image)
                for blob in (*layers, config):
                    blobs[blob["digest"]] = {"media_type": blob["media_type"], "size_bytes": blob["size_bytes"]}
                digest = digest_of(f"{registry}/{name}/{image}/{arch}".encode())
                manifests[digest] = {
                    "media_type": OCI_MANIFEST,
                    "size_bytes": 400 + 180 * len(layers),
                    "kind": "image",
                    "platform": f"linux/{arch}",
                    "created": created,
                    "config": config["digest"],
                    "layers": [layer["digest"] for layer in layers],
                }
                children.append(
                    {
                        "media_type": OCI_MANIFEST,
                        "digest": digest,
                        "size_bytes": 400 + 180 * len(layers),
                        "platform": f"linux/{arch}",
                        "attestation": False,
                    }
                )
            if len(children) > 1:
                digest = digest_of(f"{registry}/{name}/{image}/index".encode())
                manifests[digest] = {
                    "media_type": OCI_INDEX,
                    "size_bytes": 180 + 240 * len(children),
                    "kind": "image",
                    "children": children,
                }
            tags += [
                {"tag": f"v{image}" + (f"-r{j}" if j else ""), "digest": digest} for j in range(shape.tags_per_image)
            ]
        repositories.append({"name": name, "tags": tags})
    return repositories, manifests, blobs


def write_fleet(shape: Shape, directory: Path) -> dict[str, int]:
    """SHAPE's inventory files in DIRECTORY; its tags, files, distinct manifests and blobs (per registry)."""
    if shape.namespaces % shape.registries or shape.inventories % shape.registries:
        raise ValueError(f"{shape}: namespaces and inventories must be multiples of registries")
    per_registry = shape.namespaces // shape.registries
    files_per_registry = shape.inventories // shape.registries
    if per_registry % files_per_registry:
        raise ValueError(f"{shape}: a registry's namespaces must split evenly into its files")
    repos = max(shape.tags // shape.namespaces // shape.tags_per_repo, 1)
    directory.mkdir(parents=True, exist_ok=True)
    totals = {"tags": 0, "inventories": 0, "manifests": 0, "blobs": 0, "file_bytes": 0, "largest_file_bytes": 0}
    for registry in REGISTRIES[: shape.registries]:
        seen_manifests: set[str] = set()
        seen_blobs: set[str] = set()
        names = [f"team-{n:02d}" for n in range(per_registry)]
        group = per_registry // files_per_registry
        for first in range(0, per_registry, group):
            repositories, manifests, blobs = [], {}, {}
            for namespace in names[first : first + group]:
                more = _namespace(registry, namespace, repos, shape)
                repositories += more[0]
                manifests.update(more[1])
                blobs.update(more[2])
            data = {
                "schema_version": 2,
                "registry": registry,
                "namespace": names[first] if group == 1 else "",
                "scanned_at": EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "repositories": repositories,
                "manifests": manifests,
                "blobs": blobs,
                "errors": [],
            }
            path = directory / f"{registry}-{first:02d}.json"
            text = to_json(data, indent=1) + b"\n"
            path.write_bytes(text)
            totals["tags"] += sum(len(r["tags"]) for r in repositories)
            totals["inventories"] += 1
            totals["file_bytes"] += len(text)
            totals["largest_file_bytes"] = max(totals["largest_file_bytes"], len(text))
            seen_manifests.update(manifests)
            seen_blobs.update(blobs)
        totals["manifests"] += len(seen_manifests)
        totals["blobs"] += len(seen_blobs)
    return totals


def report_args(directory: Path, registries: int, usage: Path, output: Path) -> list[str]:
    """`costcalc report` on every file of DIRECTORY, each registry priced by its own book, one usage file."""
    hosts = REGISTRIES[:registries]
    mapped = [
        f"--pricing={glob}={book}" for glob, book in BOOKS if any(fnmatch.fnmatchcase(host, glob) for host in hosts)
    ]
    return ["report", str(directory), "--usage", str(usage), *mapped, "--format", "json", "-o", str(output)]


def measure_fleet(workdir: Path, name: str, shape: Shape, repeats: int) -> dict[str, object]:
    """Write SHAPE (in a child), report it REPEATS times, drop its files: the median run's figures."""
    directory = workdir / name
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.fleet_reports", "--write", json.dumps(asdict(shape)), str(directory)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=child_env(),
    )
    written: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    usage = workdir / "usage.csv"
    usage.write_text("repository,pulls_per_month,source\n*,1000,internet\n")
    args = report_args(directory, shape.registries, usage, workdir / f"{name}.report.json")
    runs: list[Run] = []
    try:
        for _ in range(repeats):
            run = measure(costcalc(*args), env=child_env(), cwd=ROOT)
            if run.returncode != 0:
                raise RuntimeError(f"costcalc report ({name}) exited {run.returncode}: {run.stderr[-2000:]}")
            runs.append(run)
        report = json.loads((workdir / f"{name}.report.json").read_text())
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    median = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    tags = written["tags"]
    return {
        "name": name,
        **asdict(shape),
        **written,
        # what the report itself counted, against what was written
        "reported_tags": report["inventory"]["tags"],
        "reported_manifests": report["inventory"]["manifests"],
        "seconds": round(median.seconds, 3),
        "seconds_of_runs": [round(r.seconds, 3) for r in runs],
        "cpu_seconds": round(median.cpu_seconds, 3),
        "cpu_seconds_of_runs": [round(r.cpu_seconds, 3) for r in runs],
        "max_rss_bytes": max(r.max_rss_bytes for r in runs),
        "max_rss_bytes_of_runs": [r.max_rss_bytes for r in runs],
        "microseconds_per_tag": round(median.seconds / tags * 1e6, 2),
        "cpu_microseconds_per_tag": round(median.cpu_seconds / tags * 1e6, 2),
        "rss_bytes_per_manifest_and_blob": round(
            max(r.max_rss_bytes for r in runs) / (written["manifests"] + written["blobs"])
        ),
        "refaulted_file_pages_of_runs": [r.refaulted_file_pages for r in runs],
    }


def fleet_report_figures(workdir: Path, tiny: bool, say: Callable[[str], None] = print) -> dict[str, object]:
    """The three comparisons (linearity, inventories, manifests), each row one fleet reported."""
    plan = Plan.pick(tiny)
    workdir.mkdir(parents=True, exist_ok=True)
    registries = len(REGISTRIES)
    spread = Shape(
        tags=min(plan.linear_tags),
        inventories=plan.inventory_counts[-1],
        registries=registries,
        namespaces=plan.namespaces,
        tags_per_repo=plan.tags_per_repo,
    )
    say("fleet report: one untimed warm-up")
    measure_fleet(workdir, "warmup", replace(spread, tags=spread.tags // 10 or 1), 1)
    linear = []
    for tags in plan.linear_tags:
        say(f"fleet report: {tags:,} tags in {spread.inventories} inventories of {registries} registries")
        linear.append(measure_fleet(workdir, f"linear-{tags}", replace(spread, tags=tags), plan.repeats))
    one_registry = replace(spread, tags=plan.memory_tags, registries=1)
    by_inventories = []
    for count in plan.inventory_counts:
        say(f"fleet report: {plan.memory_tags:,} tags of one registry as {_count(count, 'inventory', 'inventories')}")
        by_inventories.append(
            measure_fleet(workdir, f"split-{count}", replace(one_registry, inventories=count), plan.repeats)
        )
    say(f"fleet report: {min(plan.linear_tags):,} tags, each image under two tags (half the manifests)")
    halved = measure_fleet(workdir, "aliased", replace(spread, tags_per_image=2), plan.repeats)
    return {
        "registries": list(REGISTRIES),
        "pricing": [f"{glob}={book}" for glob, book in BOOKS],
        "linearity": {"runs": linear, **per_tag(linear)},
        "inventories": {"runs": by_inventories},
        "manifests": {"runs": [halved, linear[0]]},
    }


def per_tag(rows: list[dict[str, Any]]) -> dict[str, object]:
    """Time per tag at each size, marginal seconds per 1,000 tags, and the last-to-first ratios."""
    slopes = [
        round((large[key] - small[key]) / (large["tags"] - small["tags"]) * 1000, 4)
        for key in ("seconds", "cpu_seconds")
        for small, large in itertools.pairwise(rows)
    ]
    half = len(slopes) // 2
    wall, cpu = slopes[:half], slopes[half:]
    return {
        "marginal_seconds_per_1000_tags": wall,
        "marginal_cpu_seconds_per_1000_tags": cpu,
        "last_to_first_slope_ratio": round(wall[-1] / wall[0], 3) if len(wall) > 1 and wall[0] > 0 else None,
        "last_to_first_cpu_slope_ratio": round(cpu[-1] / cpu[0], 3) if len(cpu) > 1 and cpu[0] > 0 else None,
        "largest_to_smallest_microseconds_per_tag": round(
            rows[-1]["microseconds_per_tag"] / rows[0]["microseconds_per_tag"], 3
        ),
    }


MIB = 1 << 20
INVENTORIES_RSS_GROWTH = 0.10  # peak RSS, the same fleet as the most files vs as the fewest
LINEAR_SLOPE_RATIO = 1.5  # the last marginal cost per tag over the first, as for one inventory


def fleet_targets(fleet: dict[str, Any], add: Callable[[str, object, str, bool | None], None]) -> None:
    """The fleet report's targets: time linear in tags, memory flat in inventories, following manifests."""
    linear = fleet["linearity"]
    runs = linear["runs"]
    largest = runs[-1]
    span = f"{runs[0]['tags']:,}..{largest['tags']:,} tags, {largest['inventories']} inventories"
    # In CPU seconds: a run on the largest fleet lasts a minute and reads 1.6 GB of files, so its
    # wall time also holds the shared machine's other work and page cache it dropped meanwhile.
    ratio = linear["last_to_first_cpu_slope_ratio"]
    add(
        f"fleet report CPU time linear in tags ({span}; CPU µs/tag"
        f" {' / '.join(str(run['cpu_microseconds_per_tag']) for run in runs)})",
        f"slope ratio {ratio}",
        f"<= {LINEAR_SLOPE_RATIO}",
        ratio is not None and ratio <= LINEAR_SLOPE_RATIO,
    )
    add(
        f"(context) the same in wall time (µs/tag {' / '.join(str(run['microseconds_per_tag']) for run in runs)})",
        f"slope ratio {linear['last_to_first_slope_ratio']}",
        "-",
        None,
    )
    add(
        f"(context) fleet report on {largest['tags']:,} tags, {largest['inventories']} inventories",
        f"{largest['seconds']:.1f} s, {largest['cpu_seconds']:.1f} CPU-s, {largest['max_rss_bytes'] / MIB:.0f} MiB",
        "-",
        None,
    )
    split = fleet["inventories"]["runs"]
    fewest, most = split[0], split[-1]
    growth = most["max_rss_bytes"] / fewest["max_rss_bytes"] - 1
    each = " / ".join(f"{run['max_rss_bytes'] / MIB:.0f}" for run in split)
    add(
        f"fleet report peak RSS, {fewest['tags']:,} tags as {most['inventories']} vs {fewest['inventories']}"
        f" inventories (MiB: {each})",
        f"{growth * 100:+.1f}%",
        f"<= {INVENTORIES_RSS_GROWTH * 100:+.0f}%",
        growth <= INVENTORIES_RSS_GROWTH,
    )
    fewer, more = fleet["manifests"]["runs"]
    distinct = (more["manifests"] + more["blobs"]) / (fewer["manifests"] + fewer["blobs"])
    add(
        f"(context) fleet report peak RSS, {more['tags']:,} tags, {distinct:.2f}x the distinct manifests and blobs",
        f"{more['max_rss_bytes'] / fewer['max_rss_bytes']:.2f}x"
        f" ({fewer['max_rss_bytes'] / MIB:.0f} -> {more['max_rss_bytes'] / MIB:.0f} MiB)",
        "-",
        None,
    )


def fleet_rows(fleet: dict[str, Any]) -> list[tuple[str, str, int, float]]:
    """One row per fleet reported: its name, wall seconds (with every run's), peak RSS; and its CPU seconds."""
    rows = []
    for part in ("linearity", "inventories", "manifests"):
        for run in fleet[part]["runs"]:
            if part == "manifests" and run["tags_per_image"] == 1:
                continue  # the linearity's first row, listed there
            files = _count(run["inventories"], "inventory", "inventories")
            hosts = _count(run["registries"], "registry", "registries")
            name = (
                f"costcalc report, fleet of {run['tags']:,} tags in {files} of {hosts} ({run['manifests']:,}"
                f" manifests, {run['blobs']:,} blobs; {run['microseconds_per_tag']} µs/tag)"
            )
            seconds = f"{run['seconds']} (runs: {' / '.join(map(str, run['seconds_of_runs']))})"
            rows.append((name, seconds, run["max_rss_bytes"], run["cpu_seconds"]))
    return rows


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", nargs=2, metavar=("SHAPE_JSON", "DIR"), required=True)
    args = parser.parse_args()
    written = write_fleet(Shape(**json.loads(args.write[0])), Path(args.write[1]))
    print(json.dumps(written))  # measure_fleet reads the fleet's counts from here


if __name__ == "__main__":
    main()
