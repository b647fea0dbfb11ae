"""Units: byte sizes (parsed and formatted), money rounding, the largest-remainder split, and
times as files and machine-read reports write them (pure).

One rounding rule everywhere: half-up (half away from zero), never `-0`. Money is carried
in whole steps of MONEY_QUANTUM; bytes are integers, and fractional bytes (per-day pull
rates, scenario ratios) become integers half-up.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from costcalc.errors import InputError

# Money is an exact multiple of 10^-4 of a currency unit, the precision of the JSON and CSV
# reports: each priced component is rounded once to it and split among rows in whole steps.
MONEY_QUANTUM = Decimal("0.0001")
MONEY_PLACES = 4
# Arithmetic on money and byte quantities: 50 significant digits keep every figure the
# reports print exact (quantities stay far below 10^30 bytes and prices below 10^12).
ARITHMETIC = Context(prec=50, rounding=ROUND_HALF_UP)

BYTES_PER_UNIT: dict[str, int] = {"GB": 10**9, "GiB": 2**30}
# The largest size a size spec may name: a petabyte is far beyond any image.
MAX_SIZE_BYTES = 10**15

_SIZE = re.compile(r"(?P<number>\d{1,20}(?:\.\d{1,20})?)\s*(?P<unit>[A-Za-z]*)")
_SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
SIZE_UNITS_TEXT = "B, kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)"
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_DECIMAL = ("B", "kB", "MB", "GB", "TB", "PB")


def round_half_up(value: Decimal, places: int) -> Decimal:
    """VALUE rounded half-up to PLACES decimals; `-0` becomes `0`.

    A value too large for exact arithmetic (50 digits) is an InputError: only absurd inputs
    (sizes, prices or pull counts far beyond any registry) lead there.
    """
    try:
        rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=ARITHMETIC)
    except InvalidOperation:
        raise InputError(
            f"a figure of about 10^{value.adjusted()} is too large to compute exactly; check the sizes, "
            "prices and pull counts of the inputs."
        ) from None
    return abs(rounded) if rounded.is_zero() else rounded


def money(value: Decimal) -> Decimal:
    """VALUE rounded half-up to MONEY_QUANTUM: the one place a priced amount is rounded."""
    return round_half_up(value, MONEY_PLACES)


def plain(value: Decimal, places: int = 4) -> str:
    """VALUE for a sentence: rounded half-up to at most PLACES decimals, no trailing zeros."""
    text = format(round_half_up(value, places), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def whole_bytes(value: Decimal | int) -> int:
    """Bytes made fractional by per-day rates or scenario ratios, as an integer (half-up)."""
    if isinstance(value, int):
        return value
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def to_units(n_bytes: Decimal | int, unit: str) -> Decimal:
    """N_BYTES in a price book's UNIT (GiB or GB), at 50 digits: the one place bytes become units."""
    return ARITHMETIC.divide(Decimal(n_bytes), Decimal(BYTES_PER_UNIT[unit]))


def parse_size(text: str) -> int:
    """Bytes of a size such as `150MB`, `1.5GiB` or `500MiB` (MB = 10^6, MiB = 2^20).

    A number without a unit is an error: `150` could be bytes or megabytes, and reading it
    as bytes once projected a 100 % saving. Raises ValueError with one clause naming the units.
    """
    text = text.strip()
    shown = repr(text if len(text) <= 40 else f"{text[:40]}...")
    match = _SIZE.fullmatch(text)
    unit = _SIZE_UNITS.get(match.group("unit").lower()) if match else None
    if match is None:
        raise ValueError(f"{shown} is not a size; write a number and a unit: {SIZE_UNITS_TEXT}, e.g. 150MB")
    if unit is None:
        named = match.group("unit")
        raise ValueError(
            f"{shown} has no unit; write one of {SIZE_UNITS_TEXT}, e.g. 150MB"
            if not named
            else f"{named[:20]!r} is not a size unit; use {SIZE_UNITS_TEXT}"
        )
    size = whole_bytes(Decimal(match.group("number")) * unit)
    if size <= 0:
        raise ValueError("the size must be at least 1 byte")
    if size > MAX_SIZE_BYTES:
        raise ValueError(f"{text} is larger than the largest size costcalc accepts (1 PB)")
    return size


_BANDWIDTH = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<prefix>[kmgt]?)(?:bit/s|bps)", re.IGNORECASE)
_BANDWIDTH_PREFIXES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
BANDWIDTH_UNITS_TEXT = "kbit/s, Mbit/s, Gbit/s or Tbit/s (or kbps, Mbps, Gbps)"


def parse_bandwidth(text: str) -> int:
    """Bits per second of a rate such as `1Gbit/s`, `500Mbit/s` or `10Gbps` (decimal prefixes).

    Raises ValueError with one clause naming the units.
    """
    text = text.strip()
    match = _BANDWIDTH.fullmatch(text)
    if match is None:
        shown = repr(text if len(text) <= 40 else f"{text[:40]}...")
        raise ValueError(f"{shown} is not a bandwidth; write a number and a unit: {BANDWIDTH_UNITS_TEXT}, e.g. 1Gbit/s")
    bits = whole_bytes(Decimal(match.group("number")) * _BANDWIDTH_PREFIXES[match.group("prefix").lower()])
    if bits <= 0:
        raise ValueError("the bandwidth must be at least 1 bit/s")
    return bits


