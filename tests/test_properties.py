"""Property-based tests: parsers fail only with their own errors, and the cost arithmetic keeps
its invariants for any inventory (hypothesis, modest example counts for a 2-core CI)."""

from __future__ import annotations

import contextlib
import json
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costcalc.errors import InputError, InvalidReference, ManifestError
from costcalc.inventory.model import BlobRef, ManifestRecord, build_inventory
from costcalc.pricing.book import PriceBook, Tier, TieredRate
from costcalc.pricing.book_file import load_book
from costcalc.reference import (
    REPOSITORY_RE,
    TAG_RE,
    parse_image_reference,
    parse_target,
    validate_repository,
)
from costcalc.registry.oci import parse_manifest
from costcalc.report import measure, price
from costcalc.scenarios.file import loads_scenarios
from costcalc.scenarios.spec import parse_spec
from costcalc.usage.file import Usage, loads_csv, loads_toml
from tests.hostile import OCI_INDEX, OCI_LAYER, canonical, config_body, digest_of, image_manifest

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
NOW = datetime(2026, 11, 27, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "mediaType",
                    "digest",
                    "size",
                    "layers",
                    "config",
                    "manifests",
                    "schemaVersion",
                    "artifactType",
                    "platform",
                    "blobs",
                    "fsLayers",
                    "annotations",
                    "urls",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


# -- the manifest parser --------------------------------------------------------------


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from([None, "application/json", OCI_INDEX, "x/y"]))
def test_manifest_parser_on_arbitrary_bytes_raises_only_manifest_error(body: bytes, content_type: str | None) -> None:
    with contextlib.suppress(ManifestError):
        parse_manifest(body, digest_of(body), content_type)


@SETTINGS
@given(json_values)
def test_manifest_parser_on_arbitrary_json_raises_only_manifest_error(value: Any) -> None:
    body = json.dumps(value).encode()
    with contextlib.suppress(ManifestError):
        parse_manifest(body, digest_of(body))


sizes = st.integers(min_value=0, max_value=2**53)


@SETTINGS
@given(st.lists(sizes, max_size=20), st.sampled_from(["linux/amd64", "linux/arm64"]))
def test_valid_manifests_round_trip_their_sizes(layer_sizes: list[int], platform: str) -> None:
    config = config_body(*platform.split("/"))
    layers = [
        {"mediaType": OCI_LAYER, "digest": digest_of(str(i).encode()), "size": s} for i, s in enumerate(layer_sizes)
    ]
    body = image_manifest(config, layers)
    parsed = parse_manifest(body, digest_of(body))
    assert parsed.size_bytes == len(body)
    assert [x.size_bytes for x in parsed.layers] == layer_sizes
    assert parsed.config is not None and parsed.config.size_bytes == len(config)
    index = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest_of(body),
                    "size": len(body),
                    "platform": dict(zip(("os", "architecture"), platform.split("/"), strict=True)),
                }
            ],
        }
    )
    parsed_index = parse_manifest(index, digest_of(index))
    assert [(c.size_bytes, c.platform) for c in parsed_index.children] == [(len(body), platform)]


# -- the reference parser -------------------------------------------------------------


@SETTINGS
@given(st.text(max_size=300))
def test_reference_parsers_raise_only_invalid_reference(text: str) -> None:
    for parse in (parse_target, parse_image_reference, validate_repository):
        with contextlib.suppress(InvalidReference):
            parse(text)


@settings(SETTINGS, max_examples=40)
@given(
    st.from_regex(REPOSITORY_RE, fullmatch=True).filter(lambda n: len(n) <= 255), st.from_regex(TAG_RE, fullmatch=True)
)
def test_valid_names_and_tags_are_accepted(name: str, tag: str) -> None:
    assert validate_repository(name) == name
    reference = parse_image_reference(f"{name}:{tag}")
    assert (reference.repository, reference.tag) == (name, tag)
    target = parse_target(f"registry.example:5000/{name}")
    assert (target.registry, target.namespace) == ("registry.example:5000", name)


