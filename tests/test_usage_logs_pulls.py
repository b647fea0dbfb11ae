"""Pull counting: pulls, warm and cold, source classes, bytes served, and the usage CSV they make."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costcalc.errors import InputError
from costcalc.usage.file import loads_csv
from costcalc.usage.logs.lookup import InventoryLookup
from costcalc.usage.logs.measured import usage_csv
from costcalc.usage.logs.networks import Networks, read_network_file
from costcalc.usage.logs.pulls import PullCounter
from costcalc.usage.logs.request import Request
from tests.inventory_builders import d, small_fleet

CONFIG, BASE, TOP = d("config"), d("base"), d("top")
SIZES = {CONFIG: 100, BASE: 9000, TOP: 1000}


def pull(
    at: float,
    client: str = "10.0.0.1",
    repository: str = "acme/api",
    reference: str = "v1",
    blobs: tuple[str, ...] = (CONFIG, BASE, TOP),
    agent: str = "containerd/1.7",
    manifest_bytes: int = 500,
) -> list[Request]:
    """The requests of one pull: the manifest GET, then each blob a second apart."""
    found = [Request(at, client, agent, "GET", "manifest", repository, reference, 200, manifest_bytes)]
    found += [
        Request(at + 1 + index, client, agent, "GET", "blob", repository, blob, 200, SIZES.get(blob, 0))
        for index, blob in enumerate(blobs)
    ]
    return found


def count(
    requests: list[Request], networks: Networks | None = None, lookup: InventoryLookup | None = None
) -> PullCounter:
    counter = PullCounter(networks or Networks.parse([]), lookup)
    for request in sorted(requests, key=lambda r: r.time):
        counter.add(request)
    return counter


def totals(counter: PullCounter) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(repository, class) -> (cold pulls, warm pulls, bytes served)."""
    return {
        (usage.repository, part.source): (part.cold_pulls, part.warm_pulls, part.served_bytes)
        for usage in counter.measurement().repositories
        for part in usage.classes
    }


def test_a_client_that_fetches_every_layer_pulls_cold_one_that_fetches_only_the_config_warm() -> None:
    requests = pull(0) + pull(100, client="10.0.0.2") + pull(200, blobs=(CONFIG,)) + pull(300, blobs=())
    assert totals(count(requests)) == {("acme/api", "same-region"): (2, 2, 2 * 10100 + 100 + 4 * 500)}


def test_a_pull_that_fetches_half_or_more_of_the_fullest_is_cold() -> None:
    requests = pull(0) + pull(100, blobs=(BASE,)) + pull(200, blobs=(TOP, CONFIG))
    assert totals(count(requests))[("acme/api", "same-region")][:2] == (2, 1)


def test_head_requests_are_not_pulls_and_name_the_tag_of_a_pull_by_digest() -> None:
    digest = d("manifest")
    requests = [Request(0, "10.0.0.1", "containerd", "HEAD", "manifest", "acme/api", "v7", 200, 0)]
    requests += pull(1, reference=digest, agent="containerd")
    requests += [Request(50, "10.0.0.9", "curl", "HEAD", "manifest", "acme/api", "v8", 200, 0)]
    measured = count(requests).measurement().repositories
    assert [(u.repository, u.total("pulls"), u.tags) for u in measured] == [("acme/api", 1, (("v7", 1),))]


def test_an_index_and_its_platform_manifest_are_one_pull() -> None:
    requests = [Request(0, "10.0.0.1", "skopeo", "GET", "manifest", "acme/web", "latest", 200, 300)]
    requests += pull(0.5, repository="acme/web", reference=d("amd64"), agent="skopeo")
    (usage,) = count(requests).measurement().repositories
    assert (usage.total("pulls"), usage.total("served_bytes"), usage.tag) == (1, 300 + 500 + 10100, "latest")


def test_clients_are_told_apart_by_address_and_user_agent() -> None:
    # Two pulls interleaved: each client's blobs belong to its own pull.
    first = pull(0, agent="docker/24")
    second = pull(0.5, agent="containerd/1.7", blobs=(CONFIG,))
    assert totals(count(first + second))[("acme/api", "same-region")][:2] == (1, 1)


def test_blobs_long_after_a_pull_or_without_one_are_served_but_start_no_pull() -> None:
    late = [Request(5000, "10.0.0.1", "containerd/1.7", "GET", "blob", "acme/api", TOP, 200, 1000)]
    stray = [Request(10, "10.0.0.7", "curl", "GET", "blob", "acme/api", BASE, 200, 9000)]
    counter = count(pull(0, blobs=(CONFIG,)) + late + stray)
    assert totals(counter)[("acme/api", "same-region")] == (1, 0, 500 + 100 + 1000 + 9000)
    assert counter.measurement().unattributed_blobs == 2