def format_bandwidth(bits_per_second: int) -> str:
    """BITS_PER_SECOND in the largest decimal unit it fills: `1 Gbit/s`, `250 Mbit/s`."""
    for prefix, step in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if bits_per_second >= step:
            return f"{plain(Decimal(bits_per_second) / step, 3)} {prefix}bit/s"
    return f"{bits_per_second} bit/s"


def format_bytes(size: Decimal | int, unit: str = "GB", *, trim: bool = False) -> str:
    """SIZE for people, in the unit family of a price book's UNIT: decimal (MB, GB) for a GB
    book, binary (MiB, GiB) for a GiB book; two decimals rounded half-up with thousands
    separators, or with TRIM the trailing zeros dropped (`186 MB` in a sentence); exact bytes
    below 1 kB / 1 KiB."""
    number = Decimal(size)
    names, step = (_BINARY, Decimal(1024)) if unit == "GiB" else (_DECIMAL, Decimal(1000))
    index = 0
    while abs(number) >= step and index < len(names) - 1:
        number = ARITHMETIC.divide(number, step)
        index += 1
    if index == 0:
        return f"{whole_bytes(number):,} B"
    if trim:
        return f"{plain(number, 2)} {names[index]}"
    return f"{round_half_up(number, 2):,.2f} {names[index]}"


def exact_size(size: int) -> str:
    """A size made explicit for a sentence: `186 MB (186,000,000 bytes)`."""
    return f"{format_bytes(size, trim=True)} ({size:,} bytes)"


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """TOTAL split in proportion to WEIGHTS, in whole MONEY_QUANTUM steps, summing exactly to TOTAL.

    Largest remainder: each share is floored to the quantum and the leftover steps go to the
    largest remainders (earlier rows first on ties). With all weights zero, the split is even.
    """
    if not weights:
        return []
    steps = int(ARITHMETIC.divide(total, MONEY_QUANTUM).to_integral_value())
    scaled, _ = _common_integers(weights)
    whole = sum(scaled)
    if whole == 0:
        scaled, whole = [1] * len(weights), len(weights)
    elif whole < 0:  # the same ratios over a positive whole, so that remainders are >= 0
        scaled, whole = [-w for w in scaled], -whole
    shares = _largest_remainder(steps, [steps * w for w in scaled], whole)
    return [Decimal(s).scaleb(-MONEY_PLACES) for s in shares]


def whole_parts(values: Sequence[Decimal | int | None]) -> list[int | None]:
    """VALUES (bytes, made fractional by per-day pulls or scenarios) as integers that add up to
    whole_bytes(Σ VALUES), so a spreadsheet's SUM over the rows equals the report's total.

    The same largest-remainder rule as allocate(): each value floored, the bytes left over to
    the largest fractional parts (earlier rows first on ties); None (unknown) stays None.
    """
    known = [(i, Decimal(v)) for i, v in enumerate(values) if v is not None]
    if not known:
        return [None] * len(values)
    numerators, denominator = _common_integers([v for _, v in known])
    total = whole_bytes(sum((v for _, v in known), Decimal(0)))
    shares = _largest_remainder(total, numerators, denominator)
    parts: list[int | None] = [None] * len(values)
    for (i, _), share in zip(known, shares, strict=True):
        parts[i] = share
    return parts


def _largest_remainder(total: int, numerators: Sequence[int], denominator: int) -> list[int]:
    """Integers, one per quota NUMERATOR/DENOMINATOR, floored, plus one each for the largest
    remainders until they sum to TOTAL (earlier quotas first on ties)."""
    parts = [divmod(n, denominator) for n in numerators]
    shares = [floor for floor, _ in parts]
    leftover = total - sum(shares)
    if leftover > 0:
        # largest remainder first; sorted() is stable, so earlier quotas first on ties
        order = sorted(range(len(parts)), key=lambda i: -parts[i][1])
        for i in order[:leftover]:
            shares[i] += 1
    return shares


def _common_integers(values: Sequence[Decimal]) -> tuple[list[int], int]:
    """VALUES times one common denominator (integers in the same ratios, exactly), and it.

    The split runs over thousands of rows: integer arithmetic in place of Fractions.
    """
    ratios = [value.as_integer_ratio() for value in values]
    common = math.lcm(*(denominator for _, denominator in ratios))
    return [numerator * (common // denominator) for numerator, denominator in ratios], common


def utc_timestamp(value: datetime, timespec: str = "seconds") -> str:
    """VALUE as inventory files, JSON and CSV write a time: UTC to the second, four-digit year,
    `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339). A time without an offset is UTC already. TIMESPEC is
    isoformat's: `auto` keeps the microseconds of a time that has them (a log's times)."""
    utc = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec=timespec) + "Z"