# -- the usage and price-book loaders ---------------------------------------------------

usage_cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["*", "acme/*", "1", "-1", "1e999", "NaN", "0.5", "internet", "same-region", "=cmd"]),
)
usage_columns = st.lists(
    st.sampled_from(
        [
            "repository",
            "pulls_per_month",
            "pulls_per_day",
            "deploys_per_month",
            "nodes",
            "source",
            "tag",
            "platform",
            "team",
            "bogus",
        ]
    ),
    min_size=1,
    max_size=6,
)


@SETTINGS
@given(st.text(max_size=400))
def test_usage_loaders_on_arbitrary_text_give_input_error_or_usage(text: str) -> None:
    for load in (loads_csv, loads_toml):
        with contextlib.suppress(InputError):
            assert isinstance(load(text, "usage.x"), Usage)


spec_texts = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda kind, argument: f"{kind}:{argument}",
        st.sampled_from(["target", "ratio", "measured", "retention", "colocate", "provider", "alpine"]),
        st.text(alphabet="0123456789.eE+-dDkKmMgGiIbBtT%:=/a", max_size=30),
    ),
)


@SETTINGS
@given(spec_texts)
def test_any_spec_gives_a_scenario_or_one_sentence(text: str) -> None:
    try:
        scenario = parse_spec(text)
    except InputError as exc:
        message = str(exc)
        assert message.endswith(".") and "\n" not in message and len(message) < 600
    else:
        assert scenario.id == text.strip()


scenario_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.sampled_from(["alpine", "retention:3"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["spec", "id", "description", "repositories", "keep", "x"]), children, max_size=4
        )
    ),
    max_leaves=12,
)


