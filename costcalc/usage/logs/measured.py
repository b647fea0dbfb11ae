"""Measured usage: pulls and bytes served per repository and source class, as a usage CSV or JSON data."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from costcalc.units import ARITHMETIC, plain, round_half_up, utc_timestamp, whole_bytes, whole_parts
from costcalc.usage.file import COLUMNS, HOURS_PER_MONTH, MEASURED_COLUMNS

_CELL_PLACES = 2  # pulls per month, as the usage CSV and JSON write them
_HOURS_PLACES = 6


@dataclass(frozen=True, slots=True)
class ClassUsage:
    """What one repository served to one source class over the log's period."""

    source: str
    cold_pulls: int
    warm_pulls: int
    requests: int  # manifest and blob downloads
    served_bytes: int  # of those whose size is known
    unknown_size_requests: int

    @property
    def pulls(self) -> int:
        return self.cold_pulls + self.warm_pulls


@dataclass(frozen=True, slots=True)
class RepositoryUsage:
    """One repository's usage, by source class, with its tags and platforms by pulls (most pulled first)."""

    repository: str
    classes: tuple[ClassUsage, ...]
    tags: tuple[tuple[str, int], ...]
    platforms: tuple[tuple[str, int], ...] = ()

    @property
    def source(self) -> str:
        """The class that took the most bytes (pulls where no size is known)."""
        return max(self.classes, key=lambda usage: (usage.served_bytes, usage.pulls, usage.source)).source

    @property
    def tag(self) -> str | None:
        return self.tags[0][0] if self.tags else None

    @property
    def platform(self) -> str | None:
        return self.platforms[0][0] if self.platforms else None

    def total(self, name: str) -> int:
        return int(sum(getattr(usage, name) for usage in self.classes))


@dataclass(frozen=True, slots=True)
class Measurement:
    """Usage read from logs: the time span the requests cover, and each repository's usage."""

    start: float | None
    end: float | None
    repositories: tuple[RepositoryUsage, ...]
    unattributed_blobs: int  # blob downloads with no pull by the same client before them

    @property
    def span_hours(self) -> Decimal:
        if self.start is None or self.end is None:
            return Decimal(0)
        return Decimal(str(self.end - self.start)) / 3600


def per_month(count: int, period_hours: Decimal) -> Decimal:
    """COUNT over PERIOD_HOURS as a count per 730-hour month."""
    return ARITHMETIC.divide(ARITHMETIC.multiply(Decimal(count), HOURS_PER_MONTH), period_hours)


def bytes_per_month(size_bytes: int, period_hours: Decimal) -> int:
    """SIZE_BYTES over PERIOD_HOURS as whole bytes per 730-hour month (half up)."""
    return whole_bytes(per_month(size_bytes, period_hours))


def usage_csv(measurement: Measurement, period_hours: Decimal) -> str:
    """A usage file (the columns `costcalc report --usage` reads): one row per repository and
    source class, most bytes first.

    Cold pulls are `pulls_per_month`; warm pulls are `deploys_per_month` on one node each.
    `measured_bytes_per_month` is what the class was served; it is blank where some of its
    downloads have no size (a partial figure would understate the traffic)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS + MEASURED_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for usage in measurement.repositories:
        ordered = sorted(usage.classes, key=lambda part: (-part.served_bytes, -part.pulls, part.source))
        # whole bytes per class that add up to the repository's rounded total
        measured = whole_parts(
            [None if part.unknown_size_requests else per_month(part.served_bytes, period_hours) for part in ordered]
        )
        for part, measured_bytes in zip(ordered, measured, strict=True):
            warm = part.warm_pulls
            writer.writerow(
                {
                    "repository": usage.repository,
                    "source": part.source,
                    "pulls_per_month": plain(per_month(part.cold_pulls, period_hours), _CELL_PLACES),
                    "deploys_per_month": plain(per_month(warm, period_hours), _CELL_PLACES) if warm else "",
                    "nodes": "1" if warm else "",
                    "tag": usage.tag or "",
                    "platform": usage.platform or "",
                    "measured_bytes_per_month": "" if measured_bytes is None else str(measured_bytes),
                }
            )
    return out.getvalue()


def measurement_data(measurement: Measurement, period_hours: Decimal) -> dict[str, Any]:
    """MEASUREMENT as JSON-ready data: raw counts over the period, and per-month figures."""
    return {
        "period": {
            "start": _time(measurement.start),
            "end": _time(measurement.end),
            "hours": float(round_half_up(period_hours, _HOURS_PLACES)),
            "span_hours": float(round_half_up(measurement.span_hours, _HOURS_PLACES)),
        },
        "unattributed_blob_requests": measurement.unattributed_blobs,
        "repositories": [
            {
                "repository": usage.repository,
                "source": usage.source,
                "tag": usage.tag,
                "platform": usage.platform,
                "pulls": usage.total("pulls"),
                "cold_pulls": usage.total("cold_pulls"),
                "warm_pulls": usage.total("warm_pulls"),
                "served_bytes": usage.total("served_bytes"),
                "served_bytes_per_month": bytes_per_month(usage.total("served_bytes"), period_hours),
                "unknown_size_requests": usage.total("unknown_size_requests"),
                "tags": dict(usage.tags),
                "platforms": dict(usage.platforms),
                "classes": [
                    {
                        "source": part.source,
                        "pulls": part.pulls,
                        "cold_pulls": part.cold_pulls,
                        "warm_pulls": part.warm_pulls,
                        "pulls_per_month": float(round_half_up(per_month(part.cold_pulls, period_hours), _CELL_PLACES)),
                        "deploys_per_month": float(
                            round_half_up(per_month(part.warm_pulls, period_hours), _CELL_PLACES)
                        ),
                        "requests": part.requests,
                        "served_bytes": part.served_bytes,
                        "served_bytes_per_month": bytes_per_month(part.served_bytes, period_hours),
                        "unknown_size_requests": part.unknown_size_requests,
                    }
                    for part in usage.classes
                ],
            }
            for usage in measurement.repositories
        ],
    }


def _time(moment: float | None) -> str | None:
    # to the microsecond: a log's times carry fractions of a second, and span_hours is computed from them
    return None if moment is None else utc_timestamp(datetime.fromtimestamp(moment, UTC), timespec="auto")
