"""Log files in, requests out: plain, gzip or zstd streams read line by line in constant memory.

Lines that cannot be read are counted, and the first few quoted as `FILE:LINE: reason`; they
never stop the reading. A CloudTrail file is one JSON document, read whole (AWS delivers them
in small pieces, a few minutes each).
"""

from __future__ import annotations

import enum
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from costcalc.errors import InputError
from costcalc.usage.logs import cloudtrail, combined, distribution
from costcalc.usage.logs.request import BadLine, Request

MAX_LINE_BYTES = 1 << 20  # longer lines are counted bad and skipped, so memory stays bounded
MAX_DOCUMENT_BYTES = 1 << 27  # read whole: CloudTrail delivers a few minutes of events per file, far less
EXAMPLES = 5
_SAMPLE_LINES = 20
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_RECORDS_KEY = re.compile(rb'\s*\{\s*"Records"\s*:')


class LogFormat(enum.StrEnum):
    AUTO = "auto"
    DISTRIBUTION = "distribution"  # the registry's logrus lines, text or JSON
    COMBINED = "combined"  # Apache/nginx combined, and the registry's own access log
    CLOUDTRAIL = "cloudtrail"  # AWS CloudTrail files (or one event per line)


@dataclass(slots=True)
class BadLines:
    """Unreadable lines over every file: how many, and the first few as `FILE:LINE: reason`."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, where: str, reason: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(f"{where}: {reason}")


@dataclass(slots=True)
class FileSummary:
    """What was read from one file."""

    path: str
    log_format: str = ""
    lines: int = 0
    requests: int = 0  # manifest and blob requests
    bad_lines: int = 0


def read_requests(path: Path, log_format: LogFormat, bad: BadLines, summary: FileSummary) -> Iterator[Request]:
    """Every request logged in PATH, in file order (a CloudTrail file's in time order)."""
    stream, errors = _open(path)
    with stream:
        yield from _FileReader(path, stream, errors, bad, summary).requests(log_format)


def _open(path: Path) -> tuple[io.BufferedIOBase, tuple[type[Exception], ...]]:
    """PATH as a stream of its (decompressed) bytes, and the errors a broken stream raises."""
    try:
        with path.open("rb") as probe:
            magic = probe.read(4)
        if magic.startswith(_GZIP_MAGIC):
            return gzip.open(path, "rb"), (OSError, EOFError, zlib.error)
        if magic != _ZSTD_MAGIC:
            return path.open("rb"), (OSError,)
    except FileNotFoundError:
        raise InputError(f"{path}: no such log file.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the log file ({exc.strerror or type(exc).__name__}).") from None
    try:
        import zstandard
    except ImportError:
        raise InputError(
            f"{path}: reading zstd-compressed logs needs the zstandard package (pip install 'costcalc[zstd]')."
        ) from None
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the log file ({exc.strerror or type(exc).__name__}).") from None
    reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    return io.BufferedReader(reader), (zstandard.ZstdError, OSError, EOFError)


class _FileReader:
    """One open log file: its lines, the format they are in, and the requests they hold."""

    def __init__(
        self,
        path: Path,
        stream: io.BufferedIOBase,
        errors: tuple[type[Exception], ...],
        bad: BadLines,
        summary: FileSummary,
    ) -> None:
        self.path, self.stream, self.errors, self.bad, self.summary = path, stream, errors, bad, summary

    def requests(self, log_format: LogFormat) -> Iterator[Request]:
        try:
            first = self._first_line()
        except self.errors:
            self._bad(1, "file: corrupt or truncated compressed data; nothing is read")
            return
        if log_format in (LogFormat.AUTO, LogFormat.CLOUDTRAIL) and first.lstrip().startswith(b"{"):
            if _opens_document(first):
                self.summary.log_format = LogFormat.CLOUDTRAIL
                yield from self._document(first)
                return
            document = _json_object(first)
            if log_format == LogFormat.CLOUDTRAIL or (document is not None and "eventSource" in document):
                log_format = LogFormat.CLOUDTRAIL
            elif document is not None:
                log_format = LogFormat.DISTRIBUTION
        lines = self._numbered(first)
        parse: Callable[[str], list[Request]] | None
        if log_format == LogFormat.AUTO:
            sample = list(islice(lines, _SAMPLE_LINES))
            parse = _sniff([text for _, text in sample if text is not None])
            if parse is None:
                self.summary.log_format = "unknown"
                number = next((n for n, text in sample if text is not None and text.strip()), None)
                if number is not None:
                    self._bad(number, "not a registry access log, logrus log or CloudTrail file")
                return
            lines = chain(sample, lines)
        else:
            parse = _PARSERS[log_format]
        self.summary.log_format = next(name for name, known in _PARSERS.items() if known is parse)
        for number, text in lines:
            if text is None or not text.strip():
                continue
            try:
                requests = parse(text)
            except BadLine as exc:
                self._bad(number, str(exc))
                continue
            self.summary.requests += sum(request.kind != "other" for request in requests)
            yield from requests

    def _first_line(self) -> bytes:
        """The first line that is not blank (blank lines before it are counted)."""
        line = self.stream.readline(MAX_LINE_BYTES)
        while line and not line.strip():
            self.summary.lines += 1
            line = self.stream.readline(MAX_LINE_BYTES)
        return line

    def _numbered(self, first: bytes) -> Iterator[tuple[int, str | None]]:
        """(line number, text) from FIRST on; text None for a line too long to keep."""
        number = self.summary.lines
        line = first
        try:
            while line:
                number += 1
                self.summary.lines = number
                if len(line) >= MAX_LINE_BYTES and not line.endswith(b"\n"):
                    while line and not line.endswith(b"\n"):
                        line = self.stream.readline(MAX_LINE_BYTES)
                    self._bad(number, f"line longer than {MAX_LINE_BYTES >> 20} MiB")
                    yield number, None
                else:
                    yield number, line.decode("utf-8", "replace")
                line = self.stream.readline(MAX_LINE_BYTES)
        except self.errors:
            self._bad(number + 1, "file: corrupt or truncated compressed data; the rest is not read")

    def _document(self, first: bytes) -> Iterator[Request]:
        try:
            data = first + self.stream.read(MAX_DOCUMENT_BYTES + 1 - len(first))
        except self.errors:
            self._bad(1, "file: corrupt or truncated compressed data; nothing is read")
            return
        self.summary.lines += data.count(b"\n") + (not data.endswith(b"\n"))
        if len(data) > MAX_DOCUMENT_BYTES:
            self._bad(1, f"file: a CloudTrail file over {MAX_DOCUMENT_BYTES >> 20} MiB; not read")
            return
        try:
            entries = cloudtrail.records(json.loads(data))
        except json.JSONDecodeError as exc:
            self._bad(exc.lineno, "file: not valid JSON")
            return
        except (ValueError, RecursionError):
            self._bad(1, "file: not valid JSON")
            return
        except BadLine as exc:
            self._bad(1, str(exc))
            return
        found: list[Request] = []
        for index, entry in enumerate(entries):
            try:
                found.extend(cloudtrail.parse_record(entry))
            except BadLine as exc:
                self._bad(1, f"Records[{index}]: {exc}")
        # CloudTrail files are not in time order (the ECR user guide says so): who fetched
        # what next needs them sorted.
        found.sort(key=lambda request: request.time)
        self.summary.requests += sum(request.kind != "other" for request in found)
        yield from found

    def _bad(self, line: int, reason: str) -> None:
        self.summary.bad_lines += 1
        self.bad.add(f"{self.path}:{line}", reason)


def _opens_document(line: bytes) -> bool:
    """True if LINE starts a CloudTrail file: `{"Records": [...` on one line, too long for one, or
    a lone `{` (an indented file); a JSON line with a broken first line is not taken for one."""
    too_long = len(line) >= MAX_LINE_BYTES and not line.endswith(b"\n")
    return too_long or line.strip() == b"{" or _RECORDS_KEY.match(line) is not None


def _json_object(line: bytes) -> dict[str, object] | None:
    """LINE as a JSON object, else None."""
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _one(parse: Callable[[str], Request]) -> Callable[[str], list[Request]]:
    def parse_one(text: str) -> list[Request]:
        return [parse(text)]

    return parse_one


def _cloudtrail_line(text: str) -> list[Request]:
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        raise BadLine("not valid JSON") from None
    return cloudtrail.parse_record(record)


_PARSERS: dict[str, Callable[[str], list[Request]]] = {
    LogFormat.COMBINED: _one(combined.parse_line),
    LogFormat.DISTRIBUTION: _one(distribution.parse_line),
    LogFormat.CLOUDTRAIL: _cloudtrail_line,
}


def _sniff(sample: list[str]) -> Callable[[str], list[Request]] | None:
    """The line parser that reads most of SAMPLE, or None if none reads any of it."""
    best: tuple[int, Callable[[str], list[Request]] | None] = (0, None)
    for parse in _PARSERS.values():
        read = 0
        for text in sample:
            if not text.strip():
                continue
            try:
                parse(text)
            except BadLine:
                continue
            read += 1
        if read > best[0]:
            best = (read, parse)
    return best[1]
