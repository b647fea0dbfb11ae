"""Reading log files: compression, format detection, bad lines quoted as FILE:LINE, bounded memory."""

from __future__ import annotations

import gzip
import json
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costcalc.errors import InputError
from costcalc.usage.logs.reader import MAX_LINE_BYTES, BadLines, FileSummary, LogFormat, read_requests
from costcalc.usage.logs.request import Request

FIXTURES = Path(__file__).parent / "fixtures" / "logs"
DIGEST = "sha256:" + "cd" * 32


def access_line(second: int, uri: str = "/v2/acme/api/manifests/v1", size: int = 500) -> str:
    return (
        f'10.0.0.1 - - [07/Dec/2026:08:{second // 60:02d}:{second % 60:02d} +0000] "GET {uri} HTTP/1.1" '
        f'200 {size} "" "containerd/1.7"\n'
    )


def read(path: Path, log_format: LogFormat = LogFormat.AUTO) -> tuple[list[Request], BadLines, FileSummary]:
    bad, summary = BadLines(), FileSummary(str(path))
    return list(read_requests(path, log_format, bad, summary)), bad, summary


@pytest.mark.parametrize(
    ("name", "compress"),
    [("access.log", bytes), ("access.log.gz", gzip.compress), ("access.log.zst", zstandard.compress)],
)
def test_plain_gzip_and_zstd_files_give_the_same_requests(
    tmp_path: Path, name: str, compress: Callable[[bytes], bytes]
) -> None:
    text = "".join(access_line(s) for s in range(3)) + access_line(3, f"/v2/acme/api/blobs/{DIGEST}", 7000)
    path = tmp_path / name
    path.write_bytes(compress(text.encode()))
    requests, bad, summary = read(path)
    assert [(r.kind, r.size_bytes) for r in requests] == [("manifest", 500)] * 3 + [("blob", 7000)]
    assert (summary.log_format, summary.lines, summary.requests, bad.count) == ("combined", 4, 4, 0)


def test_compression_is_told_by_content_not_by_name(tmp_path: Path) -> None:
    path = tmp_path / "rotated.log.1"
    path.write_bytes(gzip.compress(access_line(0).encode()))
    assert [r.reference for r in read(path)[0]] == ["v1"]


def test_bad_lines_are_counted_and_the_first_five_quoted_with_file_and_line(tmp_path: Path) -> None:
    lines = [access_line(0)] + ["garbage line\n"] * 7 + ["\n", access_line(1)]
    path = tmp_path / "access.log"
    path.write_text("".join(lines), encoding="utf-8")
    requests, bad, summary = read(path)
    assert len(requests) == 2
    assert (bad.count, summary.bad_lines, summary.lines) == (7, 7, 10)
    assert bad.examples == [f"{path}:{n}: not a combined or common log line" for n in range(2, 7)]


def test_a_truncated_gzip_file_keeps_what_came_before_and_counts_the_break(tmp_path: Path) -> None:
    data = gzip.compress("".join(access_line(s % 3600) for s in range(4000)).encode())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) // 2])
    requests, bad, _ = read(path)
    assert 0 < len(requests) < 4000
    assert bad.count == 1 and "corrupt or truncated compressed data" in bad.examples[0]
    assert bad.examples[0].startswith(f"{path}:{len(requests) + 1}: ")


def test_a_line_longer_than_the_limit_is_one_bad_line_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    path.write_bytes(access_line(0).encode() + b"x" * (MAX_LINE_BYTES * 2 + 5) + b"\n" + access_line(1).encode())
    requests, bad, summary = read(path)
    assert [r.time for r in requests] == [requests[0].time, requests[0].time + 1]
    assert bad.examples == [f"{path}:2: line longer than 1 MiB"] and summary.lines == 3