def toml_value(value: object) -> str:
    """VALUE as a TOML inline value (None is left out by the caller)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value if v is not None) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items() if v is not None) + "}"


@SETTINGS
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["spec", "id", "description", "repositories", "keep", "x"]), scenario_values, max_size=5
        ),
        max_size=4,
    )
)
def test_any_scenario_file_gives_scenarios_or_every_problem_with_a_line(tables: list[dict[str, object]]) -> None:
    text = "".join(
        "[[scenarios]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in table.items() if v is not None)
        for table in tables
    )
    try:
        scenarios = loads_scenarios(text, "s.toml")
    except InputError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.startswith("s.toml:") and problem.endswith(".")
            assert problem.split(":")[1].isdecimal()
    else:
        assert len(scenarios) == len(tables)


@SETTINGS
@given(usage_columns, st.lists(st.lists(usage_cells, max_size=7), max_size=5))
def test_usage_csv_of_csv_shape_gives_input_error_or_usage(header: list[str], rows: list[list[str]]) -> None:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    with contextlib.suppress(InputError):
        assert isinstance(loads_csv(out.getvalue(), "usage.csv"), Usage)


book_fields = st.dictionaries(
    st.sampled_from(
        [
            "id",
            "name",
            "provider",
            "currency",
            "unit",
            "dedup_scope",
            "effective_date",
            "sources",
            "storage",
            "egress",
            "plan",
            "extends",
            "discount_pct",
            "notes",
        ]
    ),
    st.one_of(
        st.text(max_size=8),
        st.integers(),
        st.lists(st.text(max_size=5), max_size=2),
        st.fixed_dictionaries(
            {
                "tiers": st.lists(
                    st.fixed_dictionaries({"price": st.one_of(st.integers(-2, 5), st.text(max_size=3))}), max_size=2
                )
            }
        ),
    ),
    max_size=10,
)


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


@SETTINGS
@given(
    st.one_of(
        st.text(max_size=300), book_fields.map(lambda d: "\n".join(f"{k} = {_toml_value(v)}" for k, v in d.items()))
    )
)
def test_price_book_loader_on_arbitrary_text_gives_input_error_or_a_book(text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "custom.toml"
        path.write_text(text, encoding="utf-8")
        with contextlib.suppress(InputError):
            assert isinstance(load_book(str(path)), PriceBook)


# -- cost invariants -------------------------------------------------------------------

LAYER_POOL = [(f"L{i}", size) for i, size in enumerate([0, 1, 7, 1000, 123_456, 5 * 2**30])]


@st.composite
def inventories(draw: st.DrawFn) -> Any:
    manifests: dict[str, ManifestRecord] = {}
    tags: dict[str, list[tuple[str, str]]] = {}
    for r in range(draw(st.integers(1, 4))):
        pairs = []
        for t in range(draw(st.integers(0, 3))):
            chosen = draw(st.lists(st.sampled_from(LAYER_POOL), max_size=4))
            record = ManifestRecord(
                media_type="application/vnd.oci.image.manifest.v1+json",
                size_bytes=draw(st.integers(0, 5000)),
                kind="image",
                platform="linux/amd64",
                config=BlobRef(
                    media_type="application/vnd.oci.image.config.v1+json",
                    digest=digest_of(f"cfg{len(chosen)}".encode()),
                    size_bytes=50,
                ),
                layers=tuple(
                    BlobRef(media_type=OCI_LAYER, digest=digest_of(n.encode()), size_bytes=s) for n, s in chosen
                ),
            )
            digest = digest_of(f"{record.size_bytes}:{chosen}".encode())
            manifests[digest] = record
            pairs.append((f"v{t}", digest))
        tags[f"acme/r{r}"] = pairs
    return build_inventory("r.example", "acme", NOW, tags, manifests)


@SETTINGS
@given(inventories())
def test_attributed_bytes_sum_to_the_totals(inventory: Any) -> None:
    figures = inventory.figures
    assert sum(figures.attributed_bytes("registry").values()) == figures.unique_bytes
    assert sum(figures.attributed_bytes("repository").values()) == figures.per_repository_unique_bytes
    assert figures.unique_bytes <= figures.per_repository_unique_bytes <= figures.naive_bytes
    assert all(v >= 0 for v in figures.attributed_bytes("registry").values())


BOOK = load_book("aws-ecr")
BOOKS = [load_book(b) for b in ("aws-ecr", "azure-acr-basic", "gcp-artifact-registry")]


@SETTINGS
@given(inventories(), st.sampled_from(BOOKS))
def test_costs_are_never_negative_and_repricing_is_deterministic(inventory: Any, book: PriceBook) -> None:
    quantities = measure(inventory, None, book)
    first = price(quantities, book, generated_at=NOW)
    second = price(measure(inventory, None, book), book, generated_at=NOW)
    assert first == second
    assert first.totals.storage_cost >= 0 and first.totals.monthly_cost >= 0
    for row in first.rows:
        assert row.storage_cost >= 0 and row.monthly_cost >= 0
    assert sum((row.storage_cost for row in first.rows), Decimal(0)) == first.totals.storage_cost


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(1, 10_000), st.integers(0, 500)), min_size=0, max_size=4),
    st.integers(0, 1000),
    st.integers(0, 100),
    st.integers(0, 50_000),
    st.integers(0, 50_000),
)
def test_tier_pricing_is_monotonic_in_volume(
    bounds: list[tuple[int, int]], last: int, free: int, a: int, b: int
) -> None:
    ups = sorted({u for u, _ in bounds})
    prices = [p for _, p in bounds][: len(ups)]
    tiers = [Tier(up_to=Decimal(u), price=Decimal(p) / 100) for u, p in zip(ups, prices, strict=True)]
    rate = TieredRate(free=Decimal(free), tiers=(*tiers, Tier(price=Decimal(last) / 100)))
    low, high = sorted((Decimal(a) / 10, Decimal(b) / 10))
    assert Decimal(0) <= rate.cost(low) <= rate.cost(high)
    for book in BOOKS:
        for egress in book.egress.values():
            assert egress.cost(low) <= egress.cost(high)
