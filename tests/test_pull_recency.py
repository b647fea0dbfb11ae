"""Pull recency: bytes of versions not pulled for 30/90/180 days, and of those never pulled."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from costcalc.inventory.model import Inventory, build_inventory
from costcalc.pricing.book_file import load_book
from costcalc.render import json as json_render
from costcalc.render import table
from costcalc.report import build
from costcalc.report.recency import pull_recency
from tests.inventory_builders import d, image, layer, when

SCANNED = when(1) + timedelta(days=365)


def fleet() -> Inventory:
    """app: v1 pulled 200 days before the scan, v2 60 days, v3 yesterday, an untagged one never."""
    pulled = {"v1": 200, "v2": 60, "v3": 1, "old": None}
    manifests = {}
    for index, (name, days) in enumerate(pulled.items()):
        record = image(f"c{name}", 10, layer("base", 1000), layer(f"own-{name}", 100 * (index + 1)))
        manifests[d(f"m-{name}")] = replace(
            record, last_pulled_at=None if days is None else SCANNED - timedelta(days=days)
        )
    tags = {"app": [("v1", d("m-v1")), ("v2", d("m-v2")), ("v3", d("m-v3")), ("stable", d("m-v3"))]}
    return build_inventory("r.example", "", SCANNED, tags, manifests, untagged={"app": [d("m-old")]})


def test_each_window_counts_the_versions_pulled_longer_ago_and_the_bytes_only_they_reach() -> None:
    (app,) = pull_recency(fleet())
    assert app.versions == 4  # v3 and stable are one version
    own = {"v1": 500 + 10 + 100, "v2": 500 + 10 + 200, "old": 500 + 10 + 400}  # manifest, config, own layer
    assert (app.not_pulled[30].versions, app.not_pulled[30].size_bytes) == (2, own["v1"] + own["v2"])
    assert (app.not_pulled[90].versions, app.not_pulled[90].size_bytes) == (1, own["v1"])
    assert (app.not_pulled[180].versions, app.not_pulled[180].size_bytes) == (1, own["v1"])
    # 'base' is shared with versions pulled recently: in no stale figure
    assert (app.unknown.versions, app.unknown.size_bytes) == (1, own["old"])


def test_an_inventory_without_pull_times_has_no_recency() -> None:
    inventory = build_inventory("r.example", "", when(3), {"a": [("v1", d("m"))]}, {d("m"): image("c", 1)})
    assert pull_recency(inventory) == ()
    report = build(inventory, None, [load_book("aws-ecr")])
    assert "pull_recency" not in json.loads(json_render.render(report))
    assert "Pull recency" not in table.render(report)


def test_the_report_shows_recency_in_json_and_the_table() -> None:
    report = build(fleet(), None, [load_book("aws-ecr")])
    (entry,) = json.loads(json_render.render(report))["pull_recency"]
    assert entry["not_pulled_in_days"]["30"] == {"versions": 2, "bytes": 610 + 710}
    assert entry["never_pulled_or_unknown"] == {"versions": 1, "bytes": 910}
    text = table.render(report, width=200)
    assert "Pull recency" in text
    assert "app (4 versions): not pulled in 30 days: 2 versions, 1.29 KiB; 90 days: 1 version" in text