def test_failed_requests_and_uploads_are_neither_pulls_nor_bytes() -> None:
    requests = [
        Request(0, "10.0.0.1", "docker", "GET", "manifest", "acme/api", "v1", 401, 150),
        Request(1, "10.0.0.1", "docker", "GET", "manifest", "acme/api", "nope", 404, 90),
        Request(2, "10.0.0.1", "docker", "PUT", "manifest", "acme/api", "v1", 201, 0),
        Request(2, "10.0.0.1", "docker", "GET", "blob", "acme/api", TOP, 304, 0),  # not modified: nothing sent
        Request(3, "10.0.0.1", "docker", "GET", "other", status=200, size_bytes=2),
    ]
    counter = count(requests + pull(10))
    assert totals(counter) == {("acme/api", "same-region"): (1, 0, 10600)}
    assert counter.measurement().unattributed_blobs == 0
    assert (counter.start, counter.end) == (0, 13)


def test_source_classes_by_network_longest_prefix_first_then_private_then_internet() -> None:
    networks = Networks.parse([("--network", "cross-region=10.1.0.0/16"), ("--network", "office=198.51.100.0/24")])
    requests = pull(0, client="10.1.2.3") + pull(10, client="10.2.0.1") + pull(20, client="198.51.100.9")
    requests += pull(30, client="203.0.113.5") + pull(40, client="::ffff:10.1.0.1") + pull(50, client="AWS Internal")
    classes = {source: cold for (_, source), (cold, _, _) in totals(count(requests, networks)).items()}
    assert classes == {"cross-region": 2, "same-region": 2, "office": 1, "internet": 1}


@pytest.mark.parametrize("spec", ["same-region", "x=10.0.0.0/33", "=10.0.0.0/8", "Bad Class=10.0.0.0/8", "a=b"])
def test_a_bad_network_is_one_sentence_naming_where(spec: str) -> None:
    with pytest.raises(InputError, match=r"^nets.txt:2: network: "):
        Networks.parse(read_network_file(f"# classes\n{spec}\n", "nets.txt"))


def test_sizes_come_from_the_inventory_where_the_log_has_none() -> None:
    fleet = small_fleet()
    requests = [
        Request(0, "203.0.113.1", "docker", "GET", "manifest", "acme/api", "v1", 200, None),
        Request(1, "203.0.113.1", "docker", "GET", "blob", "acme/api", d("capi1"), 200, None),
        Request(2, "203.0.113.1", "docker", "GET", "blob", "acme/api", d("base"), 307, 0),  # sent to storage
        Request(3, "203.0.113.1", "docker", "GET", "blob", "acme/api", d("api-v1"), 200, None),
        Request(4, "203.0.113.1", "docker", "GET", "blob", "acme/api", d("unknown"), 200, None),
    ]
    (usage,) = count(requests, lookup=InventoryLookup.of(fleet)).measurement().repositories
    assert (usage.total("served_bytes"), usage.total("unknown_size_requests")) == (500 + 10 + 900 + 300, 1)
    (without,) = count(requests).measurement().repositories
    assert (without.total("served_bytes"), without.total("unknown_size_requests")) == (0, 5)


def test_without_sizes_warm_and_cold_are_judged_by_the_blobs_fetched() -> None:
    unsized = [
        Request(r.time, r.client, r.agent, r.method, r.kind, r.repository, r.reference, 200, None)
        for r in pull(0) + pull(100, blobs=(CONFIG,)) + pull(200, blobs=(BASE, TOP))
    ]
    assert totals(count(unsized))[("acme/api", "same-region")][:2] == (2, 1)


def test_the_usage_csv_scales_to_a_month_and_is_read_back_by_the_usage_loader() -> None:
    requests = pull(0) + pull(100, blobs=(CONFIG,)) + pull(200, client="203.0.113.9")
    requests += pull(250, client="203.0.113.9", reference="v2", blobs=(CONFIG, TOP))
    requests += pull(300, client="203.0.113.9", repository="acme/web", reference="latest")
    requests += pull(400, client="10.0.0.3", repository="acme/web", reference="latest")
    requests += pull(500, client="10.0.0.4", repository="acme/web", reference="latest", blobs=(CONFIG,))
    measured = count(requests).measurement()
    text = usage_csv(measured, Decimal(24))  # a pull a day is 30.42 a month
    usage = loads_csv(text, "measured.csv")
    # one row per repository and source class, the class that took the most bytes first
    by_class = {
        (row.pattern, row.source): (row.pulls_per_month, row.deploys_per_month, row.nodes, row.tag)
        for name in ("acme/api", "acme/web")
        for row in usage.matches(name)
    }
    assert by_class == {
        ("acme/api", "internet"): (Decimal("60.83"), None, None, "v1"),  # two cold pulls from outside
        ("acme/api", "same-region"): (Decimal("30.42"), Decimal("30.42"), Decimal(1), "v1"),
        ("acme/web", "same-region"): (Decimal("30.42"), Decimal("30.42"), Decimal(1), "latest"),
        ("acme/web", "internet"): (Decimal("30.42"), None, None, "latest"),
    }
    assert [row.source for row in usage.matches("acme/api")] == ["internet", "same-region"]
    assert usage.match("acme/other") is None  # no row invented for what the logs do not show
