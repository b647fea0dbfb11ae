"""Quantities: what each repository stores and serves in a month, measured from inventory and usage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from costcalc.inventory.model import DEFAULT_PLATFORM, Inventory, Repository, Summary
from costcalc.inventory.versions import is_referrer
from costcalc.pricing.book import PriceBook
from costcalc.report.untagged import untagged_bytes
from costcalc.scenarios.quantities import Quantities, RowQuantities
from costcalc.scenarios.state import FALLBACK_CLASS, egress_onto
from costcalc.units import ARITHMETIC
from costcalc.usage.file import Usage, UsageRow

DEFAULT_SOURCE = "internet"


@dataclass(frozen=True, slots=True)
class Measurements:
    """What measure() finds that no price book changes: one measure_usage() serves every book.

    ROWS are the repositories' quantities (sorted by name) with storage_bytes left at 0 and
    egress under the usage row's own class; measure() attributes storage under a book's dedup
    scope and substitutes the classes a compared book does not price.
    """

    registry: str
    namespace: str
    rows: tuple[RowQuantities, ...]
    single_version: tuple[str, ...]  # repositories with warm pulls and a single version
    default_source: tuple[str, ...]  # repositories whose usage row names no source
    unknown_egress: int  # repositories without pull data
    warnings: tuple[str, ...]
    scanned_at: datetime | None
    summary: Summary | None
    usage_source: str | None


def measure_usage(inventory: Inventory, usage: Usage | None) -> Measurements:
    """The book-independent half of measure(): pulled image, pull and delta bytes, pulls, egress."""
    figures = inventory.figures
    names = [repo.name for repo in inventory.repositories]
    warnings: list[str] = []
    if usage is None:
        warnings.append(
            "No usage file: egress is unknown for every repository (pass --usage FILE; "
            "`costcalc usage init` writes a template)."
        )
    else:
        warnings += [
            f"{usage.source}:{row.line}: repository: pattern {row.pattern!r} matches no repository in the inventory."
            for row in usage.unmatched(names)
        ]
    single_version: list[str] = []
    default_source: list[str] = []
    rows: list[RowQuantities] = []
    repository_bytes = figures.repository_bytes
    zero = Decimal(0)
    with localcontext(ARITHMETIC):
        for repo in inventory.repositories:
            name = repo.name
            # the best row first, then the same pattern's rows for other source classes
            matched = usage.matches(name) if usage is not None else ()
            match = matched[0] if matched else None
            digest, tag, tag_warning = _pulled(inventory, repo, match)
            if tag_warning:
                warnings.append(tag_warning)
            platform: str | None = None
            image = pull = delta = zero
            if digest is not None:
                wanted = match.platform if match else None
                platform = figures.default_platform(digest, wanted) or figures.default_platform(digest)
                available = sorted(figures.platforms(digest))
                if match is not None and wanted and platform != wanted:
                    warnings.append(
                        f"{usage.source if usage else ''}:{match.line}: platform: {name}:{tag} has no "
                        f"{wanted} image (it has {', '.join(available) or 'none'}); pulls are priced "
                        f"on {platform or 'all it reaches'}."
                    )
                elif (
                    not wanted
                    and len(available) > 1
                    and platform not in (None, DEFAULT_PLATFORM)
                    and match is not None
                    and match.has_pull_data
                ):
                    warnings.append(
                        f"{name}:{tag} has no {DEFAULT_PLATFORM} image and several platforms "
                        f"({', '.join(available)}); pulls are priced on {platform}: set `platform` in "
                        f"the usage row ({usage.source if usage else ''}:{match.line}) to choose."
                    )
                if platform is not None:
                    image = Decimal(figures.platforms(digest).get(platform, 0))
                    pull = Decimal(figures.pull_bytes(digest, platform))
                else:  # an artifact (Helm chart, signature): a pull fetches all it reaches
                    pull = Decimal(sum(figures.reachable(digest).values()))
            deltas, transitions = figures.version_delta_bytes(name, platform)
            delta = Decimal(deltas) if deltas or transitions else pull
            pulls: Decimal | None = None
            cold_total: Decimal | None = None  # of the pulls, those fetching the whole image
            egress: dict[str, Decimal] | None = None
            modelled_egress: Decimal | None = None
            if match is not None and match.has_pull_data:
                # one usage row per source class the repository is pulled from
                pulls = cold_total = zero
                egress = {}
                measured_parts = 0
                modelled_total = zero
                any_warm = False
                for part in matched:
                    cold = part.pulls_per_month or zero
                    warm = (part.deploys_per_month or zero) * (part.nodes or zero)
                    pulls += cold + warm
                    cold_total += cold
                    any_warm = any_warm or bool(warm)
                    if part.source is None and name not in default_source:
                        default_source.append(name)
                    modelled = cold * pull + warm * delta
                    measured = part.measured_bytes_per_month
                    source_class = part.source or DEFAULT_SOURCE
                    egress[source_class] = egress.get(source_class, zero) + (modelled if measured is None else measured)
                    modelled_total += modelled
                    measured_parts += measured is not None
                if measured_parts == len(matched):  # compared only where every class was measured
                    modelled_egress = modelled_total
                if any_warm and transitions == 0:
                    single_version.append(name)
            else:
                reason = (
                    "no usage row matches it"
                    if match is None
                    else f"its usage row ({usage.source if usage else ''}:{match.line}) has no pulls or deploys"
                )
                if usage is not None:
                    warnings.append(f"{name}: no pull data ({reason}): egress unknown, not counted in totals.")
            rows.append(
                RowQuantities(
                    repository=name,
                    team=match.team if match else None,
                    tags=len(repo.tags),
                    unique_bytes=repository_bytes.get(name, 0),
                    storage_bytes=zero,
                    image_bytes=image,
                    pull_bytes=pull,
                    delta_bytes=delta,
                    pulls_per_month=pulls,
                    egress_bytes_by_class=egress,
                    pulled_tag=tag,
                    platform=platform,
                    modelled_egress_bytes=modelled_egress,
                    cold_pulls_per_month=cold_total,
                    nodes=match.nodes if match is not None and match.has_pull_data else None,
                )
            )
    if inventory.errors:
        warnings.append(
            f"The inventory records {len(inventory.errors)} scan error(s): what could not be read is not counted."
        )
    return Measurements(
        registry=inventory.registry,
        namespace=inventory.namespace,
        rows=tuple(sorted(rows, key=lambda r: r.repository)),
        single_version=tuple(single_version),
        default_source=tuple(default_source),
        unknown_egress=sum(1 for row in rows if row.egress_bytes_by_class is None),
        warnings=tuple(warnings),
        scanned_at=inventory.scanned_at,
        summary=figures.summary(),
        usage_source=usage.source if usage is not None else None,
    )


def measure(
    inventory: Inventory,
    usage: Usage | None,
    book: PriceBook,
    *,
    substitute_classes: bool = False,
    measurements: Measurements | None = None,
) -> Quantities:
    """Bytes stored and served per month of every repository of INVENTORY under BOOK's dedup scope.

    With SUBSTITUTE_CLASSES (a book compared side by side), a usage source the book does not
    price is billed as internet egress and said so; otherwise check_sources() has vetted them.
    MEASUREMENTS, if given, is measure_usage(INVENTORY, USAGE), shared by several books.
    """
    if measurements is None:
        measurements = measure_usage(inventory, usage)
    attributed = inventory.figures.attributed_bytes(book.dedup_scope)
    untagged = untagged_bytes(inventory, book.dedup_scope)
    assumptions = [
        (
            "Storage is billed on registry-wide deduplicated bytes: a blob shared by several "
            "repositories is stored once and its bytes are split evenly among them."
            if book.dedup_scope == "registry"
            else "Storage is billed on per-repository deduplicated bytes: a blob shared by several "
            "repositories is stored (and billed) once in each."
        ),
        "A month is 730 hours; pulls_per_day are converted to pulls_per_month as × 730/24.",
        "A cold pull transfers the manifest(s), config and layers of the pulled platform; a warm "
        "pull (each deploy on each node) transfers only the layers new in that version.",
    ]
    substituted: set[str] = set()
    rows: list[RowQuantities] = []
    for row in measurements.rows:
        update: dict[str, object] = {"storage_bytes": Decimal(attributed.get(row.repository, 0))}
        if row.repository in untagged:
            update["untagged_images"] = untagged[row.repository].images
            update["untagged_bytes"] = Decimal(untagged[row.repository].attributed_bytes)
        egress = row.egress_bytes_by_class
        if substitute_classes and egress is not None:
            # a repository pulled over several classes has a row for each: every one is mapped
            mapped, unmapped = egress_onto(egress, book)
            if unmapped:
                substituted |= unmapped
                update["egress_bytes_by_class"] = mapped
        rows.append(row.model_copy(update=update))
    single_version, default_source = measurements.single_version, measurements.default_source
    if single_version:
        assumptions.append(
            f"{_names(single_version)} {'has' if len(single_version) == 1 else 'have'} a single version: "
            "a warm pull is assumed to fetch the full image."
        )
    if default_source:
        assumptions.append(f"Pulls with no source are billed as {DEFAULT_SOURCE} egress ({_names(default_source)}).")
    assumptions += [
        f"{book.id} has no {name} egress class: those pulls are billed as {FALLBACK_CLASS} egress."
        for name in sorted(substituted)
    ]
    measured = [row.repository for row in rows if row.modelled_egress_bytes is not None]
    if measured:
        assumptions.append(
            f"Egress of {_names(measured)} is the bytes the registry served, as measured from its logs "
            "(the usage file's measured_bytes_per_month); what the model predicts for the same pulls "
            "is shown beside it."
        )
    unknown = measurements.unknown_egress
    if unknown and rows:
        assumptions.append(
            f"Egress is a lower bound: {unknown} of {len(rows)} repositories "
            f"{'has' if unknown == 1 else 'have'} no pull data."
        )
    return Quantities(
        registry=measurements.registry,
        namespace=measurements.namespace,
        rows=tuple(rows),
        assumptions=tuple(assumptions),
        warnings=measurements.warnings,
        scanned_at=measurements.scanned_at,
        summary=measurements.summary,
        usage_source=measurements.usage_source,
    )


def _pulled(
    inventory: Inventory, repo: Repository, match: UsageRow | None
) -> tuple[str | None, str | None, str | None]:
    """(digest, tag, warning) of the image a pull of REPO fetches."""
    figures = inventory.figures
    name = repo.name
    tags = {t.tag: t.digest for t in repo.tags}
    warning = None
    if match is not None and match.tag:
        if match.tag in tags:
            return tags[match.tag], match.tag, None
        warning = f"{name}: tag {match.tag!r} (usage line {match.line}) not found; the default tag is priced."
    if "latest" in tags:
        return tags["latest"], "latest", warning
    # a referrer (signature, SBOM index under a sha256-<hex> tag) is never what a pull fetches
    versions = figures.image_versions(name) or tuple(v for v in figures.versions(name) if not is_referrer(v))
    if not versions:
        return None, None, warning
    newest = versions[-1]
    return newest.digest, newest.tags[0] if newest.tags else None, warning


def _names(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"
