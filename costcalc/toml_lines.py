"""TOML text read within limits, and the line numbers of its keys, tables, array elements and errors (pure)."""

from __future__ import annotations

import contextlib
import re
import sys
import tomllib
from bisect import bisect_left
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# Arrays and inline tables nested deeper than this are refused before tomllib sees them:
# tomllib parses them recursively, and a few thousand levels end in RecursionError.
MAX_NESTING = 32

# A key's place in the parsed document: table and key names, and indexes into arrays
# ([[array]] tables and array values alike), as in the dicts and lists tomllib returns.
KeyPath = tuple[str | int, ...]
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# tomllib ends its messages with "(at line 3, column 7)" or "(at end of document)".
_WHERE = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")


@dataclass(frozen=True)
class SyntaxProblem:
    """Why and where tomllib rejected a text; line and column are 1-based.

    At the end of the document (an unclosed table or string) the line is the text's last
    line and the column is None.
    """

    message: str  # tomllib's own text, location included
    reason: str  # the message without its location
    line: int
    column: int | None


def loads(text: str) -> dict[str, Any]:
    """TEXT parsed by tomllib with floats as Decimal, within limits.

    Nesting deeper than MAX_NESTING, and integers longer than Python converts (4,300 digits),
    raise tomllib.TOMLDecodeError with a location, as tomllib's own errors do, so that
    ``syntax_problem`` reads every refusal the same way.
    """
    deep = _too_deep(text)
    if deep is not None:
        line, column = deep
        raise tomllib.TOMLDecodeError(
            f"Arrays and tables nested deeper than {MAX_NESTING} levels (at line {line}, column {column})"
        )
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError:
        raise
    except ValueError as exc:  # int() refusing a huge literal: tomllib does not wrap it
        digits = re.search(rf"\d{{{sys.get_int_max_str_digits() + 1},}}", text)
        if digits is None:
            raise tomllib.TOMLDecodeError(f"{exc} (at end of document)") from None
        line, column = _position(text, digits.start())
        raise tomllib.TOMLDecodeError(
            f"An integer with more than {sys.get_int_max_str_digits()} digits (at line {line}, column {column})"
        ) from None


# What can open or close a level, a comment or a string: strings and comments hide brackets.
_OPENERS = re.compile(r"\"\"\"|'''|[\"'#\[\]{}]")
_STRING_ENDS = {
    '"""': re.compile(r'(?:[^\\]|\\.)*?"""', re.DOTALL),
    "'''": re.compile(r"(?s:.*?)'''"),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"'),
    "'": re.compile(r"[^'\n]*'"),
}


def _too_deep(text: str) -> tuple[int, int] | None:
    """The line and column where brackets first nest deeper than MAX_NESTING, or None."""
    depth = 0
    pos = 0
    while (found := _OPENERS.search(text, pos)) is not None:
        mark, pos = found.group(), found.end()
        if mark == "#":
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        elif mark in _STRING_ENDS:
            closed = _STRING_ENDS[mark].match(text, pos)
            if closed is None:
                return None  # tomllib reports the unclosed string
            pos = closed.end()
            extra = 0
            while len(mark) == 3 and extra < 2 and text.startswith(mark[0], pos):
                pos, extra = pos + 1, extra + 1  # up to two quotes may end a multi-line string's content
        elif mark in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return _position(text, found.start())
        else:
            depth = max(0, depth - 1)
    return None


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def syntax_problem(exc: tomllib.TOMLDecodeError, text: str) -> SyntaxProblem:
    """EXC's reason and location in TEXT (tomllib 3.11 keeps them only in its message)."""
    message = str(exc)
    last_line = max(1, len(text.splitlines()))
    where = _WHERE.search(message)
    if where is None:
        return SyntaxProblem(message=message, reason=message, line=last_line, column=None)
    line, column = where.group(1), where.group(2)
    return SyntaxProblem(
        message=message,
        reason=message[: where.start()],
        line=int(line) if line else last_line,
        column=int(column) if column else None,
    )


def key_lines(text: str) -> dict[KeyPath, int]:
    """The 1-based line of every key, table header and array element of TOML TEXT, by key path.

    A dotted key or a table header also gives the line of each table it opens (the first
    line that names it). TEXT must already have parsed with tomllib: on anything else the
    scan stops and returns the lines found so far, so callers fall back to a nearby line.
    """
    return _Scanner(text).scan()