@pytest.mark.parametrize(
    ("name", "text", "expected_format"),
    [
        (
            "registry.log",
            'time="2026-12-07T08:00:00Z" level=info msg="listening on [::]:5000"\n'
            'time="2026-12-07T08:00:01Z" level=info msg="response completed" http.request.method=GET '
            'http.request.remoteaddr="10.0.0.1:5" http.request.uri="/v2/a/manifests/v1" http.response.status=200 '
            "http.response.written=12\n",
            "distribution",
        ),
        (
            "registry.json",
            json.dumps({"time": "2026-12-07T08:00:00Z", "level": "info", "msg": "listening"})
            + "\n"
            + json.dumps(
                {
                    "time": "2026-12-07T08:00:01Z",
                    "level": "info",
                    "msg": "response completed",
                    "http.request.method": "GET",
                    "http.request.remoteaddr": "10.0.0.1:5",
                    "http.request.uri": "/v2/a/manifests/v1",
                    "http.response.status": 200,
                    "http.response.written": 12,
                }
            )
            + "\n",
            "distribution",
        ),
        ("nginx.log", access_line(0).replace("/v2/acme/api/", "/v2/a/").replace("500", "12"), "combined"),
    ],
)
def test_the_format_is_detected_from_the_lines(tmp_path: Path, name: str, text: str, expected_format: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    requests, bad, summary = read(path)
    assert [(r.repository, r.reference, r.size_bytes) for r in requests if r.kind != "other"] == [("a", "v1", 12)]
    assert (summary.log_format, bad.count) == (expected_format, 0)


def cloudtrail_pulls(requests: list[Request]) -> list[tuple[str, str, str]]:
    return [(r.kind, r.repository, r.reference) for r in requests if r.kind != "other" and r.status == 200]


@pytest.mark.parametrize("shape", ["as delivered", "gzip", "indented", "one event per line"])
def test_cloudtrail_files_in_every_shape_give_the_events_in_time_order(tmp_path: Path, shape: str) -> None:
    document = json.loads((FIXTURES / "cloudtrail-ecr.json").read_text(encoding="utf-8"))
    path = tmp_path / "trail.json"
    if shape == "as delivered":
        path = FIXTURES / "cloudtrail-ecr.json"
    elif shape == "gzip":
        path = tmp_path / "123456789012_CloudTrail_us-east-1_20261101T0000Z_abc.json.gz"
        path.write_bytes(gzip.compress((FIXTURES / "cloudtrail-ecr.json").read_bytes()))
    elif shape == "indented":
        path.write_text(json.dumps(document, indent=4), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(record) + "\n" for record in document["Records"]), encoding="utf-8")
    requests, bad, summary = read(path)
    assert summary.log_format == "cloudtrail"
    assert [r.time for r in requests] == sorted(r.time for r in requests) or shape == "one event per line"
    pulls = cloudtrail_pulls(requests)
    assert pulls.count(("manifest", "acme/api", "v2")) == 2 and pulls.count(("manifest", "acme/api", "v1")) == 1
    assert len(pulls) == 14
    assert bad.count == 1 and "requestParameters: missing or not an object" in bad.examples[0]


def test_a_file_in_no_known_format_is_one_bad_line_and_no_requests(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("\nDear diary,\ntoday I pulled an image.\n", encoding="utf-8")
    requests, bad, summary = read(path)
    assert requests == [] and summary.log_format == "unknown"
    assert bad.examples == [f"{path}:2: not a registry access log, logrus log or CloudTrail file"]


def test_a_forced_format_reads_every_line_with_it(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text(access_line(0) * 3, encoding="utf-8")
    requests, bad, _ = read(path, LogFormat.DISTRIBUTION)
    assert requests == [] and bad.count == 3


def test_a_missing_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.log: no such log file\.$"):
        read(tmp_path / "nope.log")


def test_zstd_without_the_zstandard_package_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "access.log.zst"
    path.write_bytes(zstandard.compress(access_line(0).encode()))
    monkeypatch.setitem(sys.modules, "zstandard", None)  # what an environment without it raises: ImportError
    with pytest.raises(InputError, match=r"needs the zstandard package \(pip install 'costcalc\[zstd\]'\)\.$"):
        read(path)


def test_memory_stays_bounded_however_long_the_log(tmp_path: Path) -> None:
    path = tmp_path / "big.log.gz"
    block = "".join(access_line(s % 3600, f"/v2/acme/api/blobs/{DIGEST}", 1000) for s in range(1000))
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for _ in range(60):
            handle.write(block)
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_requests(path, LogFormat.AUTO, BadLines(), FileSummary(str(path))))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 60_000
    assert peak < 4 << 20  # the 60,000 lines are ~10 MiB of text


def test_a_json_log_whose_first_line_is_cut_is_still_read_line_by_line(tmp_path: Path) -> None:
    line = {
        "time": "2026-12-07T08:00:01Z",
        "level": "info",
        "msg": "response completed",
        "http.request.method": "GET",
        "http.request.remoteaddr": "10.0.0.1:5",
        "http.request.uri": "/v2/a/manifests/v1",
        "http.response.status": 200,
        "http.response.written": 12,
    }
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(line)[:40] + "\n" + (json.dumps(line) + "\n") * 3, encoding="utf-8")
    requests, bad, summary = read(path)
    assert (len(requests), summary.log_format) == (3, "distribution")
    assert bad.examples == [f"{path}:1: not valid JSON"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.sampled_from([b"", b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"{", b'{"Records": [', b"127.0.0.1 - - ["]),
    body=st.binary(max_size=400),
    compress=st.sampled_from([bytes, gzip.compress, zstandard.compress]),
)
def test_no_file_content_makes_the_reader_fail_but_as_bad_lines(
    tmp_path: Path, prefix: bytes, body: bytes, compress: Callable[[bytes], bytes]
) -> None:
    path = tmp_path / "any.log"
    path.write_bytes(compress(prefix + body))
    requests, bad, summary = read(path)
    assert all(isinstance(request, Request) for request in requests)
    assert bad.count == summary.bad_lines and len(bad.examples) == min(bad.count, 5)
