"""Limits on input files and numbers, bounded reads, and pydantic errors as located problems (pure).

The usage file and the price book are validated by pydantic models built on ``FileModel``:
pydantic checks each field, each model adds the rules that span fields (``rules``), and
every problem found anywhere in the file comes back at once, each as (key path, sentence),
for the file loaders to put a FILE:LINE in front.

Limits (docs/reliability.md lists them with their tests):

- a quantity (storage or transfer in book units, pulls, deploys, nodes) is at most 10^15;
- a money figure of a price book (a price per unit, per unit-month or per day, a plan fee)
  is at most 10^9 in the book's currency;
- a number has at most 20 digits after the decimal point;
- a price book file is at most 1 MiB, a usage file at most 16 MiB; a read never goes
  further, so /dev/zero or /dev/urandom given as a file are refused, not read forever;
- a named pipe (FIFO) or socket is refused before it is read, as its open or read would wait
  for a writer that may never come;
- TOML arrays and tables nest at most ``costcalc.toml_lines.MAX_NESTING`` levels.
"""

from __future__ import annotations

import datetime
import errno
import os
import stat
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from costcalc.errors import InputError

MAX_QUANTITY = Decimal(10) ** 15
MAX_PRICE = Decimal(10) ** 9
MAX_DECIMAL_PLACES = 20
MAX_DAYS = Decimal(36500)  # a quote's period: a hundred years
MiB = 2**20
MAX_BOOK_BYTES = MiB
MAX_USAGE_BYTES = 16 * MiB

KeyPath = tuple[str | int, ...]
Problem = tuple[KeyPath, str]

_ERROR_TYPE = "costcalc_problems"


def read_limited(path: Path, limit: int, what: str, too_large: str | None = None) -> bytes:
    """The bytes of PATH, read no further than LIMIT + 1; InputError if it holds more than LIMIT.

    Every input file is read here. WHAT names its kind ("a price book") for the sentences;
    TOO_LARGE, when given, is that kind's own sentence for a file over LIMIT. A named pipe or
    socket is an InputError; a device is read like a file, so one that never ends is refused
    as too large. OSError (a missing file, a directory, no permission) is left to the caller,
    which knows how to say it for its kind of file.
    """
    # O_NONBLOCK: the open of a FIFO would otherwise wait for a writer before fstat can refuse it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise InputError(f"{path}: {what} must be a regular file.")
        os.set_blocking(fd, True)  # a terminal or device then reads as a file does
        stream = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{path}: {too_large or f'larger than {limit // MiB} MiB, too large for {what}.'}")
    return data


def show_number(value: Decimal) -> str:
    """VALUE for a message: as written when short, in scientific notation when long (5,000 digits)."""
    text = str(value)
    return text if len(text) <= 24 else f"{value:.6E}"


def limit_problem(value: Decimal, maximum: Decimal) -> str | None:
    """Why a finite VALUE >= 0 is out of bounds (over MAXIMUM, too many decimal places), or None."""
    if value > maximum:
        return f"must be at most {maximum:,f}, got {show_number(value)}"
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMAL_PLACES:
        return f"must have at most {MAX_DECIMAL_PLACES} digits after the decimal point, got {show_number(value)}"
    return None


def problem(message: str) -> PydanticCustomError:
    """A validation error whose text is MESSAGE, at the place pydantic reports it."""
    return problems([((), message)])


def problems(found: Sequence[Problem]) -> PydanticCustomError:
    """One validation error carrying FOUND, each (key path relative to the error, sentence)."""
    return PydanticCustomError(_ERROR_TYPE, "{summary}", {"summary": found[0][1], "items": list(found)})


def located(exc: ValidationError, known: Mapping[KeyPath, Sequence[str]] | None = None) -> list[Problem]:
    """Every problem in EXC as (key path, sentence); KNOWN gives the fields expected at a path."""
    unknown: list[Problem] = []  # first, as a reader meets a misspelt key before what it left missing
    out: list[Problem] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == _ERROR_TYPE:
            out += [((*loc, *sub), message) for sub, message in error["ctx"]["items"]]
        elif kind == "missing":
            out.append((loc, "required field is missing"))
        elif kind == "extra_forbidden":
            expected = (known or {}).get(loc[:-1])
            unknown.append(
                (loc, f"unknown field (expected one of: {', '.join(expected)})" if expected else "unknown field")
            )
        else:
            out.append((loc, str(error["msg"])))
    return unknown + out


class FileModel(BaseModel):
    """A table of an input file: unknown keys refused, every problem inside it collected.

    Subclasses say what they are (``WHAT``, for "must be a table ..., not an array") and add
    rules that span several fields in ``rules``, run on the raw table even when a field
    failed, so that one pass reports everything.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    WHAT: ClassVar[str] = "a table"

    @model_validator(mode="wrap")
    @classmethod
    def _collect(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        if isinstance(data, BaseModel):
            return handler(data)
        if not isinstance(data, dict):
            raise problem(f"must be {cls.WHAT}, not {describe(data)}")
        found: list[Problem] = []
        result = None
        try:
            result = handler(data)
        except ValidationError as exc:
            found = located(exc, {(): tuple(cls.model_fields)})
        found += cls.rules(data, info.context or {})
        if found:
            raise problems(found)
        return result

    @classmethod
    def rules(cls, data: dict[str, Any], context: Mapping[str, Any]) -> list[Problem]:
        """Problems that involve more than one field of DATA (the raw table); none by default."""
        return []


def describe(value: Any) -> str:
    """VALUE's TOML kind for a message: 'a string ("x")', 'a number (3)', 'an array' ..."""
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'a string ("{shown}")'
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, Decimal | int):
        return f"a number ({show_number(Decimal(value))})"
    if isinstance(value, datetime.datetime):
        return "a date-time"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, datetime.time):
        return "a time"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