class _Scanner:
    """The line of every key, table and array element of a TOML text (tomllib keeps none).

    The text has already been parsed by tomllib, so this scanner only has to follow valid
    TOML; if it ever gets lost it stops, and problems fall back to the nearest known line.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.breaks = [index for index, char in enumerate(text) if char == "\n"]
        self.lines: dict[KeyPath, int] = {}
        self.arrays: dict[KeyPath, int] = {}  # the current index of each [[array of tables]]

    def scan(self) -> dict[KeyPath, int]:
        with contextlib.suppress(ValueError, IndexError, AttributeError, tomllib.TOMLDecodeError):
            self._document()
        return self.lines

    def _document(self) -> None:
        table: KeyPath = ()
        text = self.text
        while True:
            self._skip(newlines=True)
            start = self.pos
            if start >= len(text):
                return
            if text.startswith("[[", start):
                self.pos += 2
                key = self._key()
                array = (*self._expand(key[:-1]), key[-1])
                self.arrays[array] = self.arrays.get(array, -1) + 1
                table = (*array, self.arrays[array])
                self.pos = text.index("]]", self.pos) + 2
                self._record(table, start, 0)
            elif text[start] == "[":
                self.pos += 1
                table = self._expand(self._key())
                self.pos = text.index("]", self.pos) + 1
                self._record(table, start, 0)
            else:
                self._pair(table)
            if self.pos == start:
                raise ValueError("no progress")

    def _expand(self, key: tuple[str, ...]) -> KeyPath:
        path: list[str | int] = []
        for part in key:
            path.append(part)
            if tuple(path) in self.arrays:
                path.append(self.arrays[tuple(path)])
        return tuple(path)

    def _record(self, path: KeyPath, pos: int, depth: int) -> None:
        line = bisect_left(self.breaks, pos) + 1
        for length in range(depth + 1, len(path) + 1):
            self.lines.setdefault(path[:length], line)

    def _pair(self, table: KeyPath) -> None:
        start = self.pos
        path = (*table, *self._key())
        self._record(path, start, len(table))
        self._skip()
        if self.text[self.pos] != "=":
            raise ValueError("expected =")
        self.pos += 1
        self._value(path)

    def _value(self, path: KeyPath) -> None:
        self._skip()
        text = self.text
        char = text[self.pos]
        if char in "{[":
            closing = "}" if char == "{" else "]"
            self.pos += 1
            index = 0
            while True:
                self._skip(newlines=True)
                before = self.pos
                if text[self.pos] == closing:
                    self.pos += 1
                    return
                if text[self.pos] == ",":
                    self.pos += 1
                    continue
                if char == "{":
                    self._pair(path)
                else:
                    self._record((*path, index), self.pos, len(path))
                    self._value((*path, index))
                    index += 1
                if self.pos == before:
                    raise ValueError("no progress")
        elif char in "\"'":
            self._string()
        else:
            while self.pos < len(text) and text[self.pos] not in ",]}\n#":
                self.pos += 1

    def _key(self) -> tuple[str, ...]:
        parts: list[str] = []
        text = self.text
        while True:
            self._skip()
            start = self.pos
            if text[start] == '"':
                self._string()
                parts.append(tomllib.loads(f"k = {text[start : self.pos]}")["k"])
            elif text[start] == "'":
                self._string()
                parts.append(text[start + 1 : self.pos - 1])
            else:
                match = BARE_KEY.match(text, start)
                if match is None:
                    raise ValueError("expected a key")
                parts.append(match.group())
                self.pos = match.end()
            self._skip()
            if self.pos < len(text) and text[self.pos] == ".":
                self.pos += 1
                continue
            return tuple(parts)

    def _string(self) -> None:
        text = self.text
        for quote in ('"""', "'''"):
            if text.startswith(quote, self.pos):
                end = text.index(quote, self.pos + 3)
                while quote == '"""' and _escaped(text, end):
                    end = text.index(quote, end + 1)
                end += 3
                while end < len(text) and text[end] == quote[0]:  # up to two quotes may close the content
                    end += 1
                self.pos = end
                return
        quote = text[self.pos]
        end = self.pos + 1
        while text[end] != quote:
            end += 2 if quote == '"' and text[end] == "\\" else 1
        self.pos = end + 1

    def _skip(self, *, newlines: bool = False) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1
