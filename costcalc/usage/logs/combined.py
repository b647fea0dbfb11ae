"""Lines of the Apache/nginx "combined" (and "common") access log, the format of the registry's own access log."""

from __future__ import annotations

import re

from costcalc.usage.logs.request import BadLine, Request, address, clf_time, size, status, target

# `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"`, then whatever a custom format
# appends (nginx's `$http_x_forwarded_for`, `$request_time`): https://httpd.apache.org/docs/current/logs.html
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_LINE = re.compile(rf"(\S+) \S+ (?:\S+|{_QUOTED}) \[([^\]]+)\] {_QUOTED} (\S+) (\S+)(?: {_QUOTED} {_QUOTED})?(?=\s|$)")


def parse_line(line: str) -> Request:
    """The request LINE records; BadLine if LINE is not a combined or common log line."""
    match = _LINE.match(line.rstrip("\r\n"))
    if match is None:
        raise BadLine("not a combined or common log line")
    client, _user, when, request, status_text, size_text, _referer, agent = match.groups()
    moment = clf_time(when)
    answer = status(status_text)
    body = size(size_text)
    parts = request.split(" ")
    if len(parts) < 2:  # a request the server could not read ("-", garbage): logged, but no pull
        return Request(moment, address(client), agent or "", "", "other", status=answer)
    method, uri = parts[0], parts[1]
    kind, repository, reference = target(uri)
    return Request(moment, address(client), agent or "", method, kind, repository, reference, answer, body)
