"""Small inventories built in code, shared by the figures and inventory-file tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from costcalc.inventory.merge import Fleet, RegistryInventory
from costcalc.inventory.model import BlobRef, Inventory, ManifestRecord, build_inventory
from costcalc.pricing.book import PriceBook, Tier, TieredRate

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def d(name: str) -> str:
    return "sha256:" + name.encode().hex().ljust(64, "0")[:64]


def layer(name: str, size: int, foreign: bool = False) -> BlobRef:
    return BlobRef(media_type=LAYER, digest=d(name), size_bytes=size, foreign=foreign)


def image(
    config: str,
    config_size: int,
    *layers: BlobRef,
    size: int = 500,
    platform: str = "linux/amd64",
    created: datetime | None = None,
) -> ManifestRecord:
    return ManifestRecord(
        media_type=MANIFEST,
        size_bytes=size,
        kind="image",
        platform=platform,
        created=created,
        config=BlobRef(media_type=CONFIG, digest=d(config), size_bytes=config_size),
        layers=layers,
    )


def when(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def small_fleet() -> Inventory:
    """Three repositories sharing base layer 'base' (900 bytes); api has two versions."""
    manifests = {
        d("api1"): image("capi1", 10, layer("base", 900), layer("api-v1", 300), created=when(1)),
        d("api2"): image("capi2", 10, layer("base", 900), layer("api-v2", 400), created=when(2)),
        d("web1"): image("cweb1", 20, layer("base", 900), layer("web", 100), created=when(1)),
        d("job1"): image("cjob1", 30, layer("base", 900), created=when(1)),
    }
    tags = {
        "acme/api": [("v1", d("api1")), ("v2", d("api2")), ("latest", d("api2"))],
        "acme/web": [("latest", d("web1"))],
        "acme/job": [("latest", d("job1"))],
    }
    return build_inventory("r.example", "acme", when(3), tags, manifests)


def flat_book(dedup: str = "registry") -> PriceBook:
    """A price book of round figures: $0.10 per GB-month stored, $0.09 per GB of internet egress."""
    return PriceBook(
        id="flat",
        name="flat",
        provider="test",
        region="here",
        currency="USD",
        unit="GB",
        dedup_scope=dedup,  # type: ignore[arg-type]
        effective_date=date(2026, 11, 1),
        sources=("https://example.test",),
        storage=TieredRate(tiers=(Tier(price=Decimal("0.10")),)),
        egress={"internet": TieredRate(tiers=(Tier(price=Decimal("0.09")),))},
    )


def by_registry(inputs: list[tuple[str, Inventory]]) -> tuple[RegistryInventory, ...]:
    """INPUTS (source, inventory) merged per registry, sorted by registry, as the CLI's Fleet does."""
    fleet = Fleet()
    for source, inventory in inputs:
        fleet.add(source, inventory)
    return fleet.registries()
