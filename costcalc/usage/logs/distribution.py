"""The distribution registry's logrus lines (text or JSON): its "response completed" entry per request."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from costcalc.usage.logs.request import BadLine, Request, address, iso_time, size, status, target

# logrus's TextFormatter: key=value pairs, values quoted (Go %q) when they hold spaces or quotes.
_PAIR = re.compile(r'([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?=\s|$)')
_FIELDS = (
    "http.request.method",
    "http.request.uri",
    "http.request.remoteaddr",
    "http.response.status",
)


def parse_line(line: str) -> Request:
    """The request a logrus LINE records (kind other for any other entry); BadLine if not logrus."""
    text = line.strip()
    fields = _json_fields(text) if text.startswith("{") else _text_fields(text)
    if "time" not in fields or "msg" not in fields:
        raise BadLine("not a logrus line (no time= and msg=)")
    moment = iso_time(fields["time"])
    if not fields["msg"].startswith("response completed"):
        return Request(moment, "", "", "", "other")
    missing = [name for name in _FIELDS if name not in fields]
    if missing:
        raise BadLine(f"{missing[0]}: missing from a response line")
    kind, repository, reference = target(fields["http.request.uri"])
    written = fields.get("http.response.written")
    return Request(
        moment,
        address(fields["http.request.remoteaddr"]),
        fields.get("http.request.useragent", ""),
        fields["http.request.method"],
        kind,
        repository,
        reference,
        status(fields["http.response.status"]),
        None if written is None else size(written),
    )


def _text_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    position = 0
    for match in _PAIR.finditer(text):
        if text[position : match.start()].strip():
            raise BadLine("not a logrus line (text between key=value pairs)")
        position = match.end()
        key, value = match.groups()
        fields[key] = _unquote(value) if value.startswith('"') else value
    if text[position:].strip():
        raise BadLine("not a logrus line (text after the last key=value pair)")
    return fields


def _unquote(value: str) -> str:
    """A Go-quoted string's text; escapes JSON does not know (\\x, \\a) are kept as written."""
    try:
        text = json.loads(value)
    except ValueError:
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text if isinstance(text, str) else value[1:-1]


def _json_fields(text: str) -> dict[str, str]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise BadLine("not valid JSON") from None
    if not isinstance(document, Mapping):
        raise BadLine("not a JSON object")
    return {
        str(key): str(value)
        for key, value in document.items()
        if isinstance(value, str | int) and not isinstance(value, bool)
    }
