"""The log line parsers: the fields they read, and that no input makes them fail but as a bad line."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costcalc.usage.logs import cloudtrail, combined, distribution
from costcalc.usage.logs.request import BadLine, Request, target

DIGEST = "sha256:" + "ab" * 32
T0 = datetime(2026, 12, 7, 8, 37, 30, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (  # the registry's own access log
            f'127.0.0.1 - - [07/Dec/2026:08:37:30 +0000] "GET /v2/acme/api/blobs/{DIGEST} HTTP/1.1" 200 2000 '
            '"" "skopeo/1.9.3"',
            Request(T0, "127.0.0.1", "skopeo/1.9.3", "GET", "blob", "acme/api", DIGEST, 200, 2000),
        ),
        (  # nginx combined with a forwarded-for field after it, a user, a time zone
            '10.1.2.3 - bob [07/Dec/2026:10:07:30 +0130] "HEAD /v2/acme/api/manifests/v1 HTTP/1.1" 200 0 "-" '
            '"docker/24.0 go/go1.20" "198.51.100.7"',
            Request(T0, "10.1.2.3", "docker/24.0 go/go1.20", "HEAD", "manifest", "acme/api", "v1", 200, 0),
        ),
        (  # Apache's `-` for no body; a percent-encoded digest; a query string
            f'2001:db8::5 - - [07/Dec/2026:08:37:30 +0000] "GET /v2/a/b/c/manifests/sha256%3A{"ab" * 32}?ns=x '
            'HTTP/2.0" 200 - "-" "containerd/1.7"',
            Request(T0, "2001:db8::5", "containerd/1.7", "GET", "manifest", "a/b/c", DIGEST, 200, 0),
        ),
        (  # common log format (no referer, no agent), a proxy's absolute URI
            '192.0.2.1 - - [07/Dec/2026:08:37:30 +0000] "GET https://r.example/v2/x/manifests/latest HTTP/1.1" 404 19',
            Request(T0, "192.0.2.1", "", "GET", "manifest", "x", "latest", 404, 19),
        ),
        (  # an upload, a ping, a malformed request: logged requests, but no download
            '127.0.0.1 - - [07/Dec/2026:08:37:30 +0000] "PUT /v2/x/blobs/uploads/u1?digest=a HTTP/1.1" 201 0 "" "c"',
            Request(T0, "127.0.0.1", "c", "PUT", "other"),
        ),
        (
            '127.0.0.1 - - [07/Dec/2026:08:37:30 +0000] "-" 400 0 "-" "-"',
            Request(T0, "127.0.0.1", "-", "", "other", status=400),
        ),
        (
            '127.0.0.1 - - [07/Dec/2026:08:37:30 +0000] "GET /v2/../etc/manifests/x HTTP/1.1" 404 0 "" "scanner"',
            Request(T0, "127.0.0.1", "scanner", "GET", "other"),
        ),
    ],
)
def test_combined_lines_give_the_request_they_record(line: str, expected: Request) -> None:
    got = combined.parse_line(line)
    if expected.kind == "other":
        assert (got.kind, got.time, got.client, got.method) == (
            "other",
            expected.time,
            expected.client,
            expected.method,
        )
    else:
        assert got == expected


@pytest.mark.parametrize(
    "line",
    [
        "",
        "hello world",
        '127.0.0.1 - - [07/Foo/2026:08:37:30 +0000] "GET /v2/ HTTP/1.1" 200 2 "" ""',
        '127.0.0.1 - - [07/Dec/2026:08:37:30 0000] "GET /v2/ HTTP/1.1" 200 2 "" ""',
        '127.0.0.1 - - [07/Dec/2026:08:37:30 +0000] "GET /v2/ HTTP/1.1" 2000 2 "" ""',
        '127.0.0.1 - - [07/Dec/2026:08:37:30 +0000] "GET /v2/ HTTP/1.1" 200 -5 "" ""',
        '127.0.0.1 - - [31/Feb/2026:08:37:30 +0000] "GET /v2/ HTTP/1.1" 200 2 "" ""',
    ],
)
def test_combined_rejects_what_is_not_a_log_line(line: str) -> None:
    with pytest.raises(BadLine):
        combined.parse_line(line)


LOGRUS = (
    'time="2026-12-07T08:37:30.094308804Z" level=info msg="response completed" go.version=go1.19.8 '
    'http.request.host="127.0.0.1:33305" http.request.id=9c89 http.request.method=GET '
    'http.request.remoteaddr="127.0.0.1:39874" http.request.uri="/v2/acme/api/blobs/{digest}" '
    "http.request.useragent=skopeo/1.9.3 http.response.contenttype=application/octet-stream "
    'http.response.duration="895.778µs" http.response.status=200 http.response.written=370'
)


def test_logrus_text_response_lines_give_the_request() -> None:
    got = distribution.parse_line(LOGRUS.format(digest=DIGEST))
    assert got == Request(T0 + 0.094308, "127.0.0.1", "skopeo/1.9.3", "GET", "blob", "acme/api", DIGEST, 200, 370)


def test_logrus_json_response_lines_give_the_request() -> None:
    line = json.dumps(
        {
            "go.version": "go1.22",
            "http.request.method": "GET",
            "http.request.remoteaddr": "[2001:db8::1]:5123",
            "http.request.uri": "/v2/team/app/manifests/v2.1",
            "http.request.useragent": "containerd/1.7",
            "http.response.status": 200,
            "http.response.written": 1234,
            "level": "info",
            "msg": "response completed",
            "time": "2026-12-07T08:37:30Z",
        }
    )
    got = distribution.parse_line(line)
    assert got == Request(T0, "2001:db8::1", "containerd/1.7", "GET", "manifest", "team/app", "v2.1", 200, 1234)


def test_logrus_lines_that_are_not_responses_only_tell_the_time() -> None:
    got = distribution.parse_line('time="2026-12-07T08:37:30Z" level=info msg="listening on 127.0.0.1:5000"')
    assert (got.kind, got.time) == ("other", T0)


@pytest.mark.parametrize(
    "line",
    [
        "level=info msg=x",  # no time
        'time="yesterday" level=info msg="response completed"',
        'time="2026-12-07T08:37:30" level=info msg="response completed"',  # no zone
        'time="2026-12-07T08:37:30Z" msg="response completed" http.request.uri=/v2/',  # fields missing
        'time="2026-12-07T08:37:30Z" msg="x" garbage between pairs',
        '{"time": "2026-12-07T08:37:30Z", "msg": "response completed"',
        "[1, 2]",
        "panic: runtime error: invalid memory address or nil pointer dereference",
    ],
)
def test_logrus_rejects_what_is_not_a_logrus_line(line: str) -> None:
    with pytest.raises(BadLine):
        distribution.parse_line(line)


def ecr_event(name: str, parameters: object, **extra: object) -> dict[str, object]:
    return {
        "eventTime": "2026-12-07T08:37:30Z",
        "eventSource": "ecr.amazonaws.com",
        "eventName": name,
        "sourceIPAddress": "203.0.113.12",
        "userAgent": "docker/24.0.7",
        "requestParameters": parameters,
        "responseElements": None,
        **extra,
    }


def test_cloudtrail_events_give_manifest_and_blob_requests() -> None:
    pull = ecr_event("BatchGetImage", {"imageIds": [{"imageTag": "latest"}], "repositoryName": "testrepo"})
    layer = ecr_event("GetDownloadUrlForLayer", {"repositoryName": "testrepo", "layerDigest": DIGEST})
    assert cloudtrail.parse_record(pull) == [
        Request(T0, "203.0.113.12", "docker/24.0.7", "GET", "manifest", "testrepo", "latest", 200)
    ]
    assert cloudtrail.parse_record(layer) == [
        Request(T0, "203.0.113.12", "docker/24.0.7", "GET", "blob", "testrepo", DIGEST, 200)
    ]
    failed = cloudtrail.parse_record({**pull, "errorCode": "ImageNotFoundException"})
    assert [request.status for request in failed] == [400]
    other = cloudtrail.parse_record({**pull, "eventSource": "s3.amazonaws.com"})
    assert [(request.kind, request.time) for request in other] == [("other", T0)]


@pytest.mark.parametrize(
    "record",
    [
        [],
        {"eventSource": "ecr.amazonaws.com"},
        ecr_event("BatchGetImage", None),
        ecr_event("BatchGetImage", {"repositoryName": "testrepo"}),
        ecr_event("BatchGetImage", {"repositoryName": "Bad Name", "imageIds": [{"imageTag": "x"}]}),
        ecr_event("BatchGetImage", {"repositoryName": "testrepo", "imageIds": [{"imageTag": ""}]}),
        ecr_event("GetDownloadUrlForLayer", {"repositoryName": "testrepo", "layerDigest": "md5:x"}),
    ],
)
def test_cloudtrail_rejects_records_that_are_not_ecr_events(record: object) -> None:
    with pytest.raises(BadLine):
        cloudtrail.parse_record(record)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/v2/a/manifests/v1", ("manifest", "a", "v1")),
        (f"/v2/a/blobs/{DIGEST}", ("blob", "a", DIGEST)),
        ("/v2/a/blobs/latest", ("other", "", "")),  # a blob is named by digest only
        ("/v2/a/manifests/", ("other", "", "")),
        ("/v2/blobs/manifests/x", ("manifest", "blobs", "x")),
        ("/v2/a/tags/list", ("other", "", "")),
        ("/v2/_catalog?n=100", ("other", "", "")),
        ("/v3/a/manifests/v1", ("other", "", "")),
        ("http://[::1/v2/a", ("other", "", "")),
    ],
)
def test_uris_name_the_repository_and_reference(uri: str, expected: tuple[str, str, str]) -> None:
    assert target(uri) == expected


# Property tests: whatever the line, a parser answers a request or raises BadLine (counted).
_FRAGMENTS = st.sampled_from(
    [
        "127.0.0.1",
        " - - ",
        "[07/Dec/2026:08:37:30 +0000]",
        '"GET /v2/a/manifests/v1 HTTP/1.1"',
        " 200 ",
        " 2²0 ",  # digits to str.isdigit(), not to int()
        "-",
        '""',
        'time="2026-12-07T08:37:30Z"',
        'msg="response completed"',
        "http.request.uri=/v2/a/blobs/sha256:",
        "http.response.status=999",
        "http.request.method=GET",
        'http.request.remoteaddr="[::1]:1"',
        "\\",
        '"',
        "{",
        "}",
        "=",
        "\x00",
        "\udc80",
    ]
)
_LINES = st.one_of(
    st.text(max_size=300), st.lists(st.one_of(_FRAGMENTS, st.text(max_size=8)), max_size=25).map("".join)
)


@settings(max_examples=400, deadline=None)
@given(_LINES)
def test_no_line_makes_the_text_parsers_fail_but_as_a_bad_line(line: str) -> None:
    for parse in (combined.parse_line, distribution.parse_line):
        try:
            got = parse(line)
        except BadLine as exc:
            assert str(exc)
        else:
            assert isinstance(got, Request)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    ["eventTime", "eventSource", "eventName", "requestParameters", "errorCode", "sourceIPAddress", "userAgent"]
)
_RECORDS = st.one_of(
    _JSON,
    st.dictionaries(_KEYS, _JSON, max_size=7),
    st.fixed_dictionaries(
        {
            "eventTime": st.sampled_from(["2026-12-07T08:37:30Z", "x", "2026-13-01T00:00:00Z"]),
            "eventSource": st.sampled_from(["ecr.amazonaws.com", "s3.amazonaws.com"]),
            "eventName": st.sampled_from(["BatchGetImage", "GetDownloadUrlForLayer", "PutImage"]),
            "requestParameters": st.one_of(
                _JSON,
                st.dictionaries(st.sampled_from(["repositoryName", "imageIds", "layerDigest"]), _JSON, max_size=3),
            ),
        }
    ),
)


@settings(max_examples=400, deadline=None)
@given(_RECORDS)
def test_no_record_makes_the_cloudtrail_parser_fail_but_as_a_bad_record(record: object) -> None:
    for parse in (cloudtrail.parse_record, lambda r: distribution.parse_line(json.dumps(r))):
        try:
            got = parse(record)
        except BadLine as exc:
            assert str(exc)
        else:
            assert all(isinstance(request, Request) for request in (got if isinstance(got, list) else [got]))


@pytest.mark.parametrize(
    ("status", "written"),
    [("2²0", "370"), ("200", "3²0"), ("٢٠٠", "370"), ("200", "٣٧٠"), ("200", "³")],  # superscripts, Arabic-Indic
)
def test_digits_other_than_ascii_make_a_bad_line_not_a_number(status: str, written: str) -> None:
    # str.isdigit() is true for these; int() fails on superscripts and reads Arabic-Indic digits
    combined_line = (
        f'127.0.0.1 - - [07/Dec/2026:08:37:30 +0000] "GET /v2/acme/api/blobs/{DIGEST} HTTP/1.1" {status} {written} '
        '"" "skopeo/1.9.3"'
    )
    logrus_line = LOGRUS.format(digest=DIGEST).replace("status=200", f"status={status}")
    logrus_line = logrus_line.replace("written=370", f"written={written}")
    for parse, line in ((combined.parse_line, combined_line), (distribution.parse_line, logrus_line)):
        with pytest.raises(BadLine, match=r"^(status|size): "):
            parse(line)
