"""One row of a usage file, validated by a pydantic model: numbers, names, globs, rules across fields (pure).

CSV cells arrive as text and TOML values as what tomllib made of them; the validation
context says which (``{"csv": True}``, and ``"decimal_comma": True`` for a semicolon-
separated file). Numbers in a CSV file may be written as a spreadsheet writes them:

- in a comma-separated file the decimal mark is a point and a comma groups thousands
  (``1,200`` and ``1,200.5``, quoted as Excel quotes them); a comma that does not group
  exactly three digits (``1,5``) is refused, since it could be a decimal comma;
- in a semicolon-separated file (what Excel writes where the decimal mark is a comma) the
  decimal mark is a comma and a point groups thousands (``1,5``, ``1.200``, ``1.200,5``);
  a point that does not group exactly three digits (``2.5``) is refused for the same reason;
- a number that uses both marks, grouped by threes before the last one (``1.200,5`` and
  ``1,200.5``), says which is which and is read so in either kind of file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo

from costcalc.pricing.validation import MAX_QUANTITY, FileModel, Problem, limit_problem, problem
from costcalc.reference import TAG_RE

# The columns of a usage file, in the order `usage init` writes them.
COLUMNS = (
    "repository",
    "team",
    "source",
    "pulls_per_month",
    "pulls_per_day",
    "deploys_per_month",
    "nodes",
    "tag",
    "platform",
)
# Columns a usage file may add: `usage from-logs` writes them, `usage init` does not.
MEASURED_COLUMNS = ("measured_bytes_per_month",)  # bytes the registry served, from its logs
READ_COLUMNS = COLUMNS + MEASURED_COLUMNS
_PLATFORM_RE = re.compile(r"[a-z0-9_.-]+/[a-z0-9_.-]+(?:/[a-z0-9_.-]+)?")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_GROUPED_POINT = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")  # 1,200 or 1,200.5
_GROUPED_COMMA = re.compile(r"\d{1,3}(\.\d{3})+(,\d+)?")  # 1.200 or 1.200,5
_DECIMAL_COMMA = re.compile(r"\d+,\d+")  # 1,5


def show(text: str) -> str:
    """TEXT with control characters escaped, safe to print in a one-line message."""
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _cell_number(text: str, *, decimal_comma: bool) -> Decimal | None:
    """A CSV cell as a Decimal under the file's convention (module docstring), or None."""
    text = text.strip()
    if _GROUPED_COMMA.fullmatch(text) and "," in text:
        return _cell_number(text.replace(".", "").replace(",", "."), decimal_comma=False)
    if _GROUPED_POINT.fullmatch(text) and "." in text:
        return _cell_number(text.replace(",", ""), decimal_comma=False)
    if decimal_comma:
        if _GROUPED_COMMA.fullmatch(text):
            text = text.replace(".", "").replace(",", ".")
        elif _DECIMAL_COMMA.fullmatch(text):
            text = text.replace(",", ".")
        elif "." in text:
            return None
    elif _GROUPED_POINT.fullmatch(text):
        text = text.replace(",", "")
    if "," in text or "_" in text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _count(value: Any, info: ValidationInfo) -> Decimal:
    context = info.context or {}
    if context.get("csv"):
        shown = repr(show(str(value)))
        number = _cell_number(str(value), decimal_comma=bool(context.get("decimal_comma")))
    elif isinstance(value, str):
        raise problem("must be a number >= 0, not a string")
    elif isinstance(value, bool | dict | list) or not isinstance(value, Decimal | int):
        raise problem("must be a number")
    else:
        shown = repr(str(value))
        number = Decimal(value)
    comma = bool(context.get("decimal_comma"))
    if number is None and context.get("csv") and _cell_number(str(value), decimal_comma=not comma) is not None:
        raise problem(
            f"{shown} is ambiguous: in a {'semicolon' if comma else 'comma'}-separated file a number uses a "
            f"decimal {'comma' if comma else 'point'}, and a {'point' if comma else 'comma'} only between groups "
            f"of three digits ({'1.200,5' if comma else '1,200.5'})"
        )
    if number is None or not number.is_finite() or number < 0:
        if len(shown) > 40:
            shown = shown[:37] + "...'"
        raise problem(f"must be a number >= 0, got {shown}")
    out_of_bounds = limit_problem(number, MAX_QUANTITY)
    if out_of_bounds:
        raise problem(out_of_bounds)
    return number + 0  # drops a negative zero's sign


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise problem("must be a string")
    text = value.strip()
    if _CONTROL_RE.search(text):
        raise problem("contains a control character")
    return text


