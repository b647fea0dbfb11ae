"""Names chosen by a hostile registry or a hand-edited inventory never reach a terminal raw,
and CSV cells never start a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from costcalc.inventory.model import BlobRef, ManifestRecord, build_inventory
from costcalc.pricing.book_file import load_book
from costcalc.render import csv as csv_render
from costcalc.render import html as html_render
from costcalc.render import json as json_render
from costcalc.render import markdown as markdown_render
from costcalc.render import table as table_render
from costcalc.report import Report, measure, price
from tests.hostile import OCI_LAYER, FakeRegistry, LoopbackServer, digest_of, serve_registry

REPO_ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 27, tzinfo=UTC)
HOSTILE_NAMES = [
    "acme/\x1b[2J\x1b[31mwiped",
    "acme/evil\nINJECTED-LINE",
    "acme/cr\rOVERWRITE",
    "acme/\x07bell\x00nul",
    "acme/\u202eevil-bidi",
    '=HYPERLINK("http://x")',
    "+cmd",
    "-2+3",
    "@SUM(A1)",
    "\tTAB",
    "\rCR",
    "acme/<script>alert(1)</script>",
    "acme/pipe|break",
]
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def hostile_report() -> Report:
    manifests = {}
    tags = {}
    for i, name in enumerate(HOSTILE_NAMES):
        digest = digest_of(name.encode())
        manifests[digest] = ManifestRecord(
            media_type="application/vnd.oci.image.manifest.v1+json",
            size_bytes=100 + i,
            kind="image",
            platform="linux/amd64",
            config=BlobRef(
                media_type="application/vnd.oci.image.config.v1+json",
                digest=digest_of(b"cfg" + name.encode()),
                size_bytes=10,
            ),
            layers=(BlobRef(media_type=OCI_LAYER, digest=digest_of(b"l" + name.encode()), size_bytes=10**9),),
        )
        tags[name] = [("latest", digest)]
    inventory = build_inventory("r.example", "", NOW, tags, manifests)
    book = load_book("aws-ecr")
    return price(measure(inventory, None, book), book, generated_at=NOW)


@pytest.fixture(scope="module")
def report() -> Report:
    return hostile_report()


def _lines_starting_with_injection(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith(("INJECTED-LINE", "OVERWRITE"))]


def test_table_renders_control_characters_escaped(report: Report) -> None:
    text = table_render.render(report, width=200, color=False)
    assert not RAW_CONTROL.search(text), repr(RAW_CONTROL.search(text))
    assert _lines_starting_with_injection(text) == []


def test_markdown_renders_control_characters_escaped(report: Report) -> None:
    text = markdown_render.render(report)
    assert not RAW_CONTROL.search(text)
    assert _lines_starting_with_injection(text) == []
    assert "<script>" not in text


def test_html_escapes_markup_and_control_characters(report: Report) -> None:
    text = html_render.render(report)
    assert "<script>alert(1)</script>" not in text
    assert not RAW_CONTROL.search(text)


def test_json_keeps_names_exact_and_escaped(report: Report) -> None:
    text = json_render.render(report)
    assert not RAW_CONTROL.search(text)
    names = {row["name"] for row in json.loads(text)["rows"]}
    assert names == set(HOSTILE_NAMES)  # JSON is for machines: exact, but escaped


def test_csv_neutralises_formulas_and_control_characters(report: Report) -> None:
    text = csv_render.render(report)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    for row in rows:
        for column, cell in row.items():
            if column in ("name", "team") and cell:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
                assert not RAW_CONTROL.search(cell), (column, cell)
    names = {row["name"] for row in rows}
    assert '\'=HYPERLINK("http://x")' in names
    assert "'+cmd" in names and "'-2+3" in names and "'@SUM(A1)" in names
    # numbers stay numbers: a negative amount is not a formula to neutralise
    for row in rows:
        for column in ("monthly_cost_usd", "storage_cost_usd"):
            if row[column]:
                float(row[column])


# -- the CLI, end to end, against a registry serving hostile tag names ---------------------


def test_cli_scan_never_writes_raw_escape_sequences_to_the_terminal(tmp_path: Path) -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    with LoopbackServer() as server:
        registry.host = server.host
        serve_registry(server, registry)
        hostile_tags = ["v1", "\x1b[2J\x1b[31mred", "line\nINJECTED-LINE", "\x07bell", None]

        def tags(handler) -> None:  # type: ignore[no-untyped-def]
            handler.respond(200, json.dumps({"name": "acme/api", "tags": hostile_tags}).encode())

        def catalog(handler) -> None:  # type: ignore[no-untyped-def]
            names = ["acme/api", "acme/\x1b]0;pwned\x07title", "acme/x\nINJECTED-LINE"]
            handler.respond(200, json.dumps({"repositories": names}).encode())

        server.route("GET", r"^/v2/acme/api/tags/list", tags)
        server.route("GET", r"^/v2/_catalog", catalog)
        env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "d"), "REGISTRY_AUTH_FILE": str(tmp_path / "a.json")}
        results = [
            subprocess.run(
                [sys.executable, "-m", "costcalc", "scan", f"{server.host}/acme", "--no-cache", "--format", fmt],
                capture_output=True,
                text=True,
                cwd=REPO_ROOT,
                env=env,
                timeout=60,
                check=False,
            )
            for fmt in ("table", "json")
        ]
    for result in results:
        assert result.returncode == 0, result.stderr
        for stream in (result.stdout, result.stderr):
            assert not RAW_CONTROL.search(stream), repr(stream)
            assert _lines_starting_with_injection(stream) == []
    assert "invalid tag" in results[0].stderr
    document = json.loads(results[1].stdout)
    assert [i["tag"] for i in document["images"]] == ["v1"]


def test_registry_error_text_is_sanitised_before_it_is_shown() -> None:
    from costcalc.registry.client import status_error

    body = json.dumps({"errors": [{"code": "UNKNOWN", "message": "\x1b[2Jboom\nINJECTED-LINE"}]}).encode()
    exc = status_error("GET", httpx.URL("https://r.example/v2/x/manifests/v1?token=abc"), 500, body, "anonymously")
    assert not RAW_CONTROL.search(str(exc)) and "\n" not in str(exc)
    assert "token=abc" not in str(exc)