def _tag(value: Any) -> str:
    text = _text(value)
    if not TAG_RE.fullmatch(text):
        raise problem(f"{show(text)!r} is not a valid tag")
    return text


def _platform(value: Any) -> str:
    text = _text(value)
    if not _PLATFORM_RE.fullmatch(text):
        raise problem(f"{show(text)!r} is not os/architecture[/variant]")
    return text


def _pattern(value: Any) -> str:
    if not isinstance(value, str):
        raise problem("must be a string")
    pattern = value.strip()
    glob_problem = _glob_problem(pattern)
    if glob_problem:
        raise problem(glob_problem)
    return pattern


def _glob_problem(pattern: str) -> str | None:
    if not pattern:
        return "required (a repository name or glob, `*` for the default row)"
    if _CONTROL_RE.search(pattern) or any(char.isspace() for char in pattern):
        return f"{show(pattern)!r} is not a valid glob (whitespace or control character)"
    if pattern.startswith("/") or pattern.endswith("/") or "//" in pattern:
        return f"{pattern!r} is not a valid glob (empty path component)"
    depth = 0
    for char in pattern:
        if char == "[":
            if depth:
                return f"{pattern!r} is not a valid glob (nested '[')"
            depth = 1
        elif char == "]" and depth:
            depth = 0
    if depth:
        return f"{pattern!r} is not a valid glob (unclosed '[')"
    return None


Count = Annotated[Decimal, BeforeValidator(_count)]
Text = Annotated[str, BeforeValidator(_text)]


class UsageRecord(FileModel):
    """One row as written: a repository glob and its pull figures, each checked."""

    repository: Annotated[str, BeforeValidator(_pattern)] = Field("", validate_default=True)
    team: Text | None = None
    source: Text | None = None
    pulls_per_month: Count | None = None
    pulls_per_day: Count | None = None
    deploys_per_month: Count | None = None
    nodes: Count | None = None
    tag: Annotated[str, BeforeValidator(_tag)] | None = None
    platform: Annotated[str, BeforeValidator(_platform)] | None = None
    measured_bytes_per_month: Count | None = None

    @classmethod
    def rules(cls, data: dict[str, Any], context: Mapping[str, Any]) -> list[Problem]:
        out: list[Problem] = []
        if "pulls_per_month" in data and "pulls_per_day" in data:
            out.append((("pulls_per_day",), "give pulls_per_month or pulls_per_day, not both"))
        if "nodes" in data and "deploys_per_month" not in data:
            out.append((("nodes",), "nodes without deploys_per_month (each deploy is pulled by each node)"))
        if "deploys_per_month" in data and "nodes" not in data:
            out.append((("deploys_per_month",), "deploys_per_month without nodes (how many nodes pull each deploy)"))
        if "measured_bytes_per_month" in data:
            pattern = str(data.get("repository", ""))
            if pattern == "*" or any(char in "*?[" for char in pattern):
                out.append(
                    (
                        ("measured_bytes_per_month",),
                        "measured bytes belong to one repository, not to a glob (write a row per repository)",
                    )
                )
            elif not {"pulls_per_month", "pulls_per_day", "deploys_per_month"} & data.keys():
                out.append(
                    (
                        ("measured_bytes_per_month",),
                        "measured bytes without the pulls that fetched them (pulls_per_month or deploys_per_month)",
                    )
                )
        return out
